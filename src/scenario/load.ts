import type { Cluster } from '../k8s/api/cluster.js';
import { allocateNodeCidrs } from '../k8s/ipam.js';
import { cidrContains, formatCidr, parseCidr, parseIpv4 } from '../wire/ipv4-address.js';
import { readCluster } from './cluster-doc.js';
import { ScenarioError, type Diagnostic } from './error.js';
import { FieldReader } from './fields.js';
import { readManifests, type Manifest } from './manifests.js';
import { applyOverrides } from './overrides.js';
import { parseYamlText, readScenarioPath, type SourceDoc } from './source.js';

/** A loaded, checked scenario: the Cluster, every manifest, and the warnings found. */
export interface Scenario {
  readonly cluster: Cluster;
  readonly manifests: readonly Manifest[];
  readonly warnings: readonly Diagnostic[];
}

/** Loads a scenario file or folder; `sets` are `--set path=value` overrides. */
export function loadScenarioFile(path: string, sets: readonly string[] = []): Scenario {
  return checkScenario(applyOverrides(readScenarioPath(path), sets));
}

export function loadScenarioText(file: string, text: string, sets: readonly string[] = []): Scenario {
  return checkScenario(applyOverrides(parseYamlText(file, text), sets));
}

/** Reads every document, then checks what spans documents. Throws ScenarioError on errors. */
export function checkScenario(docs: readonly SourceDoc[]): Scenario {
  const diags: Diagnostic[] = [];
  let cluster: Cluster | undefined;
  let clusterReader: FieldReader | undefined;
  const manifests: Manifest[] = [];
  for (const d of docs) {
    const r = new FieldReader(d, diags);
    if (r.get(['kind']) === 'Cluster') {
      if (clusterReader) {
        r.error(['kind'], `a second Cluster document (the first is at ${clusterReader.src.file}:${clusterReader.pos([]).line})`);
        continue;
      }
      clusterReader = r;
      readManifests(r); // kind/apiVersion checks
      cluster = readCluster(r);
    } else {
      manifests.push(...readManifests(r));
    }
  }
  if (!clusterReader && !diags.some((d) => d.severity === 'error')) {
    const first = docs[0];
    diags.push({ severity: 'error', pos: { file: first?.file ?? '<scenario>', line: 1, col: 1 }, message: 'no Cluster document (apiVersion: kubewire.dev/v1alpha1, kind: Cluster)' });
  }
  if (cluster) crossCheck(cluster, manifests);
  if (diags.some((d) => d.severity === 'error')) throw new ScenarioError(diags.filter((d) => d.severity === 'error'));
  return { cluster: cluster!, manifests, warnings: diags.filter((d) => d.severity === 'warning') };
}

