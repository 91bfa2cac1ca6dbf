import type { Cluster, ClusterNode, ClusterSpec, ExternalHost, ServeSpec, TrafficItem } from '../k8s/api/cluster.js';
import { cidrContains, cidrNetwork, cidrOverlaps, formatCidr, formatIpv4, type Ipv4Cidr } from '../wire/ipv4-address.js';
import { FieldReader, type Path } from './fields.js';
import { LIMITS } from './source.js';
import { NetlinkError } from '../linux/errors.js';
import { parseRouteArgs } from '../linux/netlink.js';

const SPEC_KEYS = ['podCIDR', 'serviceCIDR', 'clusterDNS', 'clusterDomain', 'cni', 'containerRuntime', 'nodeCIDRMaskSize', 'underlay', 'nodes', 'externalHosts', 'traffic', 'seed'] as const;
const NODE_KEYS = ['name', 'ip', 'podCIDR', 'vtepMAC', 'mac', 'bootID', 'labels', 'resolvConf', 'serve', 'routes'] as const;
const HOST_KEYS = ['name', 'ip', 'mac', 'serve', 'zone', 'resolvConf', 'loadBalancer'] as const;
const SERVE_KEYS = ['http', 'tcp', 'udp', 'dns'] as const;

/**
 * Reads and checks the Cluster document. Defaults are what a k3s/rke-style install has
 * (10.42.0.0/16 pods, 10.43.0.0/16 services, kube-dns at .10, flannel).
 */
