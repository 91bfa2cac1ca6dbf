// The service and EndpointSlice change trackers: what kube-proxy's ServicePortMap and
// EndpointsMap hold (pkg/proxy servicechangetracker.go, endpointslicecache.go).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EndpointsTracker } from '../../../src/k8s/kube-proxy/endpoints.js';
import { ServiceTracker, servicePortNameString } from '../../../src/k8s/kube-proxy/service-port.js';
import { makeService, makeSlice } from './harness.js';

describe('ServiceTracker', () => {
  it('skips headless and ExternalName services (upstream TestBuildServiceMapServiceHeadless / ...TypeExternalName)', () => {
    const t = new ServiceTracker();
    t.update(undefined, makeService('somewhere-else', 'headless', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'rpc', port: 1234, protocol: 'UDP' }] }));
    t.update(undefined, makeService('somewhere-else', 'headless-without-port', { type: 'ClusterIP', clusterIP: 'None' }));
    t.update(undefined, makeService('somewhere-else', 'external-name', { type: 'ExternalName', clusterIP: '172.30.55.4', externalName: 'foo2.bar.com', ports: [{ name: 'blah', port: 1235, protocol: 'UDP' }] }));
    t.checkout();
    expect(t.svcPortMap.size).toBe(0);
    expect(t.healthCheckNodePorts().size).toBe(0);
  });

  it('tracks ports, health check node ports and removals (upstream TestBuildServiceMapAddRemove)', () => {
    const t = new ServiceTracker();
    const p = (name: string, protocol: 'TCP' | 'UDP' | 'SCTP', port: number, nodePort: number) => ({ name, protocol, port, nodePort });
    const services = [
      makeService('somewhere-else', 'cluster-ip', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [p('something', 'UDP', 1234, 4321), p('somethingelse', 'UDP', 1235, 5321), p('sctpport', 'SCTP', 1236, 6321)] }),
      makeService('somewhere-else', 'node-port', { type: 'NodePort', clusterIP: '172.30.55.10', ports: [p('blahblah', 'UDP', 345, 678), p('moreblahblah', 'TCP', 344, 677), p('muchmoreblah', 'SCTP', 343, 676)] }),
      makeService('somewhere', 'load-balancer', { type: 'LoadBalancer', clusterIP: '172.30.55.11', loadBalancerIP: '1.2.3.4', ports: [p('foobar', 'UDP', 8675, 30061), p('baz', 'UDP', 8676, 30062)] }, { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } }),
      makeService(
        'somewhere',
        'only-local-load-balancer',
        { type: 'LoadBalancer', clusterIP: '172.30.55.12', loadBalancerIP: '5.6.7.8', ports: [p('foobar2', 'UDP', 8677, 30063), p('baz', 'UDP', 8678, 30064)], externalTrafficPolicy: 'Local', healthCheckNodePort: 345 },
        { loadBalancer: { ingress: [{ ip: '5.6.7.8' }] } },
      ),
    ];
    for (const s of services) t.update(undefined, s);
    t.checkout();
    expect(t.svcPortMap.size).toBe(10);
    expect([...t.healthCheckNodePorts()]).toEqual([['somewhere/only-local-load-balancer', 345]]);
    const one = makeService('somewhere-else', 'cluster-ip', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [p('somethingelse', 'UDP', 1235, 5321)] });
    t.update(services[0], one);
    for (const s of services.slice(1)) t.update(s, undefined);
    const r = t.checkout();
    expect(t.svcPortMap.size).toBe(1);
    expect(t.healthCheckNodePorts().size).toBe(0);
    expect([...r.updatedServices].sort()).toEqual(['somewhere-else/cluster-ip', 'somewhere-else/node-port', 'somewhere/load-balancer', 'somewhere/only-local-load-balancer']);
    expect([...r.deletedUDPClusterIPs].sort()).toEqual(['172.30.55.10', '172.30.55.11', '172.30.55.12', '172.30.55.4']);
  });

  it('an update to the same spec is not a change (upstream TestBuildServiceMapServiceUpdate)', () => {
    const t = new ServiceTracker();
    const svc = makeService('somewhere', 'some-service', { type: 'ClusterIP', clusterIP: '172.30.55.4', ports: [{ name: 'something', port: 1234, protocol: 'UDP' }] });
    expect(t.update(undefined, svc)).toBe(true);
    t.checkout();
    expect(t.update(svc, structuredClone(svc))).toBe(false);
    expect(t.checkout().updatedServices.size).toBe(0);
  });

  it('names ports as ServicePortName.String()', () => {
    expect(servicePortNameString({ namespace: 'ns1', name: 'svc1', port: 'p80' })).toBe('ns1/svc1:p80');
    expect(servicePortNameString({ namespace: 'ns1', name: 'svc1', port: '' })).toBe('ns1/svc1');
  });
});

