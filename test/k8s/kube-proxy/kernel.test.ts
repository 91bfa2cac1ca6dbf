// Real-kernel check (root): the payloads kube-proxy generates load into a real network
// namespace with the real iptables-restore and ipset, and the partial-sync sequence of
// upstream TestSyncProxyRulesRepeated behaves the same against the kernel as against the
// in-memory backend, including the refused deletion of a still-referenced chain.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { EndpointSlice } from '../../../src/k8s/api/types.js';
import type { IptablesBackend, TableName } from '../../../src/k8s/kube-proxy/backend.js';
import { kubeProxyConfig } from '../../../src/k8s/kube-proxy/config.js';
import { IptablesProxier, jumpRulesRestoreText } from '../../../src/k8s/kube-proxy/iptables.js';
import { IpvsProxier, MemoryIpvs, MemoryNetlink } from '../../../src/k8s/kube-proxy/ipvs.js';
import { sortDump } from '../../../src/k8s/kube-proxy/restore-dump.js';
import { missing } from '../../helpers/tools.js';
import { loadFixture, makeService, makeSlice } from './harness.js';

const why = missing({ tools: ['ip', 'iptables', 'iptables-restore', 'iptables-save', 'ipset'], root: true });
const PREFIX = `kwt-kproxy-${process.pid}-`;
const made: string[] = [];

function ns(name: string): string {
  const n = PREFIX + name;
  execFileSync('ip', ['netns', 'add', n]);
  made.push(n);
  return n;
}
function inNs(n: string, cmd: string, args: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', n, cmd, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}), stdio: ['pipe', 'pipe', 'pipe'] });
}

/** IptablesBackend over the real tools inside one namespace. */
class KernelIptables implements IptablesBackend {
  constructor(
    readonly netns: string,
    readonly hasRandomFully = false,
  ) {}
  restoreAll(text: string): void {
    inNs(this.netns, 'iptables-restore', ['--noflush', '--counters'], text);
  }
  listChains(table: TableName): string[] {
    return inNs(this.netns, 'iptables-save', ['-t', table])
      .split('\n')
      .filter((l) => l.startsWith(':'))
      .map((l) => l.slice(1).split(' ')[0]!);
  }
  ensureChain(table: TableName, chain: string): boolean {
    if (this.listChains(table).includes(chain)) return true;
    inNs(this.netns, 'iptables', ['-t', table, '-N', chain]);
    return false;
  }
  ensureRule(position: 'prepend' | 'append', table: TableName, chain: string, args: readonly string[]): boolean {
    try {
      inNs(this.netns, 'iptables', ['-t', table, '-C', chain, ...args]);
      return true;
    } catch {
      inNs(this.netns, 'iptables', ['-t', table, position === 'prepend' ? '-I' : '-A', chain, ...(position === 'prepend' ? ['1'] : []), ...args]);
      return false;
    }
  }
}

const golden = (n: string) => readFileSync(new URL(`../../golden/kube-proxy/iptables-repeated-${n}.txt`, import.meta.url), 'utf8');
/** Without nfacct (no counters can be created here) upstream omits the nfacct match. */
const noNfacct = (s: string) => s.replace(' -m nfacct --nfacct-name ct_state_invalid_dropped_pkts', '');

