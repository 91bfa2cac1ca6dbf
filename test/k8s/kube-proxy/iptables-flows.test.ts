// Packet-flow tables of upstream pkg/proxy/iptables/proxier_test.go (TestClusterIPGeneral,
// TestLoadBalancer, TestNodePorts, TestHealthCheckNodePort, TestExternalTrafficPolicyLocal,
// TestExternalTrafficPolicyCluster, TestNoEndpointsReject,
// TestTerminatingEndpointsTrafficPolicyCluster), run against the generated rules with
// upstream's tracer.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice, Service } from '../../../src/k8s/api/types.js';
import { MemoryIptables } from '../../../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../../../src/k8s/kube-proxy/config.js';
import { IptablesProxier } from '../../../src/k8s/kube-proxy/iptables.js';
import { parseDump } from '../../../src/k8s/kube-proxy/restore-dump.js';
import { makeService, makeSlice, newFakeProxier } from './harness.js';
import { tracePacket, type FlowCase } from './tracer.js';

const TEST_NODE_IPS = ['192.168.0.2', '192.168.1.2', '192.168.99.11'];
const EXT = '203.0.113.2';
const EXT_BLOCKED = '203.0.113.130';

function runFlows(ipt: MemoryIptables, cases: FlowCase[]): void {
  for (const tc of cases) {
    const r = tracePacket(ipt, tc.sourceIP, (tc.protocol ?? 'TCP').toLowerCase(), tc.destIP, String(tc.destPort), TEST_NODE_IPS);
    expect({ name: tc.name, output: r.output, masq: r.masq }, r.matches.join('\n')).toEqual({ name: tc.name, output: tc.output, masq: tc.masq ?? false });
  }
}

function sync(services: Service[], slices: EndpointSlice[], setup?: (fp: IptablesProxier) => void) {
  const { fp, ipt } = newFakeProxier();
  setup?.(fp);
  for (const s of services) fp.onServiceAdd(s);
  for (const s of slices) fp.onEndpointSliceAdd(s);
  const r = fp.syncProxyRules();
  expect(r.success).toBe(true);
  return { fp, ipt, r };
}

