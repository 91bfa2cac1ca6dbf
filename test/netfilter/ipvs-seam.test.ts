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

describe('conntrack sysctls', () => {
  it('kube-proxy timeouts change what conntrack -L shows', () => {
    const ns = new FakeNetns();
    const nf = new Netfilter(ns, { conntrackHooks: 'on' });
    nf.restore('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
    expect(nf.setSysctl('net/netfilter/nf_conntrack_tcp_timeout_established', 86400)).toBe(true);
    expect(nf.setSysctl('net.netfilter.nf_conntrack_udp_timeout', 60)).toBe(true);
    expect(nf.setSysctl('net.ipv4.ip_forward', 1)).toBe(false);
    const syn = packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 0x02 });
    nf.runHook('PREROUTING', syn, hookState(ns, 'PREROUTING', 'eth0', null));
    nf.runHook('INPUT', syn, hookState(ns, 'INPUT', 'eth0', null));
    const sa = packet({ src: '10.0.0.2', dst: '10.0.0.1', sport: 2, dport: 1, flags: 0x12 });
    nf.runHook('OUTPUT', sa, hookState(ns, 'OUTPUT', null, 'eth0'));
    nf.runHook('POSTROUTING', sa, hookState(ns, 'POSTROUTING', null, 'eth0'));
    const ack = packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: 0x10 });
    nf.runHook('PREROUTING', ack, hookState(ns, 'PREROUTING', 'eth0', null));
    const u = packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 9, dport: 9 });
    nf.runHook('PREROUTING', u, hookState(ns, 'PREROUTING', 'eth0', null));
    nf.runHook('INPUT', u, hookState(ns, 'INPUT', 'eth0', null));
    expect(nf.conntrackList()).toMatch(/^tcp {6}6 86400 ESTABLISHED .*\nudp {6}17 60 /);
  });
});
