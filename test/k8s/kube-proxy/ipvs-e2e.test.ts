// Upstream pkg/proxy/ipvs/proxier_test.go sequences: TestEndpointSliceE2E,
// TestHealthCheckNodePortE2E, TestTestInternalTrafficPolicyE2E,
// Test_EndpointSliceReadyAndTerminatingCluster/Local, TestCreateAndLinkKubeChain.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../../src/k8s/api/types.js';
import { MemoryIptables } from '../../../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../../../src/k8s/kube-proxy/config.js';
import { IpvsProxier, MemoryIpvs, MemoryNetlink } from '../../../src/k8s/kube-proxy/ipvs.js';

function fake() {
  const ipvs = new MemoryIpvs();
  const fp = new IpvsProxier({
    nodeName: 'test-node',
    nodeIP: '',
    config: kubeProxyConfig({ mode: 'ipvs' }),
    iptables: new MemoryIptables(false),
    ipvs,
    netlink: new MemoryNetlink(),
    localDetector: null,
  });
  return { fp, ipvs };
}
const svc = (spec: Partial<Service['spec']>): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'svc1', namespace: 'ns1' },
  spec: { clusterIP: '172.20.1.1', selector: { foo: 'bar' }, ports: [{ name: '', port: 0, targetPort: 80, protocol: 'TCP' }], ...spec },
});
const slice = (endpoints: EndpointSlice['endpoints']): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'svc1-1', namespace: 'ns1', labels: { 'kubernetes.io/service-name': 'svc1' } },
  addressType: 'IPv4',
  ports: [{ name: '', port: 80, protocol: 'TCP' }],
  endpoints,
});
const rs = (ipvs: MemoryIpvs, address: string) => {
  const vs = ipvs.getVirtualServers().find((v) => v.address === address)!;
  return ipvs.getRealServers(vs).map((d) => `${d.address}:${d.port}`).sort();
};
const ep = (ip: string, ready: boolean, serving: boolean, terminating: boolean, nodeName: string) => ({ addresses: [ip], conditions: { ready, serving, terminating }, nodeName });

