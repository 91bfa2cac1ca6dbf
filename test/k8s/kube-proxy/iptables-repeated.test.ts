// Upstream TestSyncProxyRulesRepeated: full sync, then partial syncs as services and
// endpoints come and go; a partial restore that fails forces a full resync. Every expected
// payload is a golden file holding the Go test's expected string.
import { describe, expect, it } from 'vitest';
import type { EndpointSlice } from '../../../src/k8s/api/types.js';
import { parseDump, sortDump } from '../../../src/k8s/kube-proxy/restore-dump.js';
import { checkRuleJumps, makeService, makeSlice, newFakeProxier } from './harness.js';

const tcp = (name: string, port: number) => [{ name, port, protocol: 'TCP' as const }];
const slice = (ns: string, svc: string, ips: string[], portName: string, port: number): EndpointSlice =>
  makeSlice(ns, svc, 1, { endpoints: ips.map((ip) => ({ addresses: [ip] })), ports: tcp(portName, port) });

/** countRules(logger, nat, data): rules in the nat table of a payload. */
function natRuleCount(data: string): number {
  const nat = parseDump(data).find((t) => t.name === 'nat')!;
  return nat.chains.reduce((n, c) => n + c.rules.length, 0);
}

describe('iptables mode: upstream TestSyncProxyRulesRepeated', () => {
  it('reproduces every step', async () => {
    const { fp, ipt } = newFakeProxier();
    const golden = (n: string) => `../../golden/kube-proxy/iptables-repeated-${n}.txt`;
    const svc1 = makeService('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '172.30.0.41', ports: tcp('p80', 80) });
    const svc2 = makeService('ns2', 'svc2', { type: 'ClusterIP', clusterIP: '172.30.0.42', ports: tcp('p8080', 8080) });
    fp.onServiceAdd(svc1);
    fp.onServiceAdd(svc2);
    fp.onEndpointSliceAdd(slice('ns1', 'svc1', ['10.0.1.1'], 'p80', 80));
    fp.onEndpointSliceAdd(slice('ns2', 'svc2', ['10.0.2.1'], 'p8080', 8080));

    let r = fp.syncProxyRules();
    expect(r.fullSync).toBe(true);
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('1-initial'));
    expect(checkRuleJumps(r.restoreText)).toBeNull();
    expect(r.metrics.natRulesLastSync).toBe(natRuleCount(r.restoreText));
    let rulesTotal = r.metrics.natRulesLastSync;
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    // Add a service and its endpoints: only its SVC and SEP chains are written.
    fp.onServiceAdd(makeService('ns3', 'svc3', { type: 'ClusterIP', clusterIP: '172.30.0.43', ports: tcp('p80', 80) }));
    const eps3 = slice('ns3', 'svc3', ['10.0.3.1'], 'p80', 80);
    fp.onEndpointSliceAdd(eps3);
    r = fp.syncProxyRules();
    expect(r.fullSync).toBe(false);
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('2-add-svc3'));
    expect(r.metrics.natRulesLastSync).toBe(natRuleCount(r.restoreText));
    rulesTotal += 5;
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    // Delete a service: its chains are flushed and deleted.
    fp.onServiceDelete(svc2);
    r = fp.syncProxyRules();
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('3-delete-svc2'));
    expect(r.metrics.natRulesLastSync).toBe(natRuleCount(r.restoreText));
    rulesTotal -= 5;
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    // A service without endpoints only gets the filter REJECT rule.
    const svc4 = makeService('ns4', 'svc4', { type: 'ClusterIP', clusterIP: '172.30.0.44', ports: tcp('p80', 80) });
    fp.onServiceAdd(svc4);
    r = fp.syncProxyRules();
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('4-add-svc4-no-endpoints'));
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    fp.onEndpointSliceAdd(slice('ns4', 'svc4', ['10.0.4.1'], 'p80', 80));
    r = fp.syncProxyRules();
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('5-add-svc4-endpoints'));
    rulesTotal += 5;
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    // Change an endpoint: svc3's SVC and SEP chains are rewritten, the old SEP deleted.
    const eps3update = structuredClone(eps3);
    eps3update.endpoints[0]!.addresses[0] = '10.0.3.2';
    fp.onEndpointSliceUpdate(eps3, eps3update);
    r = fp.syncProxyRules();
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('6-change-endpoint'));
    expect(r.metrics.natRulesLastSync).toBe(natRuleCount(r.restoreText));
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    // Add an endpoint.
    const eps3update2 = structuredClone(eps3update);
    eps3update2.endpoints.push({ addresses: ['10.0.3.3'] });
    fp.onEndpointSliceUpdate(eps3update, eps3update2);
    r = fp.syncProxyRules();
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('7-add-endpoint'));
    rulesTotal += 3;
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    // No changes: no SVC or SEP chain is rewritten.
    r = fp.syncProxyRules();
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('8-no-change'));
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);

    // A dangling jump from svc3's chain to svc4's endpoint makes the partial restore that
    // deletes svc4 fail; the proxier then needs a full sync.
    expect(fp.needFullSync).toBe(false);
    expect(ipt.listChains('nat')).toContain('KUBE-SEP-AYCN5HPXMIRJNJXU');
    ipt.ensureRule('append', 'nat', 'KUBE-SVC-X27LE4BHSL4DOUIK', ['-j', 'KUBE-SEP-AYCN5HPXMIRJNJXU']);
    fp.onServiceDelete(svc4);
    r = fp.syncProxyRules();
    expect(r.success).toBe(false);
    expect(r.fullSync).toBe(false);
    expect(r.error?.message).toMatch(/KUBE-SEP-AYCN5HPXMIRJNJXU/);
    expect(ipt.listChains('nat')).toContain('KUBE-SEP-AYCN5HPXMIRJNJXU');
    expect(fp.needFullSync).toBe(true);

    // The retry is a full resync, which rewrites svc3 too and succeeds.
    r = fp.syncProxyRules();
    expect(r.success).toBe(true);
    expect(r.fullSync).toBe(true);
    await expect(sortDump(r.restoreText)).toMatchFileSnapshot(golden('9-full-resync-after-failure'));
    expect(r.metrics.natRulesLastSync).toBe(natRuleCount(r.restoreText));
    rulesTotal -= 5;
    expect(r.metrics.natRulesTotal).toBe(rulesTotal);
    expect(ipt.listChains('nat')).not.toContain('KUBE-SEP-AYCN5HPXMIRJNJXU');
  });

  it('ensures the jump rules on full syncs only, ending in upstream order', () => {
    const { fp, ipt } = newFakeProxier();
    const first = fp.syncProxyRules();
    expect(first.ensuredJumps).toHaveLength(14);
    const second = fp.syncProxyRules();
    expect(second.fullSync).toBe(false);
    expect(second.ensuredJumps).toHaveLength(0);
    const chain = (t: string, c: string) => ipt.tables.find((x) => x.name === t)!.chains.find((x) => x.name === c)!.rules.map((r) => r.raw);
    // -I 1 in code order: the last ensured ends up first (reference kube-proxy.md 1.2).
    expect(chain('filter', 'INPUT')).toEqual([
      '-A INPUT -j KUBE-FIREWALL',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment kubernetes load balancer firewall -j KUBE-PROXY-FIREWALL',
      '-A INPUT -m comment --comment kubernetes health check service ports -j KUBE-NODEPORTS',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment kubernetes externally-visible service portals -j KUBE-EXTERNAL-SERVICES',
    ]);
    expect(chain('nat', 'PREROUTING')).toEqual(['-A PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES']);
    // A forced resync (canary gone) ensures them again without duplicating.
    const forced = fp.forceFullSync();
    expect(forced.ensuredJumps).toHaveLength(14);
    expect(chain('filter', 'FORWARD')).toHaveLength(4);
  });
});
