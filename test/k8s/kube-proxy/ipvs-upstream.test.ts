// ipvs mode against upstream pkg/proxy/ipvs/proxier_test.go TestNodePortIPv4 (virtual servers,
// real servers, ipset entries, iptables chain expectations): fake node "test-node" with the
// node IPs on eth0, the NoOp local detector, scheduler rr.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../../src/k8s/api/types.js';
import { MemoryIptables } from '../../../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../../../src/k8s/kube-proxy/config.js';
import { IpvsProxier, MemoryIpvs, MemoryNetlink, type IpvsSyncResult } from '../../../src/k8s/kube-proxy/ipvs.js';
import { parseDump } from '../../../src/k8s/kube-proxy/restore-dump.js';
import { makeService, makeSlice } from './harness.js';

function run(opts: { services: Service[]; slices: EndpointSlice[]; nodeIPs: string[]; nodePortAddresses: string[] }) {
  const ipt = new MemoryIptables(false);
  const ipvs = new MemoryIpvs();
  const nl = new MemoryNetlink({ eth0: opts.nodeIPs });
  const fp = new IpvsProxier({
    nodeName: 'test-node',
    nodeIP: opts.nodeIPs[0] ?? '',
    config: kubeProxyConfig({ mode: 'ipvs', nodePortAddresses: opts.nodePortAddresses }),
    iptables: ipt,
    ipvs,
    netlink: nl,
    localDetector: null,
  });
  for (const s of opts.services) fp.onServiceAdd(s);
  for (const s of opts.slices) fp.onEndpointSliceAdd(s);
  return { result: fp.syncProxyRules(), ipt, ipvs, nl, fp };
}

/** FakeIPVS-like view: "ADDR:PORT/PROTO sched" -> ["ip:port w"]. */
function ipvsState(r: IpvsSyncResult): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const vs of r.virtualServers) out[`${vs.address}:${vs.port}/${vs.protocol} ${vs.scheduler}`] = vs.dests.map((d) => `${d.address}:${d.port} w${d.weight}`);
  return out;
}

/** upstream checkIptables: each expected {jump, matchSet, source} exists in that chain (any table). */
function chainHas(restoreText: string, chain: string, want: { jump: string; matchSet?: string; source?: string }): boolean {
  for (const t of parseDump(restoreText)) {
    for (const c of t.chains) {
      if (c.name !== chain) continue;
      for (const r of c.rules) {
        const w = r.raw.split(' ');
        const ms = w.indexOf('--match-set');
        const s = w.indexOf('-s');
        if (r.jump !== want.jump) continue;
        if ((want.matchSet ?? '') !== (ms >= 0 ? w[ms + 1] : '')) continue;
        if (want.source !== undefined && (s < 0 || w[s + 1] !== want.source)) continue;
        return true;
      }
    }
  }
  return false;
}

/**
 * upstream checkIptables: the rules of each named chain (nat, then filter, as getRules reads
 * iptables-save) must be exactly these, in order, by jump target and match-set.
 */
function checkIptables(restoreText: string, expected: Record<string, [jump: string, matchSet?: string][]>): void {
  const tables = parseDump(restoreText);
  const byName = (n: string) => tables.find((t) => t.name === n)!;
  for (const [chain, want] of Object.entries(expected)) {
    const rules = [...(byName('nat').chains.find((c) => c.name === chain)?.rules ?? []), ...(byName('filter').chains.find((c) => c.name === chain)?.rules ?? [])];
    const got = rules.map((r) => {
      const w = r.raw.split(' ');
      const ms = w.indexOf('--match-set');
      return ms >= 0 ? [r.jump, w[ms + 1]] : [r.jump];
    });
    expect(got, chain).toEqual(want.map(([j, m]) => (m === undefined ? [j] : [j, m])));
  }
}

