// Upstream TestSyncProxyRulesLargeClusterMode: above 1000 endpoints the SEP and SVC->SEP
// comments are dropped, partial syncs do not rewrite old services, and stale chains are
// deleted at most once per syncPeriod. Also TestDropInvalidRule and TestMasqueradeRule.
import { describe, expect, it } from 'vitest';
import { MemoryIptables } from '../../../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../../../src/k8s/kube-proxy/config.js';
import { IptablesProxier, LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from '../../../src/k8s/kube-proxy/iptables.js';
import { parseDump } from '../../../src/k8s/kube-proxy/restore-dump.js';
import { makeService, makeSlice } from './harness.js';

/** countEndpointsAndComments: DNAT lines, those with a comment, and the one for `first`. */
function countEndpointsAndComments(data: string, first: string): [string, number, number] {
  let firstLine = '';
  let n = 0;
  let comments = 0;
  for (const l of data.split('\n')) {
    if (!l.startsWith('-A KUBE-SEP-') || !l.includes('-j DNAT')) continue;
    n++;
    if (l.includes('--comment')) comments++;
    if (l.includes(`--to-destination ${first}:`)) firstLine = l;
  }
  return [firstLine, n, comments];
}

function fake(now: () => number, opts: { tcpLiberal?: boolean; nfacct?: boolean; randomFully?: boolean } = {}) {
  const ipt = new MemoryIptables(opts.randomFully ?? false);
  const fp = new IptablesProxier({
    nodeName: 'test-node',
    nodeIP: '192.168.0.2',
    config: kubeProxyConfig({ clusterCIDR: '10.0.0.0/8' }),
    backend: ipt,
    masqueradeMark: '0x4000',
    now,
    conntrackTCPLiberal: opts.tcpLiberal ?? false,
    nfacctCounters: { ctStateInvalidDropped: opts.nfacct ?? true, localhostNodePortsAccepted: true },
  });
  return { fp, ipt };
}

const tcp = (name: string, port: number) => [{ name, port, protocol: 'TCP' as const }];

describe('iptables mode: upstream TestSyncProxyRulesLargeClusterMode', () => {
  it('drops comments above the threshold and delays stale-chain deletion', () => {
    let clock = 1e12;
    const { fp } = fake(() => clock);
    fp.onServiceAdd(makeService('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '172.30.0.41', ports: tcp('p80', 80) }));
    fp.onServiceAdd(makeService('ns2', 'svc2', { type: 'ClusterIP', clusterIP: '172.30.0.42', ports: tcp('p8080', 8080) }));
    fp.onServiceAdd(makeService('ns3', 'svc3', { type: 'ClusterIP', clusterIP: '172.30.0.43', ports: tcp('p8081', 8081) }));
    const half = LARGE_CLUSTER_ENDPOINTS_THRESHOLD / 2 - 1;
    const many = (a: number) => Array.from({ length: half }, (_, i) => ({ addresses: [`10.${a}.${i % 256}.${Math.floor(i / 256)}`] }));
    fp.onEndpointSliceAdd(makeSlice('ns1', 'svc1', 1, { endpoints: many(0), ports: tcp('p80', 80) }));
    fp.onEndpointSliceAdd(makeSlice('ns2', 'svc2', 1, { endpoints: many(1), ports: tcp('p8080', 8080) }));
    let r = fp.syncProxyRules();
    let expectedEndpoints = 2 * half;
    let [first, n, comments] = countEndpointsAndComments(r.restoreText, '10.0.0.0');
    expect(first).toBe('-A KUBE-SEP-DKGQUZGBKLTPAR56 -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
    expect(n).toBe(expectedEndpoints);
    expect(comments).toBe(n);

    fp.onEndpointSliceAdd(makeSlice('ns3', 'svc3', 1, { endpoints: ['203.0.113.4', '203.0.113.8', '203.0.113.12'].map((ip) => ({ addresses: [ip] })), ports: tcp('p8081', 8081) }));
    r = fp.syncProxyRules();
    [first, n, comments] = countEndpointsAndComments(r.restoreText, '203.0.113.4');
    expect(first).toBe('-A KUBE-SEP-RUVVH7YV3PHQBDOS -m tcp -p tcp -j DNAT --to-destination 203.0.113.4:8081');
    expect(n).toBe(3); // only svc3 is written on the partial sync
    expect(comments).toBe(0);
    expect(r.metrics.largeClusterMode).toBe(true);

    r = fp.forceFullSync();
    expectedEndpoints += 3;
    [first, n, comments] = countEndpointsAndComments(r.restoreText, '10.0.0.0');
    expect(first).toBe('-A KUBE-SEP-DKGQUZGBKLTPAR56 -m tcp -p tcp -j DNAT --to-destination 10.0.0.0:80');
    expect(n).toBe(expectedEndpoints);
    expect(comments).toBe(0);

    const svc4 = makeService('ns4', 'svc4', { type: 'ClusterIP', clusterIP: '172.30.0.44', ports: tcp('p8082', 8082) });
    fp.onServiceAdd(svc4);
    fp.onEndpointSliceAdd(makeSlice('ns4', 'svc4', 1, { endpoints: [{ addresses: ['10.4.0.1'] }], ports: tcp('p8082', 8082) }));
    r = fp.syncProxyRules();
    [first, n] = countEndpointsAndComments(r.restoreText, '10.4.0.1');
    expect(first).toBe('-A KUBE-SEP-SU5STNODRYEWJAUF -m tcp -p tcp -j DNAT --to-destination 10.4.0.1:8082');
    expect(n).toBe(1);

    // Deleting a service in large-cluster mode does not delete its chains right away...
    clock += 1e9; // well inside syncPeriod (30s) of the last cleanup
    fp.onServiceDelete(svc4);
    r = fp.syncProxyRules();
    [first, n] = countEndpointsAndComments(r.restoreText, '10.4.0.1');
    expect(first).toBe('');
    expect(n).toBe(0);
    expect(r.restoreText).not.toContain('-X ');

    // ...but a sync after more than syncPeriod does.
    clock += 31e9;
    r = fp.syncProxyRules();
    expect(r.restoreText).toContain('-X KUBE-SVC-EBDQOQU5SJFXRIL3');
    expect(r.restoreText).toContain('-X KUBE-SEP-SU5STNODRYEWJAUF');

    r = fp.forceFullSync();
    [, n] = countEndpointsAndComments(r.restoreText, '10.0.0.0');
    expect(n).toBe(expectedEndpoints);
  });

  it('a partial sync turns full once FullSyncPeriod (1h) has passed', () => {
    let clock = 0;
    const { fp } = fake(() => clock);
    expect(fp.syncProxyRules().fullSync).toBe(true);
    clock += 60e9;
    expect(fp.syncProxyRules().fullSync).toBe(false);
    clock += 3600e9;
    expect(fp.syncProxyRules().fullSync).toBe(true);
  });
});

describe('iptables mode: upstream TestDropInvalidRule and TestMasqueradeRule', () => {
  const forward = (data: string, table: string, chain: string) =>
    parseDump(data).find((t) => t.name === table)!.chains.find((c) => c.name === chain)!.rules.map((r) => r.raw);
  const tail = [
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ];
  it.each([
    { nfacct: false, tcpLiberal: false, drop: ['-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP'] },
    { nfacct: true, tcpLiberal: false, drop: ['-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP'] },
    { nfacct: false, tcpLiberal: true, drop: [] },
  ])('nfacct $nfacct, tcpLiberal $tcpLiberal', ({ nfacct, tcpLiberal, drop }) => {
    const { fp } = fake(() => 0, { nfacct, tcpLiberal });
    expect(forward(fp.syncProxyRules().restoreText, 'filter', 'KUBE-FORWARD')).toEqual([...drop, ...tail]);
  });
  it.each([false, true])('randomFully %s', (randomFully) => {
    const { fp } = fake(() => 0, { randomFully });
    expect(forward(fp.syncProxyRules().restoreText, 'nat', 'KUBE-POSTROUTING')).toEqual([
      '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
      '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
      `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`,
    ]);
  });
  it('uses the %#08x mark when not injected (real kube-proxy)', () => {
    const fp = new IptablesProxier({ nodeName: 'n', nodeIP: '192.168.0.2', backend: new MemoryIptables(true) });
    const t = fp.syncProxyRules().restoreText;
    expect(t).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000\n');
    // No --cluster-cidr: no local-traffic detector, so no "! -s" masquerade rule is possible.
    expect(fp.localDetector).toBeNull();
  });
});

describe('local traffic detectors (detect-local-mode)', () => {
  const masqRule = (config: Parameters<typeof kubeProxyConfig>[0], nodePodCIDR?: string) => {
    const fp = new IptablesProxier({
      nodeName: 'n',
      nodeIP: '192.168.0.2',
      config: kubeProxyConfig(config),
      backend: new MemoryIptables(false),
      masqueradeMark: '0x4000',
      ...(nodePodCIDR !== undefined ? { nodePodCIDR } : {}),
    });
    fp.onServiceAdd(makeService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: tcp('p80', 80) }));
    fp.onEndpointSliceAdd(makeSlice('ns1', 'svc1', 1, { endpoints: [{ addresses: ['10.180.0.1'] }], ports: tcp('p80', 80) }));
    return fp
      .syncProxyRules()
      .restoreText.split('\n')
      .filter((l) => l.startsWith('-A KUBE-SVC-') && l.includes('KUBE-MARK-MASQ'));
  };
  const base = '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80';
  it.each([
    [{ clusterCIDR: '10.0.0.0/8' }, undefined, `${base} ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ`],
    [{ clusterCIDR: '10.42.0.0/16,fd00:10::/56' }, undefined, `${base} ! -s 10.42.0.0/16 -j KUBE-MARK-MASQ`],
    [{ detectLocalMode: 'NodeCIDR' as const }, '10.42.1.0/24', `${base} ! -s 10.42.1.0/24 -j KUBE-MARK-MASQ`],
    [{ detectLocalMode: 'BridgeInterface' as const, detectLocal: { bridgeInterface: 'cni0' } }, undefined, `${base} ! -i cni0 -j KUBE-MARK-MASQ`],
    [{ detectLocalMode: 'InterfaceNamePrefix' as const, detectLocal: { interfaceNamePrefix: 'cali' } }, undefined, `${base} ! -i cali+ -j KUBE-MARK-MASQ`],
    [{ clusterCIDR: '10.0.0.0/8', iptables: { masqueradeAll: true } }, undefined, `${base} -j KUBE-MARK-MASQ`],
  ])('%j', (config, podCIDR, rule) => {
    expect(masqRule(config, podCIDR)).toEqual([rule]);
  });
  it('no detector (no --cluster-cidr): no masquerade rule at all', () => {
    expect(masqRule({})).toEqual([]);
  });
});

describe('nodePortAddresses: primary', () => {
  it('"primary" means the node IP only', () => {
    const fp = new IptablesProxier({
      nodeName: 'n',
      nodeIP: '192.168.0.2',
      config: kubeProxyConfig({ clusterCIDR: '10.0.0.0/8', nodePortAddresses: ['primary'] }),
      backend: new MemoryIptables(false),
      masqueradeMark: '0x4000',
      interfaceAddrs: ['127.0.0.1/8', '192.168.0.2/24', '192.168.1.2/24'],
    });
    const tail = fp.syncProxyRules().restoreText.split('\n').filter((l) => l.includes('must be the last rule'));
    expect(tail).toEqual(['-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS']);
    // nodePortAddresses without loopback disables localhost NodePorts (and KUBE-FIREWALL).
    expect(fp.localhostNodePorts).toBe(false);
    expect(fp.sysctls).toEqual([]);
  });
});