export function readCluster(r: FieldReader): Cluster | undefined {
  r.onlyKeys([], ['apiVersion', 'kind', 'metadata', 'spec']);
  const name = r.str(['metadata', 'name']) ?? 'cluster';
  r.map(['spec'], { required: true });
  r.onlyKeys(['spec'], SPEC_KEYS);
  const S = (k: string): Path => ['spec', k];
  const podCIDR = r.cidr(S('podCIDR')) ?? { addr: 0x0a2a0000, len: 16 } as Ipv4Cidr;
  const serviceCIDR = r.cidr(S('serviceCIDR')) ?? { addr: 0x0a2b0000, len: 16 } as Ipv4Cidr;
  const maskSize = r.int(S('nodeCIDRMaskSize'), { min: 8, max: 30 }) ?? 24;
  if (maskSize < podCIDR.len) r.error(S('nodeCIDRMaskSize'), `nodeCIDRMaskSize ${maskSize} is shorter than podCIDR's /${podCIDR.len}`);
  if (cidrOverlaps(podCIDR, serviceCIDR)) r.error(S('serviceCIDR'), `serviceCIDR ${formatCidr(serviceCIDR)} overlaps podCIDR ${formatCidr(podCIDR)}`);
  if (serviceCIDR.len > 28) r.error(S('serviceCIDR'), `serviceCIDR /${serviceCIDR.len} is too small (at most /28)`);
  const clusterDNSAddr = r.ipv4(S('clusterDNS'));
  const clusterDNS = clusterDNSAddr !== undefined ? formatIpv4(clusterDNSAddr) : formatIpv4(cidrNetwork(serviceCIDR) + 10);
  if (clusterDNSAddr !== undefined && !cidrContains(serviceCIDR, clusterDNSAddr)) r.error(S('clusterDNS'), `clusterDNS ${clusterDNS} is outside serviceCIDR ${formatCidr(serviceCIDR)}`);
  const clusterDomain = r.str(S('clusterDomain')) ?? 'cluster.local';
  const cni = (r.str(S('cni'), { oneOf: ['flannel', 'canal'] }) ?? 'flannel') as ClusterSpec['cni'];
  const containerRuntime = (r.str(S('containerRuntime'), { oneOf: ['docker', 'containerd'] }) ?? 'containerd') as ClusterSpec['containerRuntime'];

  r.map(S('underlay'), { required: true });
  r.onlyKeys(S('underlay'), ['cidr', 'gateway', 'mtu', 'gatewayMAC']);
  const underlayCidr = r.cidr(['spec', 'underlay', 'cidr'], { required: true });
  const gw = r.ipv4(['spec', 'underlay', 'gateway'], { required: true });
  if (underlayCidr && gw !== undefined && !cidrContains(underlayCidr, gw)) r.error(['spec', 'underlay', 'gateway'], `gateway ${formatIpv4(gw)} is outside the underlay ${formatCidr(underlayCidr)}`);
  const mtu = r.int(['spec', 'underlay', 'mtu'], { min: 576, max: 9000 }) ?? 1500;
  const gatewayMAC = r.mac(['spec', 'underlay', 'gatewayMAC']);
  if (underlayCidr && (cidrOverlaps(underlayCidr, podCIDR) || cidrOverlaps(underlayCidr, serviceCIDR))) {
    r.error(['spec', 'underlay', 'cidr'], `underlay ${formatCidr(underlayCidr)} overlaps the pod or service CIDR`);
  }

  // Every address and name used by a machine, to catch duplicates wherever they are.
  const ips = new Map<number, Path>();
  const names = new Map<string, Path>();
  const claim = (path: Path, ipPath: Path, nm: string | undefined, ip: number | undefined, what: string): void => {
    if (nm !== undefined) {
      const prev = names.get(nm);
      if (prev) r.error(path, `duplicate ${what} name "${nm}" (first at ${fmtPos(r, prev)})`);
      else names.set(nm, path);
    }
    if (ip !== undefined) {
      const prev = ips.get(ip);
      if (prev) r.error(ipPath, `duplicate IP ${formatIpv4(ip)} (first at ${fmtPos(r, prev)})`);
      else ips.set(ip, ipPath);
    }
  };

  const nodes: ClusterNode[] = [];
  const nodeList = r.list(S('nodes'), { required: true, max: LIMITS.nodes }) ?? [];
  if (r.has(S('nodes')) && nodeList.length === 0) r.error(S('nodes'), 'a cluster needs at least one node');
  const pinned: { cidr: Ipv4Cidr; path: Path }[] = [];
  nodeList.forEach((_, i) => {
    const P = (k: string): Path => ['spec', 'nodes', i, k];
    if (!r.map(['spec', 'nodes', i])) return;
    r.onlyKeys(['spec', 'nodes', i], NODE_KEYS);
    const nm = r.str(P('name'), { required: true });
    const ip = r.ipv4(P('ip'), { required: true });
    if (ip !== undefined && underlayCidr && !cidrContains(underlayCidr, ip)) r.error(P('ip'), `node IP ${formatIpv4(ip)} is outside the underlay ${formatCidr(underlayCidr)}`);
    if (ip !== undefined && gw !== undefined && ip === gw) r.error(P('ip'), `node IP ${formatIpv4(ip)} is the underlay gateway`);
    claim(['spec', 'nodes', i], P('ip'), nm, ip, 'machine');
    const pc = r.cidr(P('podCIDR'));
    if (pc) {
      if (pc.len !== maskSize) r.error(P('podCIDR'), `node podCIDR ${formatCidr(pc)} is not a /${maskSize} (nodeCIDRMaskSize)`);
      else if (!cidrContains(podCIDR, pc.addr) || pc.len < podCIDR.len) r.error(P('podCIDR'), `node podCIDR ${formatCidr(pc)} is outside the cluster podCIDR ${formatCidr(podCIDR)}`);
      else if (cidrNetwork(pc) !== pc.addr) r.error(P('podCIDR'), `node podCIDR ${formatCidr(pc)} has host bits set`);
      else {
        const clash = pinned.find((x) => cidrOverlaps(x.cidr, pc));
        if (clash) r.error(P('podCIDR'), `node podCIDR ${formatCidr(pc)} overlaps ${formatCidr(clash.cidr)} (at ${fmtPos(r, clash.path)})`);
        pinned.push({ cidr: pc, path: P('podCIDR') });
      }
    }
    const vtep = r.mac(P('vtepMAC'));
    const mac = r.mac(P('mac'));
    const bootID = r.str(P('bootID'));
    // As /proc/sys/kernel/random/boot_id prints it (and status.nodeInfo.bootID shows it).
    if (bootID !== undefined && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(bootID)) r.error(P('bootID'), `node bootID "${bootID}" is not a UUID (8-4-4-4-12 lowercase hex digits, as /proc/sys/kernel/random/boot_id)`);
    const routes = (r.list(P('routes'), { max: LIMITS.nodes }) ?? []).flatMap((_, j) => {
      const at: Path = [...P('routes'), j];
      const text = r.str(at);
      if (text === undefined) return [];
      try {
        const spec = parseRouteArgs(text);
        if (spec.dev !== undefined && spec.dev !== 'eth0' && spec.dev !== 'lo') {
          r.error(at, `node route "${text}": the OS's routes go on eth0 or lo, not ${spec.dev}`);
          return [];
        }
      } catch (e) {
        if (!(e instanceof NetlinkError)) throw e;
        r.error(at, `node route "${text}": ${e.message}`);
        return [];
      }
      return [text];
    });
    const labels = r.stringMap(P('labels'));
    const resolvConf = r.str(P('resolvConf'));
    const serve = readServe(r, P('serve'));
    if (nm !== undefined && ip !== undefined) {
      nodes.push({
        name: nm,
        ip: formatIpv4(ip),
        ...(pc ? { podCIDR: formatCidr(pc) } : {}),
        ...(vtep ? { vtepMAC: vtep } : {}),
        ...(mac ? { mac } : {}),
        ...(bootID !== undefined ? { bootID } : {}),
        ...(labels ? { labels } : {}),
        ...(resolvConf !== undefined ? { resolvConf } : {}),
        ...(serve ? { serve } : {}),
        ...(routes.length ? { routes } : {}),
      });
    }
  });
  const free = 2 ** (maskSize - podCIDR.len) - pinned.length;
  if (nodeList.length - pinned.length > free) r.error(S('podCIDR'), `podCIDR ${formatCidr(podCIDR)} holds ${2 ** (maskSize - podCIDR.len)} /${maskSize} node ranges, too few for ${nodeList.length} nodes`);

  const externalHosts: ExternalHost[] = [];
  // mode dnat: the nodes route the LB's clients back through it, so only one LB can have them.
  let dnatLb: { name: string; path: Path } | undefined;
  (r.list(S('externalHosts'), { max: LIMITS.nodes }) ?? []).forEach((_, i) => {
    const P = (k: string): Path => ['spec', 'externalHosts', i, k];
    if (!r.map(['spec', 'externalHosts', i])) return;
    r.onlyKeys(['spec', 'externalHosts', i], HOST_KEYS);
    const nm = r.str(P('name'), { required: true });
    const ip = r.ipv4(P('ip'), { required: true });
    if (ip !== undefined && (cidrContains(podCIDR, ip) || cidrContains(serviceCIDR, ip))) r.error(P('ip'), `external host IP ${formatIpv4(ip)} is inside the pod or service CIDR`);
    claim(['spec', 'externalHosts', i], P('ip'), nm, ip, 'machine');
    const mac = r.mac(P('mac'));
    const serve = readServe(r, P('serve'));
    const zone = r.stringMap(P('zone'));
    if (zone) for (const [k, v] of Object.entries(zone)) r.ipv4(['spec', 'externalHosts', i, 'zone', k]) ?? void v;
    const resolvConf = r.str(P('resolvConf'));
    let loadBalancer: ExternalHost['loadBalancer'];
    if (r.map(P('loadBalancer'))) {
      r.onlyKeys(P('loadBalancer'), ['service', 'mode', 'ports']);
      const svc = r.str([...P('loadBalancer'), 'service'], { required: true });
      const mode = r.str([...P('loadBalancer'), 'mode'], { oneOf: ['proxy', 'dnat'] }) as 'proxy' | 'dnat' | undefined;
      const ports = (r.list([...P('loadBalancer'), 'ports']) ?? []).map((_, j) => r.int([...P('loadBalancer'), 'ports', j], { min: 1, max: 65535 })).filter((x): x is number => x !== undefined);
      if (svc !== undefined) loadBalancer = { service: svc, ...(mode ? { mode } : {}), ...(ports.length ? { ports } : {}) };
      if (mode === 'dnat') {
        const at: Path = [...P('loadBalancer'), 'mode'];
        if (dnatLb) r.error(at, `only one load balancer can use mode dnat: the nodes route its clients' replies back through it ("${dnatLb.name}" at ${fmtPos(r, dnatLb.path)} does)`);
        else dnatLb = { name: nm ?? '', path: at };
      }
    }
    if (nm !== undefined && ip !== undefined) {
      externalHosts.push({
        name: nm,
        ip: formatIpv4(ip),
        ...(mac ? { mac } : {}),
        ...(serve ? { serve } : {}),
        ...(zone ? { zone } : {}),
        ...(resolvConf !== undefined ? { resolvConf } : {}),
        ...(loadBalancer ? { loadBalancer } : {}),
      });
    }
  });

  const traffic: TrafficItem[] = [];
  (r.list(S('traffic'), { max: 100_000 }) ?? []).forEach((_, i) => {
    const P = (k: string): Path => ['spec', 'traffic', i, k];
    if (!r.map(['spec', 'traffic', i])) return;
    r.onlyKeys(['spec', 'traffic', i], ['from', 'to', 'proto']);
    const from = r.str(P('from'), { required: true });
    const to = r.str(P('to'), { required: true });
    const proto = r.str(P('proto'), { oneOf: ['tcp', 'udp', 'icmp'] }) as TrafficItem['proto'];
    if (from !== undefined && to !== undefined) traffic.push({ from, to, ...(proto ? { proto } : {}) });
  });

  const seed = r.int(S('seed'), { min: 0, max: 0xffffffff }) ?? 1;
  if (r.diags.some((d) => d.severity === 'error')) return undefined;
  return {
    apiVersion: 'kubewire.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name },
    spec: {
      podCIDR: formatCidr(podCIDR),
      serviceCIDR: formatCidr(serviceCIDR),
      clusterDNS,
      clusterDomain,
      cni,
      containerRuntime,
      nodeCIDRMaskSize: maskSize,
      underlay: { cidr: formatCidr(underlayCidr!), gateway: formatIpv4(gw!), mtu, ...(gatewayMAC ? { gatewayMAC } : {}) },
      nodes,
      externalHosts,
      traffic,
      seed,
    },
  };
}

function readServe(r: FieldReader, path: Path): ServeSpec | undefined {
  if (!r.map(path)) return undefined;
  r.onlyKeys(path, SERVE_KEYS);
  const out: ServeSpec = {};
  for (const k of ['http', 'tcp', 'udp'] as const) {
    const v = r.get([...path, k]);
    if (v === undefined) continue;
    const ports = Array.isArray(v) ? v.map((_, j) => r.int([...path, k, j], { min: 1, max: 65535 })) : [r.int([...path, k], { min: 1, max: 65535 })];
    const ok = ports.filter((x): x is number => x !== undefined);
    if (ok.length) out[k] = ok.length === 1 && !Array.isArray(v) ? ok[0]! : ok;
  }
  const dns = r.int([...path, 'dns'], { min: 1, max: 65535 });
  if (dns !== undefined) out.dns = dns;
  return out;
}

function fmtPos(r: FieldReader, path: Path): string {
  const p = r.pos(path);
  return `${p.line}:${p.col}`;
}