const np = (protocol: 'TCP' | 'UDP' | 'SCTP', extra: Partial<Service['spec']> = {}) =>
  makeService('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol, nodePort: 3001 }], ...extra });
const eps = (protocol: 'TCP' | 'UDP' | 'SCTP', endpoints: EndpointSlice['endpoints']) =>
  makeSlice('ns1', 'svc1', 1, { endpoints, ports: [{ name: 'p80', port: 80, protocol }] });

describe('ipvs mode: upstream TestNodePortIPv4', () => {
  it('1 service with node port, has 2 endpoints (the IPv6 slice and node IP are ignored)', () => {
    const v6: EndpointSlice = { ...makeSlice('ns1', 'svc1', 2, { endpoints: [{ addresses: ['1002:ab8::2:10'] }], ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }), addressType: 'IPv6' };
    const { result } = run({
      services: [np('TCP')],
      slices: [eps('TCP', [{ addresses: ['10.180.0.1'] }]), v6],
      nodeIPs: ['100.101.102.103', '2001:db8::1:1'],
      nodePortAddresses: [],
    });
    expect(ipvsState(result)).toEqual({
      '10.20.30.41:80/TCP rr': ['10.180.0.1:80 w1'],
      '100.101.102.103:3001/TCP rr': ['10.180.0.1:80 w1'],
    });
  });

  it('1 UDP service with node port, has endpoints', () => {
    const { result } = run({
      services: [np('UDP')],
      slices: [eps('UDP', [{ addresses: ['10.180.0.1'] }])],
      nodeIPs: ['100.101.102.103'],
      nodePortAddresses: ['0.0.0.0/0'],
    });
    expect(ipvsState(result)).toEqual({
      '10.20.30.41:80/UDP rr': ['10.180.0.1:80 w1'],
      '100.101.102.103:3001/UDP rr': ['10.180.0.1:80 w1'],
    });
    expect([...result.ipsets.get('KUBE-NODE-PORT-UDP')!]).toEqual(['3001']);
    const t = result.restoreText;
    checkIptables(t, {
      'KUBE-NODE-PORT': [['KUBE-MARK-MASQ', 'KUBE-NODE-PORT-UDP'], ['ACCEPT', 'KUBE-HEALTH-CHECK-NODE-PORT']],
      'KUBE-SERVICES': [['RETURN'], ['KUBE-MARK-MASQ', 'KUBE-CLUSTER-IP'], ['KUBE-NODE-PORT'], ['ACCEPT', 'KUBE-CLUSTER-IP']],
    });
    expect(chainHas(t, 'KUBE-SERVICES', { jump: 'RETURN', source: '127.0.0.0/8' })).toBe(true);
    // A chain that must not be there: no TCP node ports.
    expect(chainHas(t, 'KUBE-NODE-PORT', { jump: 'KUBE-MARK-MASQ', matchSet: 'KUBE-NODE-PORT-TCP' })).toBe(false);
  });

  it('service has node port but no endpoints: virtual servers without real servers', () => {
    const { result } = run({ services: [np('TCP')], slices: [], nodeIPs: ['100.101.102.103'], nodePortAddresses: [] });
    expect(ipvsState(result)).toEqual({ '10.20.30.41:80/TCP rr': [], '100.101.102.103:3001/TCP rr': [] });
  });

  it('node port service with protocol sctp on a node with multiple nodeIPs', () => {
    const { result } = run({
      services: [np('SCTP')],
      slices: [eps('SCTP', [{ addresses: ['10.180.0.1'] }])],
      nodeIPs: ['100.101.102.103', '100.101.102.104', '100.101.102.105', '2001:db8::1:1', '2001:db8::1:2', '2001:db8::1:3'],
      nodePortAddresses: [],
    });
    expect(ipvsState(result)).toEqual({
      '10.20.30.41:80/SCTP rr': ['10.180.0.1:80 w1'],
      '100.101.102.103:3001/SCTP rr': ['10.180.0.1:80 w1'],
      '100.101.102.104:3001/SCTP rr': ['10.180.0.1:80 w1'],
      '100.101.102.105:3001/SCTP rr': ['10.180.0.1:80 w1'],
    });
    expect([...result.ipsets.get('KUBE-NODE-PORT-SCTP-HASH')!].sort()).toEqual([
      '100.101.102.103,sctp:3001',
      '100.101.102.104,sctp:3001',
      '100.101.102.105,sctp:3001',
    ]);
  });

  it('node port service with protocol sctp and externalTrafficPolicy local', () => {
    const { result } = run({
      services: [np('SCTP', { externalTrafficPolicy: 'Local' })],
      slices: [eps('SCTP', [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }, { addresses: ['10.180.1.1'], nodeName: 'other-node' }])],
      nodeIPs: ['100.101.102.103'],
      nodePortAddresses: [],
    });
    expect(ipvsState(result)).toEqual({
      '10.20.30.41:80/SCTP rr': ['10.180.0.1:80 w1', '10.180.1.1:80 w1'],
      '100.101.102.103:3001/SCTP rr': ['10.180.0.1:80 w1'],
    });
    expect([...result.ipsets.get('KUBE-NODE-PORT-SCTP-HASH')!]).toEqual(['100.101.102.103,sctp:3001']);
    expect([...result.ipsets.get('KUBE-NODE-PORT-LOCAL-SCTP-HASH')!]).toEqual(['100.101.102.103,sctp:3001']);
    checkIptables(result.restoreText, {
      'KUBE-NODE-PORT': [['RETURN', 'KUBE-NODE-PORT-LOCAL-SCTP-HASH'], ['KUBE-MARK-MASQ', 'KUBE-NODE-PORT-SCTP-HASH'], ['ACCEPT', 'KUBE-HEALTH-CHECK-NODE-PORT']],
    });
    // The local endpoint is in KUBE-LOOP-BACK for hairpin masquerade.
    expect([...result.ipsets.get('KUBE-LOOP-BACK')!]).toEqual(['10.180.0.1,sctp:80,10.180.0.1']);
  });
});

