import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScenarioError } from '../../src/scenario/error.js';
import { loadScenarioFile, loadScenarioText } from '../../src/scenario/load.js';

const CLUSTER = `apiVersion: kubewire.dev/v1alpha1
kind: Cluster
metadata: {name: t}
spec:
  underlay: {cidr: 192.168.4.0/24, gateway: 192.168.4.1}
  nodes:
    - {name: n1, ip: 192.168.4.10}
    - {name: n2, ip: 192.168.4.11}
`;

function errorsOf(text: string): string[] {
  try {
    loadScenarioText('s.yaml', text);
  } catch (e) {
    if (e instanceof ScenarioError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe('scenario validation names file:line:col', () => {
  // Each row: a scenario text, the position and message expected in the first error.
  const rows: [string, string, string, RegExp][] = [
    ['yaml syntax', 'apiVersion: v1\nkind: [Pod\n', 's.yaml:3:1', /Flow sequence|Missing|indent/],
    ['no Cluster', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n', 's.yaml:1:1', /no Cluster document/],
    ['unknown kind', CLUSTER + '---\napiVersion: v1\nkind: Pud\nmetadata: {name: a}\n', 's.yaml:11:7', /unknown kind "Pud"/],
    ['wrong apiVersion', CLUSTER + '---\napiVersion: apps/v1\nkind: Service\nmetadata: {name: a}\nspec: {}\n', 's.yaml:10:13', /served as apiVersion v1/],
    ['missing name', CLUSTER + '---\napiVersion: v1\nkind: Namespace\nmetadata: {}\n', 's.yaml:12:11', /missing required field "metadata.name"/],
    ['missing underlay', CLUSTER.replace('  underlay: {cidr: 192.168.4.0/24, gateway: 192.168.4.1}\n', ''), 's.yaml:5:3', /missing required field "spec.underlay"/],
    ['unknown spec field', CLUSTER.replace('spec:\n', 'spec:\n  podCidr: 10.0.0.0/8\n'), 's.yaml:5:3', /unknown field "spec.podCidr"/],
    ['bad CIDR', CLUSTER.replace('spec:\n', 'spec:\n  podCIDR: 10.42.0.0/33\n'), 's.yaml:5:12', /not an IPv4 CIDR/],
    ['overlapping CIDRs', CLUSTER.replace('spec:\n', 'spec:\n  podCIDR: 10.0.0.0/8\n  serviceCIDR: 10.43.0.0/16\n'), 's.yaml:6:16', /overlaps podCIDR/],
    ['too-small pod CIDR', CLUSTER.replace('spec:\n', 'spec:\n  podCIDR: 10.42.0.0/24\n'), 's.yaml:5:12', /too few for 2 nodes/],
    ['too-small service CIDR', CLUSTER.replace('spec:\n', 'spec:\n  serviceCIDR: 10.43.0.0/30\n'), 's.yaml:5:16', /too small/],
    ['duplicate node IP', CLUSTER.replace('ip: 192.168.4.11', 'ip: 192.168.4.10'), 's.yaml:8:22', /duplicate IP 192.168.4.10 \(first at 7:22\)/],
    ['duplicate node name', CLUSTER.replace('name: n2', 'name: n1'), 's.yaml:8:7', /duplicate machine name "n1"/],
    ['node outside underlay', CLUSTER.replace('ip: 192.168.4.11', 'ip: 192.168.5.11'), 's.yaml:8:22', /outside the underlay/],
    ['pinned node CIDR outside', CLUSTER.replace('ip: 192.168.4.11}', 'ip: 192.168.4.11, podCIDR: 10.99.0.0/24}'), 's.yaml:8:45', /outside the cluster podCIDR/],
    ['overlapping node CIDRs', CLUSTER.replace('ip: 192.168.4.10}', 'ip: 192.168.4.10, podCIDR: 10.42.7.0/24}').replace('ip: 192.168.4.11}', 'ip: 192.168.4.11, podCIDR: 10.42.7.0/24}'), 's.yaml:8:45', /overlaps 10.42.7.0\/24 \(at 7:45\)/],
    ['bad MAC', CLUSTER.replace('ip: 192.168.4.11}', 'ip: 192.168.4.11, vtepMAC: "zz:00"}'), 's.yaml:8:45', /not a MAC address/],
    ['bad node route', CLUSTER.replace('ip: 192.168.4.11}', 'ip: 192.168.4.11, routes: ["169.254.0.0/16 dev eth0 scope bogus"]}'), 's.yaml:8:45', /node route "169.254.0.0\/16 dev eth0 scope bogus": Error: argument "bogus" is wrong: invalid scope value/],
    ['node route on a CNI device', CLUSTER.replace('ip: 192.168.4.11}', 'ip: 192.168.4.11, routes: ["10.9.0.0/16 dev cni0"]}'), 's.yaml:8:45', /go on eth0 or lo, not cni0/],
    ['bad boot ID', CLUSTER.replace('ip: 192.168.4.11}', 'ip: 192.168.4.11, bootID: "1234"}'), 's.yaml:8:44', /bootID "1234" is not a UUID/],
    ['pod IP outside node range', CLUSTER + '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: n1\n  containers: [{name: c}]\nstatus: {podIP: 10.42.9.5}\n', 's.yaml:16:17', /outside node n1's range 10.42.0.0\/24/],
    ['duplicate pod IP', CLUSTER + '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n1, containers: [{name: c}]}\nstatus: {podIP: 10.42.0.5}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {nodeName: n1, containers: [{name: c}]}\nstatus: {podIP: 10.42.0.5}\n', 's.yaml:20:17', /already used by pod default\/p/],
    ['unknown nodeName', CLUSTER + '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: n9, containers: [{name: c}]}\n', 's.yaml:13:18', /nodeName "n9" is not a node/],
    ['duplicate object', CLUSTER + '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n', 's.yaml:16:18', /duplicate Namespace a \(first at s.yaml:12:18\)/],
    ['clusterIP outside serviceCIDR', CLUSTER + '---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.44.0.1, ports: [{port: 80}]}\n', 's.yaml:13:19', /outside serviceCIDR 10.43.0.0\/16/],
    ['port out of range', CLUSTER + '---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 70000}]}\n', 's.yaml:13:23', /between 1 and 65535/],
    ['unnamed multi-port', CLUSTER + '---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}, {port: 81}]}\n', 's.yaml:13:16', /must be named/],
    ['bad protocol', CLUSTER + '---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, protocol: HTTP}]}\n', 's.yaml:13:37', /one of TCP, UDP, SCTP/],
    ['replicas over limit', CLUSTER + '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  replicas: 100000000\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c}]}}\n', 's.yaml:14:13', /between 0 and 10000/],
    ['selector vs template', CLUSTER + '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: c}}, spec: {containers: [{name: c}]}}\n', 's.yaml:14:31', /does not match the pod template/],
    ['bad name', CLUSTER + '---\napiVersion: v1\nkind: Namespace\nmetadata: {name: Bad_Name}\n', 's.yaml:12:18', /not a valid DNS-1123/],
    ['second Cluster', CLUSTER + '---\n' + CLUSTER, 's.yaml:11:7', /a second Cluster document/],
    ['List in List', CLUSTER + '---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: List, items: []}\n', 's.yaml:13:28', /cannot hold another List/],
  ];
  for (const [name, text, pos, msg] of rows) {
    it(name, () => {
      const errs = errorsOf(text);
      expect(errs.length, `expected an error for ${name}`).toBeGreaterThan(0);
      expect(errs[0]).toMatch(msg);
      expect(errs[0]!.startsWith(pos + ': error: '), `${errs[0]} should start with ${pos}`).toBe(true);
    });
  }

  it('a selector that matches nothing is a warning, not an error', () => {
    const s = loadScenarioText('s.yaml', CLUSTER + '---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: x}, ports: [{port: 80}]}\n');
    expect(s.warnings.map((w) => `${w.pos.line}:${w.pos.col} ${w.message}`)).toEqual(['13:18 selector app=x matches no pod in namespace default']);
  });

  it('an alias bomb is refused, not expanded', () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (let i = 0; i < 9; i++) bomb.push(`${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(10).fill('*' + 'abcdefghij'[i]).join(',')}]`);
    const errs = errorsOf(CLUSTER + '---\n' + bomb.join('\n') + '\n');
    expect(errs.join('\n')).toMatch(/s\.yaml:\d+:\d+: error: .*(alias|Excessive)/i);
  });

  it('reports every error, not just the first', () => {
    const errs = errorsOf(CLUSTER.replace('ip: 192.168.4.11', 'ip: 300.1.1.1').replace('spec:\n', 'spec:\n  cni: weave\n'));
    expect(errs).toHaveLength(2);
    expect(errs[0]).toMatch(/s\.yaml:5:8: error: "spec.cni" must be one of flannel, canal, not "weave"/);
    expect(errs[1]).toMatch(/s\.yaml:9:22: error: .*"300.1.1.1" is not an IPv4 address/);
  });

  it('loads a folder of files in name order and names the file in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-scn-'));
    writeFileSync(join(dir, '00-cluster.yaml'), CLUSTER);
    writeFileSync(join(dir, '10-app.yaml'), 'apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n');
    expect(loadScenarioFile(dir).manifests.map((m) => m.name)).toEqual(['app']);
    writeFileSync(join(dir, '20-bad.yaml'), 'apiVersion: v1\nkind: Nope\n');
    expect(() => loadScenarioFile(dir)).toThrow(new RegExp(`${join(dir, '20-bad.yaml')}:2:7: error: unknown kind`));
  });

  it('the default scenario loads cleanly', () => {
    const s = loadScenarioFile(new URL('../../scenarios/seed.yaml', import.meta.url).pathname);
    expect(s.cluster.spec.nodes.map((n) => n.name)).toEqual(['192.168.4.86', '192.168.4.87', '192.168.4.88', '192.168.4.89', '192.168.4.90', '192.168.4.91']);
    expect(s.warnings).toEqual([]);
    expect(s.cluster.spec.cni).toBe('canal');
  });
});