describe('ipvs mode: upstream E2E sequences', () => {
  it('TestEndpointSliceE2E', () => {
    const { fp, ipvs } = fake();
    fp.onServiceAdd(svc({}));
    const s = slice([
      { addresses: ['10.0.1.1'], conditions: { ready: true }, nodeName: 'test-node' },
      { addresses: ['10.0.1.2'], conditions: { ready: true }, nodeName: 'node2' },
      { addresses: ['10.0.1.3'], conditions: { ready: true }, nodeName: 'node3' },
      { addresses: ['10.0.1.4'], conditions: { ready: false }, nodeName: 'node3' },
    ]);
    fp.onEndpointSliceAdd(s);
    let r = fp.syncProxyRules();
    expect([...r.ipsets.get('KUBE-LOOP-BACK')!]).toEqual(['10.0.1.1,tcp:80,10.0.1.1']);
    expect(ipvs.getVirtualServers()).toHaveLength(1);
    expect(rs(ipvs, '172.20.1.1')).toEqual(['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80']);
    fp.onEndpointSliceDelete(s);
    r = fp.syncProxyRules();
    expect(r.ipsets.get('KUBE-LOOP-BACK')!.size).toBe(0);
    expect(ipvs.getVirtualServers()).toHaveLength(1);
    expect(rs(ipvs, '172.20.1.1')).toEqual([]);
  });

  it('TestHealthCheckNodePortE2E', () => {
    const { fp } = fake();
    const s1 = svc({ type: 'LoadBalancer', healthCheckNodePort: 30000, externalTrafficPolicy: 'Local' });
    fp.onServiceAdd(s1);
    expect([...fp.syncProxyRules().ipsets.get('KUBE-HEALTH-CHECK-NODE-PORT')!]).toEqual(['30000']);
    const s2 = svc({ type: 'LoadBalancer', healthCheckNodePort: 30001, externalTrafficPolicy: 'Local' });
    fp.onServiceUpdate(s1, s2);
    expect([...fp.syncProxyRules().ipsets.get('KUBE-HEALTH-CHECK-NODE-PORT')!]).toEqual(['30001']);
    fp.onServiceDelete(s2);
    expect(fp.syncProxyRules().ipsets.get('KUBE-HEALTH-CHECK-NODE-PORT')!.size).toBe(0);
  });

  describe('TestTestInternalTrafficPolicyE2E', () => {
    const cases = [
      { name: 'cluster with non-zero local endpoints', itp: 'Cluster' as const, nodes: ['test-node', 'node1', 'node2'], local: true, rs: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80'] },
      { name: 'cluster with zero local endpoints', itp: 'Cluster' as const, nodes: ['node0', 'node1', 'node2'], local: false, rs: ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.3:80'] },
      { name: 'local with non-zero local endpoints', itp: 'Local' as const, nodes: ['test-node', 'node1', 'node2'], local: true, rs: ['10.0.1.1:80'] },
      { name: 'local with zero local endpoints', itp: 'Local' as const, nodes: ['node0', 'node1', 'node2'], local: false, rs: [] },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const { fp, ipvs } = fake();
        fp.onServiceAdd(svc({ internalTrafficPolicy: tc.itp }));
        const s = slice(tc.nodes.map((n, i) => ({ addresses: [`10.0.1.${i + 1}`], conditions: { ready: true }, nodeName: n })));
        fp.onEndpointSliceAdd(s);
        const r = fp.syncProxyRules();
        expect(r.ipsets.get('KUBE-LOOP-BACK')!.size).toBe(tc.local ? 1 : 0);
        expect(rs(ipvs, '172.20.1.1')).toEqual(tc.rs);
        fp.onEndpointSliceDelete(s);
        const r2 = fp.syncProxyRules();
        expect(r2.ipsets.get('KUBE-LOOP-BACK')!.size).toBe(0);
        expect(ipvs.getVirtualServers()).toHaveLength(1);
        expect(rs(ipvs, '172.20.1.1')).toEqual([]);
      });
    }
  });

  const fiveEps = [
    ep('10.0.1.1', true, true, false, 'test-node'),
    ep('10.0.1.2', true, true, false, 'test-node'),
    ep('10.0.1.3', false, true, true, 'test-node'),
    ep('10.0.1.4', false, false, true, 'test-node'),
    ep('10.0.1.5', true, true, false, 'another-node'),
  ];
  it.each([
    ['Cluster', ['10.0.1.1:80', '10.0.1.2:80', '10.0.1.5:80']],
    ['Local', ['10.0.1.1:80', '10.0.1.2:80']],
  ] as const)('Test_EndpointSliceReadyAndTerminating%s', (etp, externalRS) => {
    const { fp, ipvs } = fake();
    fp.onServiceAdd(svc({ type: 'NodePort', externalTrafficPolicy: etp, internalTrafficPolicy: 'Cluster', externalIPs: ['1.2.3.4'], ports: [{ name: '', port: 80, targetPort: 80, protocol: 'TCP' }] }));
    const s = slice(fiveEps);
    fp.onEndpointSliceAdd(s);
    const r = fp.syncProxyRules();
    expect([...r.ipsets.get('KUBE-LOOP-BACK')!].sort()).toEqual(['10.0.1.1,tcp:80,10.0.1.1', '10.0.1.2,tcp:80,10.0.1.2', '10.0.1.3,tcp:80,10.0.1.3', '10.0.1.4,tcp:80,10.0.1.4']);
    expect(ipvs.getVirtualServers()).toHaveLength(2);
    expect(rs(ipvs, '172.20.1.1')).toEqual(['10.0.1.1:80', '10.0.1.2:80', '10.0.1.5:80']);
    expect(rs(ipvs, '1.2.3.4')).toEqual(externalRS);
    fp.onEndpointSliceDelete(s);
    fp.syncProxyRules();
    expect(ipvs.getVirtualServers()).toHaveLength(2);
    expect(rs(ipvs, '172.20.1.1')).toEqual([]);
    expect(rs(ipvs, '1.2.3.4')).toEqual([]);
  });

  it('TestCreateAndLinkKubeChain: chain lines in upstream order', () => {
    const { fp } = fake();
    const t = fp.syncProxyRules().restoreText;
    const chains = t.split('\n').filter((l) => l.startsWith(':'));
    expect(chains).toEqual([
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-POSTROUTING - [0:0]',
      ':KUBE-NODE-PORT - [0:0]',
      ':KUBE-LOAD-BALANCER - [0:0]',
      ':KUBE-MARK-MASQ - [0:0]',
      ':KUBE-FORWARD - [0:0]',
      ':KUBE-NODE-PORT - [0:0]',
      ':KUBE-PROXY-FIREWALL - [0:0]',
      ':KUBE-SOURCE-RANGES-FIREWALL - [0:0]',
      ':KUBE-IPVS-FILTER - [0:0]',
      ':KUBE-IPVS-OUT-FILTER - [0:0]',
    ]);
  });
});