describe('ipvs mode: more upstream cases', () => {
  const tcpPort = { name: 'p80', port: 80, protocol: 'TCP' as const };
  it('TestOnlyLocalExternalIPs: other-family external IPs are dropped, external VS gets only the local endpoint', () => {
    const { result } = run({
      services: [makeService('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', externalIPs: ['50.60.70.81', '2012::51', '127.0.0.1'], ports: [{ ...tcpPort, targetPort: 80 }], externalTrafficPolicy: 'Local' })],
      slices: [makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }, { addresses: ['10.180.1.1'], nodeName: 'other-node' }], ports: [tcpPort] })],
      nodeIPs: [],
      nodePortAddresses: [],
    });
    expect(result.virtualServers).toHaveLength(3);
    const state = ipvsState(result);
    expect(state['50.60.70.81:80/TCP rr']).toEqual(['10.180.0.1:80 w1']);
    expect(state['127.0.0.1:80/TCP rr']).toEqual(['10.180.0.1:80 w1']);
    expect(state['10.20.30.41:80/TCP rr']).toEqual(['10.180.0.1:80 w1', '10.180.1.1:80 w1']);
    expect([...result.ipsets.get('KUBE-EXTERNAL-IP-LOCAL')!].sort()).toEqual(['127.0.0.1,tcp:80', '50.60.70.81,tcp:80']);
    expect(result.ipsets.get('KUBE-EXTERNAL-IP')!.size).toBe(0);
  });

  it('TestOnlyLocalNodePorts', () => {
    const { result } = run({
      services: [makeService('ns1', 'svc1', { type: 'NodePort', clusterIP: '10.20.30.41', ports: [{ ...tcpPort, nodePort: 3001 }], externalTrafficPolicy: 'Local' })],
      slices: [makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }, { addresses: ['10.180.1.1'], nodeName: 'other-node' }], ports: [tcpPort] })],
      nodeIPs: ['100.101.102.103'],
      nodePortAddresses: ['100.101.102.0/24'],
    });
    expect(result.virtualServers).toHaveLength(2);
    expect(ipvsState(result)['100.101.102.103:3001/TCP rr']).toEqual(['10.180.0.1:80 w1']);
    expect([...result.ipsets.get('KUBE-NODE-PORT-TCP')!]).toEqual(['3001']);
    expect([...result.ipsets.get('KUBE-NODE-PORT-LOCAL-TCP')!]).toEqual(['3001']);
    const t = result.restoreText;
    checkIptables(t, {
      'KUBE-SERVICES': [['RETURN'], ['KUBE-MARK-MASQ', 'KUBE-CLUSTER-IP'], ['KUBE-NODE-PORT'], ['ACCEPT', 'KUBE-CLUSTER-IP']],
      'KUBE-NODE-PORT': [['RETURN', 'KUBE-NODE-PORT-LOCAL-TCP'], ['KUBE-MARK-MASQ', 'KUBE-NODE-PORT-TCP'], ['ACCEPT', 'KUBE-HEALTH-CHECK-NODE-PORT']],
    });
    // The eTP=Local RETURN comes before the masquerade rule in KUBE-NODE-PORT.
    const nat = t.split('*filter')[0]!;
    expect(nat.indexOf('KUBE-NODE-PORT-LOCAL-TCP dst -j RETURN')).toBeLessThan(nat.indexOf('KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ'));
  });

  it('TestHealthCheckNodePort: only eTP=Local LoadBalancers get a health check node port', () => {
    const base = { type: 'LoadBalancer' as const, clusterIP: '10.20.30.41', ports: [{ ...tcpPort, nodePort: 3000 }] };
    const { result } = run({
      services: [
        makeService('ns1', 'valid-svc1', { ...base, externalTrafficPolicy: 'Local', healthCheckNodePort: 30000 }),
        makeService('ns1', 'valid-svc2', { ...base, externalTrafficPolicy: 'Local', healthCheckNodePort: 30001 }),
        makeService('ns1', 'invalid-svc3', { ...base, externalTrafficPolicy: 'Cluster', healthCheckNodePort: 30002 }),
      ],
      slices: [],
      nodeIPs: ['100.101.102.103'],
      nodePortAddresses: ['100.101.102.0/24'],
    });
    expect([...result.ipsets.get('KUBE-HEALTH-CHECK-NODE-PORT')!].sort()).toEqual(['30000', '30001']);
    checkIptables(result.restoreText, {
      'KUBE-NODE-PORT': [['RETURN', 'KUBE-NODE-PORT-LOCAL-TCP'], ['KUBE-MARK-MASQ', 'KUBE-NODE-PORT-TCP'], ['ACCEPT', 'KUBE-HEALTH-CHECK-NODE-PORT']],
    });
  });

  it('TestLoadBalancerSourceRanges', () => {
    const { result } = run({
      services: [makeService('ns1', 'svc1', { type: 'LoadBalancer', clusterIP: '10.20.30.41', ports: [tcpPort], loadBalancerSourceRanges: ['10.0.0.0/8'] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } })],
      slices: [makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: [tcpPort] })],
      nodeIPs: [],
      nodePortAddresses: [],
    });
    expect(ipvsState(result)).toEqual({ '1.2.3.4:80/TCP rr': ['10.180.0.1:80 w1'], '10.20.30.41:80/TCP rr': ['10.180.0.1:80 w1'] });
    expect([...result.ipsets.get('KUBE-LOAD-BALANCER')!]).toEqual(['1.2.3.4,tcp:80']);
    expect([...result.ipsets.get('KUBE-LOAD-BALANCER-FW')!]).toEqual(['1.2.3.4,tcp:80']);
    expect([...result.ipsets.get('KUBE-LOAD-BALANCER-SOURCE-CIDR')!]).toEqual(['1.2.3.4,tcp:80,10.0.0.0/8']);
    const t = result.restoreText;
    checkIptables(t, {
      'KUBE-SERVICES': [
        ['RETURN'],
        ['KUBE-LOAD-BALANCER', 'KUBE-LOAD-BALANCER'],
        ['KUBE-MARK-MASQ', 'KUBE-CLUSTER-IP'],
        ['KUBE-NODE-PORT'],
        ['ACCEPT', 'KUBE-CLUSTER-IP'],
        ['ACCEPT', 'KUBE-LOAD-BALANCER'],
      ],
      'KUBE-LOAD-BALANCER': [['KUBE-MARK-MASQ']],
      'KUBE-PROXY-FIREWALL': [['KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-LOAD-BALANCER-FW']],
      'KUBE-SOURCE-RANGES-FIREWALL': [['RETURN', 'KUBE-LOAD-BALANCER-SOURCE-CIDR'], ['DROP']],
    });
    // No range covers the node IP, so the node may not reach the LB: KUBE-IPVS-OUT-FILTER.
    expect(t).toContain('-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP\n');
  });

  it('ClientIP affinity becomes persistence with the affinity timeout; mh sets the source-hash flag', () => {
    const svc = makeService('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [tcpPort], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 300 } } });
    const ipt = new MemoryIptables(false);
    const fp = new IpvsProxier({
      nodeName: 'test-node',
      nodeIP: '100.101.102.103',
      config: kubeProxyConfig({ mode: 'ipvs', ipvs: { scheduler: 'mh' } }),
      iptables: ipt,
      netlink: new MemoryNetlink({ eth0: ['100.101.102.103'] }),
    });
    fp.onServiceAdd(svc);
    const r = fp.syncProxyRules();
    expect(r.virtualServers.map(({ scheduler, flags, timeout, netmask }) => ({ scheduler, flags, timeout, netmask }))).toEqual([
      { scheduler: 'mh', flags: 0x1 | 0x10, timeout: 300, netmask: '255.255.255.255' },
    ]);
    expect(fp.probeVirtualServer()).toMatchObject({ address: '198.51.100.0', port: 20000, protocol: 'TCP', scheduler: 'mh' });
  });
});
