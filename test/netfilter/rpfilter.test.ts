import { describe, it, expect } from 'vitest';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { NF_ACCEPT, NF_DROP } from '../../src/netfilter/hooks.js';
import { cidrContains, parseCidr, type Ipv4Addr } from '../../src/wire/ipv4-address.js';
import { FakeNetns, packet, hookState } from './helpers.js';

/** A namespace with a FIB: routes as (cidr, type, device), longest prefix first. */
class FibNetns extends FakeNetns {
  routes: { cidr: string; type: string; dev: string }[] = [];
  fibLookup(dst: Ipv4Addr): { type: string; dev: { name: string } | null } | undefined {
    const hit = this.routes
      .filter((r) => cidrContains(parseCidr(r.cidr), dst))
      .sort((a, b) => parseCidr(b.cidr).len - parseCidr(a.cidr).len)[0];
    return hit ? { type: hit.type, dev: { name: hit.dev } } : undefined;
  }
}

function node(): { ns: FibNetns; nf: Netfilter } {
  const ns = new FibNetns(3);
  ns.routes.push(
    { cidr: '0.0.0.0/0', type: 'unicast', dev: 'eth0' },
    { cidr: '10.42.4.15/32', type: 'unicast', dev: 'cali18e95c70453' },
    { cidr: '192.168.4.88/32', type: 'local', dev: 'eth0' },
  );
  const nf = new Netfilter(ns);
  // Felix's raw cali-PREROUTING anti-spoofing rules, as it writes them.
  nf.restore(
    [
      '*raw',
      ':cali-PREROUTING - -',
      '-A cali-PREROUTING --in-interface cali+ --jump MARK --set-mark 0x80000/0x80000',
      '-A cali-PREROUTING -m mark --mark 0x80000/0x80000 -m rpfilter --invert --validmark --jump DROP',
      '-I PREROUTING --jump cali-PREROUTING',
      'COMMIT',
      '',
    ].join('\n'),
    { noflush: true },
  );
  return { ns, nf };
}

const pre = (nf: Netfilter, src: string, inDev: string): number =>
  nf.runHook('PREROUTING', packet({ src, dst: '122.14.236.25', dport: 80 }), hookState(nf.netns, 'PREROUTING', inDev, null));

describe('rpfilter match (ipt_rpfilter)', () => {
  it('iptables-save prints the flags in libxt_rpfilter order: --validmark before --invert', () => {
    const { nf } = node();
    expect(nf.save({ table: 'raw', header: false })).toContain('-A cali-PREROUTING -m mark --mark 0x80000/0x80000 -m rpfilter --validmark --invert -j DROP');
  });

  it('passes a pod packet whose source routes back through its own veth; drops a spoofed source', () => {
    const { nf } = node();
    expect(pre(nf, '10.42.4.15', 'cali18e95c70453')).toBe(NF_ACCEPT);
    // 10.42.4.99 routes back via eth0 (default), not the veth it came in on.
    expect(pre(nf, '10.42.4.99', 'cali18e95c70453')).toBe(NF_DROP);
    // The same spoofed source from eth0 is not from a workload: the rule's mark does not match.
    expect(pre(nf, '10.42.4.99', 'eth0')).toBe(NF_ACCEPT);
  });

  it('a local source fails without --accept-local; --loose takes any device', () => {
    const { nf } = node();
    expect(pre(nf, '192.168.4.88', 'cali18e95c70453')).toBe(NF_DROP);
    const n2 = node();
    n2.nf.restore('*raw\n-R cali-PREROUTING 2 -m mark --mark 0x80000/0x80000 -m rpfilter --loose --invert -j DROP\nCOMMIT\n', { noflush: true });
    expect(n2.nf.save({ table: 'raw', header: false })).toContain('-m rpfilter --loose --invert -j DROP');
    expect(pre(n2.nf, '10.42.4.99', 'cali18e95c70453')).toBe(NF_ACCEPT);
  });

  it('is refused outside the raw and mangle tables, leaving the ruleset as it was', () => {
    const { nf } = node();
    const before = nf.save({ header: false });
    // As iptables-restore 1.8.9 (nf_tables) prints it against the kernel.
    expect(() => nf.restore('*filter\n-A FORWARD -m rpfilter -j DROP\nCOMMIT\n', { noflush: true })).toThrow(
      expect.objectContaining({ stderr: 'iptables-restore v1.8.9 (nf_tables): \nline 2: RULE_APPEND failed (Invalid argument): rule in chain FORWARD\n' }),
    );
    expect(nf.save({ header: false })).toBe(before);
  });
});