const port = (name: string, p: number, protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP') => ({ name, port: p, protocol });

describe('iptables mode packet flows (upstream tables)', () => {
  it('TestClusterIPGeneral', () => {
    const { ipt } = sync(
      [
        makeService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [port('http', 80)] }),
        makeService('ns2', 'svc2', {
          clusterIP: '172.30.0.42',
          ports: [port('http', 80), { ...port('https', 443), targetPort: 8443 }, port('dns-udp', 53, 'UDP'), { ...port('dns-tcp', 53), targetPort: 5353 }, port('dns-sctp', 53, 'SCTP')],
        }),
      ],
      [
        makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'], nodeName: 'test-node' }], ports: [port('http', 80)] }),
        makeSlice('ns2', 'svc2', 1, {
          endpoints: [
            { addresses: ['10.180.0.1'], nodeName: 'test-node' },
            { addresses: ['10.180.2.1'], nodeName: 'node2' },
          ],
          ports: [port('http', 80), port('https', 8443), port('dns-udp', 53, 'UDP'), port('dns-tcp', 5353), port('dns-sctp', 53, 'SCTP')],
        }),
      ],
    );
    runFlows(ipt, [
      { name: 'simple clusterIP', sourceIP: '10.180.0.2', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80' },
      { name: 'hairpin to cluster IP', sourceIP: '10.180.0.1', destIP: '172.30.0.41', destPort: 80, output: '10.180.0.1:80', masq: true },
      { name: 'clusterIP with multiple endpoints', sourceIP: '10.180.0.2', destIP: '172.30.0.42', destPort: 80, output: '10.180.0.1:80, 10.180.2.1:80' },
      { name: 'clusterIP with TargetPort', sourceIP: '10.180.0.2', destIP: '172.30.0.42', destPort: 443, output: '10.180.0.1:8443, 10.180.2.1:8443' },
      { name: 'TCP, UDP, SCTP on same port (TCP)', sourceIP: '10.180.0.2', protocol: 'TCP', destIP: '172.30.0.42', destPort: 53, output: '10.180.0.1:5353, 10.180.2.1:5353' },
      { name: 'TCP, UDP, SCTP on same port (UDP)', sourceIP: '10.180.0.2', protocol: 'UDP', destIP: '172.30.0.42', destPort: 53, output: '10.180.0.1:53, 10.180.2.1:53' },
      { name: 'TCP, UDP, SCTP on same port (SCTP)', sourceIP: '10.180.0.2', protocol: 'SCTP', destIP: '172.30.0.42', destPort: 53, output: '10.180.0.1:53, 10.180.2.1:53' },
      { name: 'TCP-only port does not match UDP traffic', sourceIP: '10.180.0.2', protocol: 'UDP', destIP: '172.30.0.42', destPort: 80, output: '' },
      { name: "svc1 does not accept svc2's ports", sourceIP: '10.180.0.2', destIP: '172.30.0.41', destPort: 443, output: '' },
    ]);
  });

  it('TestLoadBalancer', () => {
    const ep = '10.180.0.1:80';
    const { ipt } = sync(
      [
        makeService(
          'ns1',
          'svc1',
          { type: 'LoadBalancer', clusterIP: '172.30.0.41', ports: [{ ...port('p80', 80), nodePort: 3001 }], loadBalancerSourceRanges: ['192.168.0.0/24', ' 203.0.113.0/25'] },
          { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8' }] } },
        ),
      ],
      [makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: [port('p80', 80)] })],
    );
    runFlows(ipt, [
      { name: 'pod to cluster IP', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: ep },
      { name: 'external to nodePort', sourceIP: EXT, destIP: '192.168.0.2', destPort: 3001, output: ep, masq: true },
      { name: 'nodePort bypasses LoadBalancerSourceRanges', sourceIP: EXT_BLOCKED, destIP: '192.168.0.2', destPort: 3001, output: ep, masq: true },
      { name: 'accepted external to LB1', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: ep, masq: true },
      { name: 'accepted external to LB2', sourceIP: EXT, destIP: '5.6.7.8', destPort: 80, output: ep, masq: true },
      { name: 'blocked external to LB1', sourceIP: EXT_BLOCKED, destIP: '1.2.3.4', destPort: 80, output: 'DROP' },
      { name: 'blocked external to LB2', sourceIP: EXT_BLOCKED, destIP: '5.6.7.8', destPort: 80, output: 'DROP' },
      { name: 'pod to LB1 (blocked by LoadBalancerSourceRanges)', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: 'DROP' },
      { name: 'pod to LB2 (blocked by LoadBalancerSourceRanges)', sourceIP: '10.0.0.2', destIP: '5.6.7.8', destPort: 80, output: 'DROP' },
      { name: 'node to LB1 (allowed by LoadBalancerSourceRanges)', sourceIP: '192.168.0.2', destIP: '1.2.3.4', destPort: 80, output: ep, masq: true },
      { name: 'node to LB2 (allowed by LoadBalancerSourceRanges)', sourceIP: '192.168.0.2', destIP: '5.6.7.8', destPort: 80, output: ep, masq: true },
      { name: 'same node to LB1, SNATted to LB1 (implicitly allowed)', sourceIP: '1.2.3.4', destIP: '1.2.3.4', destPort: 80, output: ep, masq: true },
      { name: 'same node to LB2, SNATted to LB2 (implicitly allowed)', sourceIP: '5.6.7.8', destIP: '5.6.7.8', destPort: 80, output: ep, masq: true },
    ]);
  });

  describe('TestNodePorts (IPv4 cases)', () => {
    const cases = [
      { name: 'ipv4, localhost-nodeports enabled', localhostNodePorts: true, nodePortAddresses: [] as string[], allowAltNodeIP: true, expectFirewall: true },
      { name: 'ipv4, localhost-nodeports disabled', localhostNodePorts: false, nodePortAddresses: [], allowAltNodeIP: true, expectFirewall: false },
      { name: 'ipv4, localhost-nodeports disabled, localhost in nodeport-addresses', localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'], allowAltNodeIP: false, expectFirewall: false },
      { name: 'ipv4, localhost-nodeports enabled, multiple nodeport-addresses', localhostNodePorts: false, nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'], allowAltNodeIP: true, expectFirewall: false },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const ipt = new MemoryIptables(false);
        const fp = new IptablesProxier({
          nodeName: 'test-node',
          nodeIP: '192.168.0.2',
          config: kubeProxyConfig({ clusterCIDR: '10.0.0.0/8', iptables: { localhostNodePorts: tc.localhostNodePorts }, nodePortAddresses: tc.nodePortAddresses }),
          backend: ipt,
          masqueradeMark: '0x4000',
          interfaceAddrs: ['127.0.0.1/8', '192.168.0.2/24', '192.168.1.2/24', '192.168.99.11/24'],
        });
        fp.onServiceAdd(makeService('ns1', 'svc1', { type: 'NodePort', clusterIP: '172.30.0.41', ports: [{ ...port('p80', 80), nodePort: 3001 }] }));
        fp.onEndpointSliceAdd(
          makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }, { addresses: ['10.180.2.1'], nodeName: 'test-node' }], ports: [port('p80', 80)] }),
        );
        const r = fp.syncProxyRules();
        const output = '10.180.0.1:80, 10.180.2.1:80';
        runFlows(ipt, [
          { name: 'pod to cluster IP', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output },
          { name: 'external to nodePort', sourceIP: EXT, destIP: '192.168.0.2', destPort: 3001, output, masq: true },
          { name: 'node to nodePort', sourceIP: '192.168.0.2', destIP: '192.168.0.2', destPort: 3001, output, masq: true },
          tc.localhostNodePorts
            ? { name: 'localhost to nodePort gets masqueraded', sourceIP: '127.0.0.1', destIP: '127.0.0.1', destPort: 3001, output, masq: true }
            : { name: 'localhost to nodePort is ignored', sourceIP: '127.0.0.1', destIP: '127.0.0.1', destPort: 3001, output: '' },
          tc.allowAltNodeIP
            ? { name: 'external to nodePort on secondary IP', sourceIP: EXT, destIP: '192.168.1.2', destPort: 3001, output, masq: true }
            : { name: 'secondary nodeIP ignores NodePorts', sourceIP: EXT, destIP: '192.168.1.2', destPort: 3001, output: '' },
        ]);
        const fw = parseDump(r.restoreText).find((t) => t.name === 'filter')!.chains.find((c) => c.name === 'KUBE-FIREWALL');
        expect((fw?.rules ?? []).map((x) => x.raw)).toEqual(
          tc.expectFirewall
            ? ['-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP']
            : [],
        );
      });
    }
  });

  it('TestHealthCheckNodePort (nodePortAddresses 127.0.0.0/8)', () => {
    const ipt = new MemoryIptables(false);
    const fp = new IptablesProxier({
      nodeName: 'test-node',
      nodeIP: '192.168.0.2',
      config: kubeProxyConfig({ clusterCIDR: '10.0.0.0/8', nodePortAddresses: ['127.0.0.0/8'] }),
      backend: ipt,
      masqueradeMark: '0x4000',
      interfaceAddrs: ['127.0.0.1/8', '192.168.0.2/24'],
    });
    const svc = makeService('ns1', 'svc1', {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.42',
      ports: [{ ...port('p80', 80), nodePort: 3001 }],
      healthCheckNodePort: 30000,
      externalTrafficPolicy: 'Local',
    });
    fp.onServiceAdd(svc);
    fp.syncProxyRules();
    runFlows(ipt, [{ name: 'firewall accepts HealthCheckNodePort', sourceIP: '1.2.3.4', destIP: '192.168.0.2', destPort: 30000, output: 'ACCEPT' }]);
    fp.onServiceDelete(svc);
    fp.syncProxyRules();
    runFlows(ipt, [{ name: 'HealthCheckNodePort no longer has any rule', sourceIP: '1.2.3.4', destIP: '192.168.0.2', destPort: 30000, output: '' }]);
  });

  const lbSvc = (etp: 'Local' | 'Cluster') =>
    makeService(
      'ns1',
      'svc1',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: etp,
        clusterIP: '172.30.0.41',
        externalIPs: ['192.168.99.11'],
        ports: [{ ...port('p80', 80), nodePort: 3001, targetPort: 80 }],
        ...(etp === 'Local' ? { healthCheckNodePort: 30000 } : {}),
      },
      { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    );
  const twoEps = makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }, { addresses: ['10.180.2.1'], nodeName: 'test-node' }], ports: [port('p80', 80)] });
  const both = '10.180.0.1:80, 10.180.2.1:80';

  it('TestExternalTrafficPolicyLocal', () => {
    const { ipt } = sync([lbSvc('Local')], [twoEps]);
    runFlows(ipt, [
      { name: 'pod to cluster IP hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: both },
      { name: 'pod to external IP hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '192.168.99.11', destPort: 80, output: both },
      { name: 'external to external IP hits only local endpoint, unmasqueraded', sourceIP: EXT, destIP: '192.168.99.11', destPort: 80, output: '10.180.2.1:80' },
      { name: 'pod to LB IP hits only both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: both },
      { name: 'external to LB IP hits only local endpoint, unmasqueraded', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: '10.180.2.1:80' },
      { name: 'pod to NodePort hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '192.168.0.2', destPort: 3001, output: both },
      { name: 'external to NodePort hits only local endpoint, unmasqueraded', sourceIP: EXT, destIP: '192.168.0.2', destPort: 3001, output: '10.180.2.1:80' },
    ]);
  });

  it('TestExternalTrafficPolicyCluster', () => {
    const { ipt } = sync([lbSvc('Cluster')], [twoEps]);
    runFlows(ipt, [
      { name: 'pod to cluster IP hits both endpoints, unmasqueraded', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: both },
      { name: 'pod to external IP hits both endpoints, masqueraded', sourceIP: '10.0.0.2', destIP: '192.168.99.11', destPort: 80, output: both, masq: true },
      { name: 'external to external IP hits both endpoints, masqueraded', sourceIP: EXT, destIP: '192.168.99.11', destPort: 80, output: both, masq: true },
      { name: 'pod to LB IP hits both endpoints, masqueraded', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: both, masq: true },
      { name: 'external to LB IP hits both endpoints, masqueraded', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: both, masq: true },
      { name: 'pod to NodePort hits both endpoints, masqueraded', sourceIP: '10.0.0.2', destIP: '192.168.0.2', destPort: 3001, output: both, masq: true },
      { name: 'external to NodePort hits both endpoints, masqueraded', sourceIP: EXT, destIP: '192.168.0.2', destPort: 3001, output: both, masq: true },
    ]);
  });

  it('TestNoEndpointsReject', () => {
    const { ipt } = sync(
      [
        makeService(
          'ns1',
          'svc1',
          { type: 'LoadBalancer', clusterIP: '172.30.0.41', externalIPs: ['192.168.99.11'], ports: [{ ...port('p80', 80), nodePort: 3001 }] },
          { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
        ),
      ],
      [],
    );
    runFlows(ipt, [
      { name: 'pod to cluster IP with no endpoints', sourceIP: '10.0.0.2', destIP: '172.30.0.41', destPort: 80, output: 'REJECT' },
      { name: 'external to external IP with no endpoints', sourceIP: EXT, destIP: '192.168.99.11', destPort: 80, output: 'REJECT' },
      { name: 'pod to NodePort with no endpoints', sourceIP: '10.0.0.2', destIP: '192.168.0.2', destPort: 3001, output: 'REJECT' },
      { name: 'external to NodePort with no endpoints', sourceIP: EXT, destIP: '192.168.0.2', destPort: 3001, output: 'REJECT' },
      { name: 'pod to LoadBalancer IP with no endpoints', sourceIP: '10.0.0.2', destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
      { name: 'external to LoadBalancer IP with no endpoints', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
    ]);
  });

  describe('TestTerminatingEndpointsTrafficPolicyCluster', () => {
    const service: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc1', namespace: 'ns1' },
      spec: { clusterIP: '172.30.1.1', type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', ports: [{ name: '', targetPort: 80, port: 80, protocol: 'TCP' }], healthCheckNodePort: 30000 },
      status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } },
    };
    const ep = (ip: string, ready: boolean, serving: boolean, terminating: boolean, nodeName: string) => ({ addresses: [ip], conditions: { ready, serving, terminating }, nodeName });
    const cases: { name: string; endpoints: EndpointSlice['endpoints']; flows: FlowCase[] }[] = [
      {
        name: 'ready endpoints exist',
        endpoints: [
          ep('10.0.1.1', true, true, false, 'test-node'),
          ep('10.0.1.2', true, true, false, 'test-node'),
          ep('10.0.1.3', false, true, true, 'another-node'),
          ep('10.0.1.4', false, false, true, 'another-node'),
          ep('10.0.1.5', true, true, false, 'another-node'),
        ],
        flows: [
          { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80' },
          { name: 'external to LB', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: '10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80', masq: true },
        ],
      },
      {
        name: 'only terminating endpoints exist',
        endpoints: [
          ep('10.0.1.2', false, true, true, 'test-node'),
          ep('10.0.1.3', false, true, true, 'test-node'),
          ep('10.0.1.4', false, false, true, 'another-node'),
          ep('10.0.1.5', false, true, true, 'another-node'),
        ],
        flows: [
          { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80' },
          { name: 'external to LB', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: '10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80', masq: true },
        ],
      },
      {
        name: 'terminating endpoints on remote node',
        endpoints: [ep('10.0.1.5', false, true, true, 'node-1')],
        flows: [
          { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: '10.0.1.5:80' },
          { name: 'external to LB', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: '10.0.1.5:80', masq: true },
        ],
      },
      {
        name: 'no usable endpoints on any node',
        endpoints: [ep('10.0.1.5', false, false, true, 'test-node'), ep('10.0.1.5', false, false, true, 'node-1')],
        flows: [
          { name: 'pod to clusterIP', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: 'REJECT' },
          { name: 'external to LB', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
        ],
      },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const slice = makeSlice('ns1', 'svc1', 1, { endpoints: tc.endpoints, ports: [{ name: '', port: 80, protocol: 'TCP' }] });
        const { fp, ipt } = sync([service], [slice]);
        runFlows(ipt, tc.flows);
        fp.onEndpointSliceDelete(slice);
        fp.syncProxyRules();
        runFlows(ipt, [
          { name: 'pod to clusterIP after endpoints deleted', sourceIP: '10.0.0.2', destIP: '172.30.1.1', destPort: 80, output: 'REJECT' },
          { name: 'external to LB after endpoints deleted', sourceIP: EXT, destIP: '1.2.3.4', destPort: 80, output: 'REJECT' },
        ]);
      });
    }
  });
});
