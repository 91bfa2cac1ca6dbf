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
    nodeIP: opts.nodeIPs[0]!,
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
    expect(chainHas(t, 'KUBE-NODE-PORT', { jump: 'KUBE-MARK-MASQ', matchSet: 'KUBE-NODE-PORT-UDP' })).toBe(true);
    expect(chainHas(t, 'KUBE-NODE-PORT', { jump: 'ACCEPT', matchSet: 'KUBE-HEALTH-CHECK-NODE-PORT' })).toBe(true);
    expect(chainHas(t, 'KUBE-SERVICES', { jump: 'RETURN', source: '127.0.0.0/8' })).toBe(true);
    expect(chainHas(t, 'KUBE-SERVICES', { jump: 'KUBE-MARK-MASQ', matchSet: 'KUBE-CLUSTER-IP' })).toBe(true);
    expect(chainHas(t, 'KUBE-SERVICES', { jump: 'KUBE-NODE-PORT' })).toBe(true);
    expect(chainHas(t, 'KUBE-SERVICES', { jump: 'ACCEPT', matchSet: 'KUBE-CLUSTER-IP' })).toBe(true);
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
    const t = result.restoreText;
    expect(chainHas(t, 'KUBE-NODE-PORT', { jump: 'RETURN', matchSet: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH' })).toBe(true);
    expect(chainHas(t, 'KUBE-NODE-PORT', { jump: 'KUBE-MARK-MASQ', matchSet: 'KUBE-NODE-PORT-SCTP-HASH' })).toBe(true);
    expect(chainHas(t, 'KUBE-NODE-PORT', { jump: 'ACCEPT', matchSet: 'KUBE-HEALTH-CHECK-NODE-PORT' })).toBe(true);
    // The local endpoint is in KUBE-LOOP-BACK for hairpin masquerade.
    expect([...result.ipsets.get('KUBE-LOOP-BACK')!]).toEqual(['10.180.0.1,sctp:80,10.180.0.1']);
  });
});