describe.skipIf(why !== null)('kube-proxy payloads in a real kernel', () => {
  afterAll(() => {
    for (const n of made) {
      try {
        execFileSync('ip', ['netns', 'del', n]);
      } catch {
        // already gone
      }
    }
  });

  it('iptables mode: jump rules and the TestOverallIPTablesRules payload load', async () => {
    const n = ns('overall');
    const ipt = new KernelIptables(n, true);
    const fp = new IptablesProxier({
      nodeName: 'test-node',
      nodeIP: '192.168.0.2',
      config: kubeProxyConfig({ clusterCIDR: '10.0.0.0/8' }),
      backend: ipt,
      masqueradeMark: '0x4000',
      nfacctCounters: { ctStateInvalidDropped: false, localhostNodePortsAccepted: false },
    });
    const { services, slices } = loadFixture('overall.yaml');
    for (const s of services) fp.onServiceAdd(s);
    for (const s of slices) fp.onEndpointSliceAdd(s);
    const r = fp.syncProxyRules();
    expect(r.error).toBeUndefined();
    expect(r.success).toBe(true);
    const saved = inNs(n, 'iptables-save', ['-t', 'nat']);
    expect(saved).toContain('-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(saved).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    // What the real iptables-save prints for it (header/footer comments dropped): the
    // normalised form the netfilter model's printer must reproduce.
    const save = (t: string) => inNs(n, 'iptables-save', ['-t', t]).split('\n').filter((l) => !l.startsWith('#')).join('\n');
    await expect(save('filter') + save('nat')).toMatchFileSnapshot('../../golden/kube-proxy/iptables-save-overall-kernel.txt');
    // The restore-form jump text loads as well (for models that take text).
    const n2 = ns('jumps');
    inNs(n2, 'iptables-restore', ['--noflush'], jumpRulesRestoreText());
    expect(inNs(n2, 'iptables-save', ['-t', 'filter'])).toContain('-A INPUT -j KUBE-FIREWALL');
  });

  it('iptables mode: the TestSyncProxyRulesRepeated sequence against the kernel', () => {
    const n = ns('repeated');
    const ipt = new KernelIptables(n);
    const fp = new IptablesProxier({
      nodeName: 'test-node',
      nodeIP: '192.168.0.2',
      config: kubeProxyConfig({ clusterCIDR: '10.0.0.0/8' }),
      backend: ipt,
      masqueradeMark: '0x4000',
      nfacctCounters: { ctStateInvalidDropped: false, localhostNodePortsAccepted: false },
    });
    const tcp = (name: string, port: number) => [{ name, port, protocol: 'TCP' as const }];
    const slice = (nsn: string, svc: string, ips: string[], pn: string, port: number): EndpointSlice =>
      makeSlice(nsn, svc, 1, { endpoints: ips.map((ip) => ({ addresses: [ip] })), ports: tcp(pn, port) });
    const svc2 = makeService('ns2', 'svc2', { type: 'ClusterIP', clusterIP: '172.30.0.42', ports: tcp('p8080', 8080) });
    fp.onServiceAdd(makeService('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '172.30.0.41', ports: tcp('p80', 80) }));
    fp.onServiceAdd(svc2);
    fp.onEndpointSliceAdd(slice('ns1', 'svc1', ['10.0.1.1'], 'p80', 80));
    fp.onEndpointSliceAdd(slice('ns2', 'svc2', ['10.0.2.1'], 'p8080', 8080));
    const step = (name: string) => {
      const r = fp.syncProxyRules();
      expect(r.error).toBeUndefined();
      expect(sortDump(r.restoreText)).toBe(noNfacct(golden(name)));
    };
    step('1-initial');
    fp.onServiceAdd(makeService('ns3', 'svc3', { type: 'ClusterIP', clusterIP: '172.30.0.43', ports: tcp('p80', 80) }));
    const eps3 = slice('ns3', 'svc3', ['10.0.3.1'], 'p80', 80);
    fp.onEndpointSliceAdd(eps3);
    step('2-add-svc3');
    fp.onServiceDelete(svc2);
    step('3-delete-svc2');
    expect(ipt.listChains('nat')).not.toContain('KUBE-SVC-2VJB64SDSIJUP5T6');
    const svc4 = makeService('ns4', 'svc4', { type: 'ClusterIP', clusterIP: '172.30.0.44', ports: tcp('p80', 80) });
    fp.onServiceAdd(svc4);
    step('4-add-svc4-no-endpoints');
    fp.onEndpointSliceAdd(slice('ns4', 'svc4', ['10.0.4.1'], 'p80', 80));
    step('5-add-svc4-endpoints');
    const u1 = structuredClone(eps3);
    u1.endpoints[0]!.addresses[0] = '10.0.3.2';
    fp.onEndpointSliceUpdate(eps3, u1);
    step('6-change-endpoint');
    const u2 = structuredClone(u1);
    u2.endpoints.push({ addresses: ['10.0.3.3'] });
    fp.onEndpointSliceUpdate(u1, u2);
    step('7-add-endpoint');
    step('8-no-change');
    ipt.ensureRule('append', 'nat', 'KUBE-SVC-X27LE4BHSL4DOUIK', ['-j', 'KUBE-SEP-AYCN5HPXMIRJNJXU']);
    fp.onServiceDelete(svc4);
    const failed = fp.syncProxyRules();
    expect(failed.success).toBe(false);
    expect(fp.needFullSync).toBe(true);
    expect(ipt.listChains('nat')).toContain('KUBE-SEP-AYCN5HPXMIRJNJXU');
    step('9-full-resync-after-failure');
    expect(ipt.listChains('nat')).not.toContain('KUBE-SEP-AYCN5HPXMIRJNJXU');
  });

  it('ipvs mode: the ipsets and the payload load (seed backend-service)', () => {
    const n = ns('ipvs');
    const ipt = new KernelIptables(n, true);
    const fp = new IpvsProxier({
      nodeName: '192.168.4.86',
      nodeIP: '192.168.4.86',
      config: kubeProxyConfig({ mode: 'ipvs', clusterCIDR: '10.42.0.0/16' }),
      iptables: ipt,
      ipvs: new MemoryIpvs(),
      netlink: new MemoryNetlink({ eth0: ['192.168.4.86'] }),
      ipset: {
        apply: (ops) => {
          const lines = ops.map((o) => (o.op === 'create' ? `create ${o.set} ${o.type} ${o.options} -exist` : o.op === 'add' ? `add ${o.set} ${o.entry} -exist` : `del ${o.set} ${o.entry}`));
          if (lines.length > 0) inNs(n, 'ipset', ['restore'], lines.join('\n') + '\n');
        },
      },
    });
    const { services, slices } = loadFixture('seed-backend-service.yaml');
    for (const s of services) fp.onServiceAdd(s);
    for (const s of slices) fp.onEndpointSliceAdd(s);
    // The sets are created and filled before the restore that references them.
    const r = fp.syncProxyRules();
    expect(r.error).toBeUndefined();
    expect(r.success).toBe(true);
    expect(inNs(n, 'ipset', ['list', 'KUBE-CLUSTER-IP'])).toContain('10.43.199.15,tcp:18888');
    expect(inNs(n, 'iptables-save', ['-t', 'nat'])).toContain(
      '-A KUBE-SERVICES ! -s 10.42.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
    );
  });
});