describe('EndpointsTracker', () => {
  it('merges slices, canonicalises IPs, prefers non-terminating duplicates, sorts by "ip:port"', () => {
    const t = new EndpointsTracker({ nodeName: 'test-node' });
    t.sliceUpdate(makeSlice('ns1', 'ep1', 1, { endpoints: [{ addresses: ['10.1.1.1'] }, { addresses: ['10.1.1.011'], conditions: { terminating: true, serving: true, ready: false } }], ports: [{ name: 'p11', port: 11, protocol: 'UDP' }] }), false);
    t.sliceUpdate(makeSlice('ns1', 'ep1', 2, { endpoints: [{ addresses: ['10.1.1.11'], nodeName: 'test-node' }], ports: [{ name: 'p11', port: 11, protocol: 'UDP' }] }), false);
    const r = t.checkout();
    expect([...r.updatedServices]).toEqual(['ns1/ep1']);
    const eps = t.endpointsMap.get('ns1/ep1:p11/UDP')!;
    expect(eps.map((e) => [e.endpoint, e.isLocal, e.ready])).toEqual([
      ['10.1.1.11:11', true, true],
      ['10.1.1.1:11', false, true],
    ]);
  });

  it('ignores slices of another address family, ports without a name or number', () => {
    const t = new EndpointsTracker({ nodeName: 'n' });
    const v6 = { ...makeSlice('ns1', 'ep1', 1, { endpoints: [{ addresses: ['fd00::1'] }], ports: [{ name: 'p', port: 1, protocol: 'TCP' }] }), addressType: 'IPv6' as const };
    expect(t.sliceUpdate(v6, false)).toBe(false);
    t.sliceUpdate(makeSlice('ns1', 'ep2', 1, { endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ port: 1, protocol: 'TCP' }, { name: 'zero', port: 0, protocol: 'TCP' }] }), false);
    t.checkout();
    expect(t.endpointsMap.size).toBe(0);
  });

  it('removing the last slice removes the endpoints; removing an unknown slice is no change', () => {
    const t = new EndpointsTracker({ nodeName: 'n' });
    const s = makeSlice('ns1', 'ep1', 1, { endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ name: '', port: 80, protocol: 'TCP' }] });
    t.sliceUpdate(s, false);
    t.checkout();
    expect(t.endpointsMap.get('ns1/ep1/TCP')!.map((e) => e.endpoint)).toEqual(['10.0.0.1:80']);
    expect(t.sliceUpdate(makeSlice('ns1', 'other', 9, { endpoints: [], ports: [] }), true)).toBe(false);
    t.sliceUpdate(s, true);
    expect([...t.checkout().updatedServices]).toEqual(['ns1/ep1']);
    expect(t.endpointsMap.size).toBe(0);
  });

  it('endpoint order is the byte order of "ip:port" whatever the slice order (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20, selector: ([x, y]) => `${x}.${y}` }), (octets) => {
        const t = new EndpointsTracker({ nodeName: 'n' });
        t.sliceUpdate(makeSlice('a', 'b', 1, { endpoints: octets.map(([x, y]) => ({ addresses: [`10.0.${x}.${y}`] })), ports: [{ name: 'p', port: 8, protocol: 'TCP' }] }), false);
        t.checkout();
        const got = t.endpointsMap.get('a/b:p/TCP')!.map((e) => e.endpoint);
        const want = octets.map(([x, y]) => `10.0.${x}.${y}:8`).sort();
        return JSON.stringify(got) === JSON.stringify(want);
      }),
    );
  });
});

describe('bad input', () => {
  it('an endpoint address that does not parse is skipped, never written into a rule', () => {
    const t = new EndpointsTracker({ nodeName: 'n' });
    t.sliceUpdate(makeSlice('ns1', 'ep1', 1, { endpoints: [{ addresses: ['not-an-ip'] }, { addresses: ['10.0.0.1'] }], ports: [{ name: 'p', port: 80, protocol: 'TCP' }] }), false);
    t.checkout();
    expect(t.endpointsMap.get('ns1/ep1:p/TCP')!.map((e) => e.endpoint)).toEqual(['10.0.0.1:80']);
  });

  it('a Service without ports, or with an unparsable cluster IP, programs nothing', () => {
    const t = new ServiceTracker();
    t.update(undefined, makeService('ns', 'a', { clusterIP: '10.0.0.1' }));
    t.update(undefined, makeService('ns', 'b', { clusterIP: 'ten.zero', ports: [{ port: 80 }] }));
    t.checkout();
    expect(t.svcPortMap.size).toBe(0);
  });
});
