import { describe, it, expect } from 'vitest';
import type { IpvsConntrack } from '../../src/ipvs/hooks.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { FakeNetns, packet, hookState } from './helpers.js';
import { parseIpv4 } from '../../src/wire/ipv4-address.js';

describe('conntrack seam for IPVS (ip_vs_nfct.c)', () => {
  it('updates the reply tuple of an unconfirmed Masq entry, then reports it confirmed', () => {
    const ns = new FakeNetns();
    const nf = new Netfilter(ns, { conntrackHooks: 'on' });
    nf.restore('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
    const seam: IpvsConntrack = nf.ipvsConntrack();
    const p = packet({ src: '10.42.4.15', dst: '10.43.199.15', sport: 40000, dport: 18888 });
    nf.runHook('OUTPUT', p, hookState(ns, 'OUTPUT', null, 'kube-ipvs0'));
    expect(seam.isConfirmed(p)).toBe(false);
    const conn = { flags: 0, daddr: parseIpv4('10.42.0.134'), dport: 18888, vaddr: parseIpv4('10.43.199.15'), vport: 18888 };
    (seam.update as (p: unknown, c: unknown, o: boolean) => void)(p, conn, true);
    nf.runHook('POSTROUTING', p, hookState(ns, 'POSTROUTING', null, 'eth0'));
    expect(seam.isConfirmed(p)).toBe(true);
    expect(nf.conntrackList()).toBe('tcp      6 120 SYN_SENT src=10.42.4.15 dst=10.43.199.15 sport=40000 dport=18888 [UNREPLIED] src=10.42.0.134 dst=10.42.4.15 sport=18888 dport=40000 mark=0 use=1\n');
    const q = packet({ src: '10.42.4.15', dst: '10.43.199.15', sport: 40001, dport: 18888 });
    seam.notrack(q);
    nf.runHook('OUTPUT', q, hookState(ns, 'OUTPUT', null, 'eth0'));
    nf.runHook('POSTROUTING', q, hookState(ns, 'POSTROUTING', null, 'eth0'));
    expect(nf.conntrack.count).toBe(1);
  });
});