describe('ipvs mode: cleanup (upstream TestCleanLegacyService, TestMultiPortServiceBindAddr)', () => {
  it('deletes virtual servers it no longer wants, sparing excludeCIDRs', () => {
    const ipvs = new MemoryIpvs();
    const mk = (address: string, port: number) => ({ protocol: 'UDP' as const, address, port, scheduler: 'rr', flags: 0x2, timeout: 0, netmask: '255.255.255.255' });
    for (const [a, p] of [['3.3.3.3', 55], ['4.4.4.4', 56], ['5.5.5.5', 57], ['6.6.6.6', 58]] as const) ipvs.addVirtualServer(mk(a, p));
    ipvs.addRealServer(mk('4.4.4.4', 56), { address: '10.10.10.10', port: 56, weight: 1, fwd: 'Masq' });
    const fp = new IpvsProxier({
      nodeName: 'test-node',
      nodeIP: '',
      config: kubeProxyConfig({ mode: 'ipvs', ipvs: { excludeCIDRs: ['3.3.3.0/24', '4.4.4.0/24'] } }),
      iptables: new MemoryIptables(false),
      ipvs,
      netlink: new MemoryNetlink(),
    });
    const r = fp.syncProxyRules();
    expect(r.ipvsOps.filter((o) => o.op === 'deleteVirtualServer').map((o) => o.vs.address)).toEqual(['5.5.5.5', '6.6.6.6']);
    expect(ipvs.getVirtualServers().map((v) => v.address).sort()).toEqual(['3.3.3.3', '4.4.4.4']);
    expect(ipvs.getRealServers(mk('4.4.4.4', 56))).toHaveLength(1);
  });

  it('keeps one bound address for a multi-port service across updates and unbinds it on delete', () => {
    const nl = new MemoryNetlink();
    const fp = new IpvsProxier({ nodeName: 'test-node', nodeIP: '', config: kubeProxyConfig({ mode: 'ipvs' }), iptables: new MemoryIptables(false), netlink: nl });
    const ports = (...p: [string, 'TCP' | 'UDP', number][]) => p.map(([name, protocol, port]) => ({ name, protocol, port }));
    const s1 = makeSvc(ports(['port1', 'TCP', 1234], ['port2', 'TCP', 1235]));
    const s2 = makeSvc(ports(['port1', 'TCP', 1234]));
    const s3 = makeSvc(ports(['port1', 'TCP', 1234], ['port2', 'TCP', 1235], ['port3', 'UDP', 1236]));
    fp.onServiceAdd(s1);
    fp.syncProxyRules();
    expect(nl.getLocalAddresses('kube-ipvs0')).toEqual(['172.16.55.4']);
    fp.onServiceUpdate(s1, s2);
    fp.syncProxyRules();
    expect(nl.getLocalAddresses('kube-ipvs0')).toEqual(['172.16.55.4']);
    fp.onServiceUpdate(s2, s3);
    const r = fp.syncProxyRules();
    expect(nl.getLocalAddresses('kube-ipvs0')).toEqual(['172.16.55.4']);
    expect(r.virtualServers.map((v) => `${v.protocol} ${v.port}`)).toEqual(['TCP 1234', 'TCP 1235', 'UDP 1236']);
    fp.onServiceDelete(s3);
    fp.syncProxyRules();
    expect(nl.getLocalAddresses('kube-ipvs0')).toEqual([]);
  });
});

function makeSvc(ports: { name: string; protocol: 'TCP' | 'UDP'; port: number }[]): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc1', namespace: 'ns1' }, spec: { type: 'ClusterIP', clusterIP: '172.16.55.4', ports } };
}
