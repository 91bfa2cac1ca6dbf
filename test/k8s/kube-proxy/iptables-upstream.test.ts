// Reproduces the expected iptables-restore payloads of upstream
// pkg/proxy/iptables/proxier_test.go (TestOverallIPTablesRules, TestBadIPs), compared as
// upstream's assertIPTablesRulesEqual does: the generated payload is sorted with
// sortIPTablesRules and must equal the expected text exactly. The golden files hold the
// expected strings of the Go test.
import { describe, expect, it } from 'vitest';
import { sortDump } from '../../../src/k8s/kube-proxy/restore-dump.js';
import { checkRuleJumps, loadFixture, newFakeProxier } from './harness.js';

function syncFixture(name: string) {
  const { fp, ipt } = newFakeProxier();
  const { services, slices } = loadFixture(name);
  for (const s of services) fp.onServiceAdd(s);
  for (const s of slices) fp.onEndpointSliceAdd(s);
  return { result: fp.syncProxyRules(), ipt };
}

describe('iptables mode: upstream TestOverallIPTablesRules', () => {
  it('produces the expected payload (sorted as upstream compares)', async () => {
    const { result } = syncFixture('overall.yaml');
    expect(result.success).toBe(true);
    expect(result.fullSync).toBe(true);
    await expect(sortDump(result.restoreText)).toMatchFileSnapshot('../../golden/kube-proxy/iptables-overall.txt');
  });

  it('is self-consistent (upstream checkIPTablesRuleJumps)', () => {
    const { result } = syncFixture('overall.yaml');
    expect(checkRuleJumps(result.restoreText)).toBeNull();
  });

  it('counts nat rules as the metric does', () => {
    const { result } = syncFixture('overall.yaml');
    const natRules = result.restoreText.split('*nat\n')[1]!.split('\n').filter((l) => l.startsWith('-A ')).length;
    expect(result.metrics.natRulesTotal).toBe(natRules);
    expect(result.metrics.natRulesLastSync).toBe(natRules);
  });

  it('writes filter before nat, top-level chain lines first (restore order)', () => {
    const { result } = syncFixture('overall.yaml');
    const lines = result.restoreText.split('\n');
    expect(lines.slice(0, 7)).toEqual([
      '*filter',
      ':KUBE-SERVICES - [0:0]',
      ':KUBE-EXTERNAL-SERVICES - [0:0]',
      ':KUBE-FORWARD - [0:0]',
      ':KUBE-NODEPORTS - [0:0]',
      ':KUBE-PROXY-FIREWALL - [0:0]',
      ':KUBE-FIREWALL - [0:0]',
    ]);
    const nat = lines.indexOf('*nat');
    expect(lines.slice(nat + 1, nat + 5)).toEqual([':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]', ':KUBE-POSTROUTING - [0:0]', ':KUBE-MARK-MASQ - [0:0]']);
    const natRules = lines.slice(nat).filter((l) => l.startsWith('-A'));
    expect(natRules[0]).toBe('-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN');
    // The NodePort tail rule is the last KUBE-SERVICES rule.
    const svcRules = natRules.filter((l) => l.startsWith('-A KUBE-SERVICES '));
    expect(svcRules.at(-1)).toContain('must be the last rule in this chain');
  });
});

describe('iptables mode: upstream TestBadIPs', () => {
  it('canonicalises IPs and CIDRs in the payload', async () => {
    const { result } = syncFixture('bad-ips.yaml');
    expect(result.success).toBe(true);
    await expect(sortDump(result.restoreText)).toMatchFileSnapshot('../../golden/kube-proxy/iptables-bad-ips.txt');
    expect(checkRuleJumps(result.restoreText)).toBeNull();
  });
});