function crossCheck(cluster: Cluster, manifests: Manifest[]): void {
  const spec = cluster.spec;
  // Duplicate objects: same kind, namespace and name.
  const seen = new Map<string, Manifest>();
  for (const m of manifests) {
    const key = `${m.kind}/${m.namespace ?? ''}/${m.name}`;
    const prev = seen.get(key);
    if (prev) {
      const p = prev.reader.pos([...prev.path, 'metadata', 'name']);
      m.reader.error([...m.path, 'metadata', 'name'], `duplicate ${m.kind} ${m.namespace ? m.namespace + '/' : ''}${m.name} (first at ${p.file}:${p.line}:${p.col})`);
    } else seen.set(key, m);
  }

  const nodeCidrs = allocateNodeCidrs(spec.podCIDR, spec.nodeCIDRMaskSize, spec.nodes.map((n) => n.podCIDR));
  const nodeByName = new Map(spec.nodes.map((n, i) => [n.name, { node: n, cidr: nodeCidrs[i] }]));
  const serviceCidr = parseCidr(spec.serviceCIDR);
  const clusterIPs = new Map<number, Manifest>();
  const podIPs = new Map<number, Manifest>();

  for (const m of manifests) {
    const r = m.reader;
    const P = m.path;
    if (m.kind === 'Service') {
      const ip = r.get([...P, 'spec', 'clusterIP']);
      if (typeof ip === 'string' && ip !== 'None' && ip !== '') {
        let a: number | undefined;
        try {
          a = parseIpv4(ip);
        } catch {
          a = undefined;
        }
        if (a !== undefined) {
          if (!cidrContains(serviceCidr, a as never)) r.error([...P, 'spec', 'clusterIP'], `clusterIP ${ip} is outside serviceCIDR ${spec.serviceCIDR}`);
          const prev = clusterIPs.get(a);
          if (prev) r.error([...P, 'spec', 'clusterIP'], `clusterIP ${ip} is already used by Service ${prev.namespace}/${prev.name}`);
          else clusterIPs.set(a, m);
        }
      }
      const sel = r.get([...P, 'spec', 'selector']) as Record<string, string> | undefined;
      if (sel && Object.keys(sel).length && !manifests.some((o) => o.namespace === m.namespace && podLabelsOf(o).some((l) => matches(sel, l)))) {
        r.warn([...P, 'spec', 'selector'], `selector ${Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',')} matches no pod in namespace ${m.namespace}`);
      }
    }
    if (m.kind === 'Pod' || m.kind === 'Deployment' || m.kind === 'StatefulSet' || m.kind === 'DaemonSet' || m.kind === 'ReplicaSet') {
      const specPath = m.kind === 'Pod' ? [...P, 'spec'] : [...P, 'spec', 'template', 'spec'];
      const nodeName = r.get([...specPath, 'nodeName']);
      if (typeof nodeName === 'string' && !nodeByName.has(nodeName)) {
        r.error([...specPath, 'nodeName'], `nodeName "${nodeName}" is not a node of the cluster (${spec.nodes.map((n) => n.name).join(', ')})`);
      }
    }
    if (m.kind === 'Pod') {
      const ip = r.get([...P, 'status', 'podIP']);
      if (typeof ip !== 'string') continue;
      let a: number;
      try {
        a = parseIpv4(ip);
      } catch {
        continue;
      }
      const hostNetwork = r.get([...P, 'spec', 'hostNetwork']) === true;
      const nodeName = r.get([...P, 'spec', 'nodeName']);
      const n = typeof nodeName === 'string' ? nodeByName.get(nodeName) : undefined;
      if (hostNetwork) {
        if (n && n.node.ip !== ip) r.error([...P, 'status', 'podIP'], `host-network pod IP ${ip} must be its node's IP ${n.node.ip}`);
        continue;
      }
      if (!n) {
        r.error([...P, 'status', 'podIP'], 'a pinned status.podIP needs spec.nodeName');
        continue;
      }
      if (n.cidr && !cidrContains(parseCidr(n.cidr), a as never)) {
        r.error([...P, 'status', 'podIP'], `pod IP ${ip} is outside node ${nodeName}'s range ${n.cidr}`);
      } else if (n.cidr) {
        const c = parseCidr(n.cidr);
        const off = a - (c.addr >>> 0);
        if (off === 0 || off === 1 || off === 2 ** (32 - c.len) - 1) {
          r.error([...P, 'status', 'podIP'], `pod IP ${ip} is the network, gateway or broadcast address of ${formatCidr(c)}`);
        }
      }
      const prev = podIPs.get(a);
      if (prev) r.error([...P, 'status', 'podIP'], `pod IP ${ip} is already used by pod ${prev.namespace}/${prev.name}`);
      else podIPs.set(a, m);
    }
  }
}

function podLabelsOf(m: Manifest): Record<string, string>[] {
  const get = (path: (string | number)[]): Record<string, string> | undefined => m.reader.get([...m.path, ...path]) as Record<string, string> | undefined;
  if (m.kind === 'Pod') return [get(['metadata', 'labels']) ?? {}];
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(m.kind)) return [get(['spec', 'template', 'metadata', 'labels']) ?? {}];
  return [];
}

function matches(sel: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}
