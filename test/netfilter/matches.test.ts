import { describe, it, expect } from 'vitest';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { NF_ACCEPT, NF_DROP } from '../../src/netfilter/hooks.js';
import { FakeNetns, packet, deliver, forward, hookState, SYN, ACK, FIN, type PktOpts } from './helpers.js';
import { probabilityToU32 } from '../../src/netfilter/matches/statistic.js';
import type { NfHookState } from '../../src/netfilter/hooks.js';

function nfWith(rule: string, ns = new FakeNetns()): Netfilter {
  const nf = new Netfilter(ns);
  nf.restore(`*filter\n-A INPUT ${rule} -j DROP\nCOMMIT\n`);
  return nf;
}

function matches(rule: string, pkt: PktOpts, inDev = 'eth0', extra: Partial<NfHookState> = {}, ns?: FakeNetns): boolean {
  const nf = nfWith(rule, ns);
  return deliver(nf, packet(pkt), inDev, extra) === NF_DROP;
}

const tcp = (o: Partial<PktOpts> = {}): PktOpts => ({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'tcp', sport: 40000, dport: 80, ...o });
const udp = (o: Partial<PktOpts> = {}): PktOpts => ({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 40000, dport: 53, ...o });
const icmp = (o: Partial<PktOpts> = {}): PktOpts => ({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 8, ...o });

/** [rule, packet, in device, expected match] */
const CASES: [string, PktOpts, string, boolean][] = [
  ['-s 10.0.0.1', tcp(), 'eth0', true],
  ['-s 10.0.0.0/8', tcp(), 'eth0', true],
  ['! -s 10.0.0.0/8', tcp(), 'eth0', false],
  ['-s 10.0.0.0/255.255.255.0', tcp({ src: '10.0.1.1' }), 'eth0', false],
  ['-d 10.0.0.2/32', tcp(), 'eth0', true],
  ['! -d 10.0.0.2', tcp(), 'eth0', false],
  ['-i eth0', tcp(), 'eth0', true],
  ['-i eth+', tcp(), 'eth1', true],
  ['-i eth+', tcp(), 'cni0', false],
  ['! -i lo', tcp(), 'eth0', true],
  ['-p tcp', tcp(), 'eth0', true],
  ['-p udp', tcp(), 'eth0', false],
  ['! -p udp', tcp(), 'eth0', true],
  ['-p 17', udp(), 'eth0', true],
  ['-p tcp --dport 80', tcp(), 'eth0', true],
  ['-p tcp --dport 81', tcp(), 'eth0', false],
  ['-p tcp -m tcp --dport 70:90', tcp(), 'eth0', true],
  ['-p tcp -m tcp ! --dport 70:90', tcp(), 'eth0', false],
  ['-p tcp --sport 40000', tcp(), 'eth0', true],
  ['-p tcp ! --sport 40000', tcp(), 'eth0', false],
  ['-p tcp --dport :100', tcp(), 'eth0', true],
  ['-p tcp --syn', tcp({ flags: SYN }), 'eth0', true],
  ['-p tcp --syn', tcp({ flags: SYN | ACK }), 'eth0', false],
  ['-p tcp ! --syn', tcp({ flags: ACK }), 'eth0', true],
  ['-p tcp --tcp-flags SYN,ACK,FIN FIN', tcp({ flags: FIN }), 'eth0', true],
  ['-p tcp --tcp-flags ALL NONE', tcp({ flags: 0 }), 'eth0', true],
  ['-p udp --dport 53', udp(), 'eth0', true],
  ['-p udp -m udp --sport 1:100', udp(), 'eth0', false],
  ['-p tcp -m multiport --dports 22,80', tcp(), 'eth0', true],
  ['-p tcp -m multiport --dports 22,443:8000', tcp(), 'eth0', false],
  ['-p tcp -m multiport ! --dports 22', tcp(), 'eth0', true],
  ['-p tcp -m multiport --ports 40000', tcp(), 'eth0', true],
  ['-p tcp -m multiport --sports 1:39999', tcp(), 'eth0', false],
  ['-m comment --comment "any text"', tcp(), 'eth0', true],
  ['-p icmp --icmp-type echo-request', icmp(), 'eth0', true],
  ['-p icmp --icmp-type echo-reply', icmp(), 'eth0', false],
  ['-p icmp -m icmp --icmp-type 8/0', icmp(), 'eth0', true],
  ['-p icmp -m icmp --icmp-type any', icmp({ icmpType: 13 }), 'eth0', true],
  ['-p icmp -m icmp ! --icmp-type 8', icmp(), 'eth0', false],
  ['-m addrtype --dst-type LOCAL', tcp(), 'eth0', true],
  ['-m addrtype ! --dst-type LOCAL', tcp(), 'eth0', false],
  ['-m addrtype --src-type LOCAL', tcp(), 'eth0', false],
  ['-m addrtype --dst-type LOCAL --limit-iface-in', tcp(), 'eth0', true],
  ['-m addrtype --dst-type MULTICAST', tcp({ dst: '224.0.0.5' }), 'eth0', true],
  ['-f', tcp(), 'eth0', false],
  ['! -f', tcp(), 'eth0', true],
];

describe('matches on one packet', () => {
  it.each(CASES)('%s', (rule, pkt, dev, want) => {
    const ns = new FakeNetns();
    ns.addrs.push({ dev: 'eth0', addr: '10.0.0.2', cidr: '10.0.0.0/24' });
    expect(matches(rule, pkt, dev, {}, ns)).toBe(want);
  });
});

describe('mark match and MARK target', () => {
  it('--set-xmark, --or-mark, --and-mark, --xor-mark, then -m mark', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore(
      '*mangle\n-A PREROUTING -j MARK --set-mark 0xff00\n-A PREROUTING -j MARK --or-mark 0x4000\n-A PREROUTING -j MARK --and-mark 0xf0ff\n-A PREROUTING -j MARK --xor-mark 0x1\n-A PREROUTING -j MARK --set-xmark 0x20/0x30\nCOMMIT\n' +
        '*filter\n-A INPUT -m mark --mark 0x4000/0x4000 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n',
    );
    const p = packet(tcp());
    expect(deliver(nf, p)).toBe(NF_ACCEPT);
    // 0xff00 | 0x4000 = 0xff00; & 0xf0ff = 0xf000; ^ 1 = 0xf001; (& ~0x30) ^ 0x20 = 0xf021
    expect(p.mark).toBe(0xf021);
    const q = packet(tcp());
    nf.restore('*mangle\n-A PREROUTING -j MARK --set-mark 0x1\nCOMMIT\n');
    expect(deliver(nf, q)).toBe(NF_DROP);
  });
});

describe('conntrack and state matches', () => {
  it('NEW then ESTABLISHED, DNAT state bit, ctorigdst, ctstatus', () => {
    const ns = new FakeNetns();
    ns.addrs.push({ dev: 'eth0', addr: '10.0.0.2', cidr: '10.0.0.0/24' });
    const nf = new Netfilter(ns);
    nf.restore(
      '*nat\n-A PREROUTING -p tcp -d 172.30.0.1 --dport 80 -j DNAT --to-destination 10.0.0.2:8080\nCOMMIT\n' +
        '*filter\n:SEEN - [0:0]\n-A INPUT -m conntrack --ctstate NEW,DNAT --ctorigdst 172.30.0.1 --ctorigdstport 80 -j SEEN\n-A INPUT -m state --state ESTABLISHED -j DROP\n-A SEEN -m conntrack --ctstatus CONFIRMED -j DROP\nCOMMIT\n',
    );
    const syn = packet(tcp({ dst: '172.30.0.1', flags: SYN }));
    expect(deliver(nf, syn)).toBe(NF_ACCEPT); // NEW,DNAT; not yet CONFIRMED
    const save = nf.save({ header: false, counters: true });
    expect(save).toContain('[1:40] -A INPUT -m conntrack --ctstate NEW,DNAT --ctorigdst 172.30.0.1 --ctorigdstport 80 -j SEEN');
    // the reply goes out (OUTPUT/POSTROUTING) and makes the flow ESTABLISHED
    const synack = packet({ src: '10.0.0.2', dst: '10.0.0.1', proto: 'tcp', sport: 8080, dport: 40000, flags: SYN | ACK });
    expect(nf.runHook('OUTPUT', synack, hookState(ns, 'OUTPUT', null, 'eth0'))).toBe(NF_ACCEPT);
    expect(nf.runHook('POSTROUTING', synack, hookState(ns, 'POSTROUTING', null, 'eth0'))).toBe(NF_ACCEPT);
    const ack = packet(tcp({ dst: '172.30.0.1', flags: ACK }));
    expect(deliver(nf, ack)).toBe(NF_DROP); // ESTABLISHED
  });

  it('INVALID: a lone ACK to nothing is picked up (loose), a SYN-ACK to nothing is INVALID', () => {
    const nf = nfWith('-m conntrack --ctstate INVALID');
    expect(deliver(nf, packet(tcp({ flags: SYN | ACK })))).toBe(NF_DROP);
    expect(deliver(nf, packet(tcp({ flags: ACK, sport: 1 })))).toBe(NF_ACCEPT);
  });

  it('UNTRACKED after CT --notrack in raw', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore('*raw\n-A PREROUTING -p udp -j CT --notrack\nCOMMIT\n*filter\n-A INPUT -m conntrack --ctstate UNTRACKED -j DROP\nCOMMIT\n');
    expect(deliver(nf, packet(udp()))).toBe(NF_DROP);
    expect(deliver(nf, packet(tcp()))).toBe(NF_ACCEPT);
    expect(nf.conntrackList()).not.toContain('udp');
  });
});

describe('statistic', () => {
  it('random uses the kernel threshold: (u32 & 0x7fffffff) < lround(p * 2^31)', () => {
    expect(probabilityToU32(0.5)).toBe(0x40000000);
    expect(probabilityToU32(0.3333333333)).toBe(715827883);
    const ns = new FakeNetns(42);
    const nf = new Netfilter(ns);
    nf.restore('*filter\n-A INPUT -m statistic --mode random --probability 0.25 -j DROP\nCOMMIT\n');
    let drops = 0;
    const N = 4000;
    for (let i = 0; i < N; i++) if (deliver(nf, packet(udp({ sport: 1000 + i }))) === NF_DROP) drops++;
    expect(drops / N).toBeGreaterThan(0.22);
    expect(drops / N).toBeLessThan(0.28);
    // same seed, same choices
    const nf2 = new Netfilter(new FakeNetns(42));
    nf2.restore('*filter\n-A INPUT -m statistic --mode random --probability 0.25 -j DROP\nCOMMIT\n');
    let drops2 = 0;
    for (let i = 0; i < N; i++) if (deliver(nf2, packet(udp({ sport: 1000 + i }))) === NF_DROP) drops2++;
    expect(drops2).toBe(drops);
  });

  it('nth --every 3 --packet P matches packet P+1 of each 3, as the kernel (ping seq 1,4,7 / 2,5)', () => {
    const nf = nfWith('-m statistic --mode nth --every 3 --packet 0');
    const got = Array.from({ length: 7 }, () => deliver(nf, packet(udp())) === NF_DROP);
    expect(got).toEqual([true, false, false, true, false, false, true]);
    const nf1 = nfWith('-m statistic --mode nth --every 3 --packet 1');
    const got1 = Array.from({ length: 7 }, () => deliver(nf1, packet(udp())) === NF_DROP);
    expect(got1).toEqual([false, true, false, false, true, false, false]);
  });
});

describe('recent', () => {
  it('--set then --rcheck --seconds with --reap, as ClientIP affinity', () => {
    const ns = new FakeNetns();
    const nf = new Netfilter(ns);
    nf.restore('*filter\n:SET - [0:0]\n-A INPUT -p udp --dport 1 -j SET\n-A INPUT -m recent --name A --rcheck --seconds 10 --reap -j DROP\n-A SET -m recent --name A --set -j ACCEPT\nCOMMIT\n');
    expect(deliver(nf, packet(udp()))).toBe(NF_ACCEPT);
    expect(deliver(nf, packet(udp({ dport: 1 })))).toBe(NF_ACCEPT);
    expect(deliver(nf, packet(udp()))).toBe(NF_DROP);
    expect(deliver(nf, packet(udp({ src: '10.0.0.9' })))).toBe(NF_ACCEPT);
    ns.time += 11e9;
    expect(deliver(nf, packet(udp()))).toBe(NF_ACCEPT);
    expect(nf.env.recent.get('A')!.size).toBe(0);
  });

  it('--update refreshes, --remove deletes, --mask and --rdest', () => {
    const ns = new FakeNetns();
    const nf = new Netfilter(ns);
    nf.restore('*filter\n-A INPUT -p udp --dport 1 -m recent --name B --set --rdest --mask 255.255.255.0 -j ACCEPT\n-A INPUT -p udp --dport 2 -m recent --name B --remove --rdest --mask 255.255.255.0 -j ACCEPT\n-A INPUT -m recent --name B --update --seconds 5 --rdest --mask 255.255.255.0 -j DROP\nCOMMIT\n');
    deliver(nf, packet(udp({ dport: 1, dst: '10.0.0.7' })));
    ns.time += 4e9;
    expect(deliver(nf, packet(udp()))).toBe(NF_DROP);
    ns.time += 4e9;
    expect(deliver(nf, packet(udp()))).toBe(NF_DROP); // refreshed by the update
    deliver(nf, packet(udp({ dport: 2 })));
    expect(deliver(nf, packet(udp()))).toBe(NF_ACCEPT);
  });
});

describe('physdev', () => {
  it('bridged packets match their ports; non-bridged match only inverted options', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore('*filter\n-A FORWARD -m physdev --physdev-in veth+ --physdev-is-bridged -j DROP\nCOMMIT\n');
    expect(forward(nf, packet(tcp()), 'cni0', 'cni0', { physInDev: 'veth1', physOutDev: 'veth2', bridged: true })).toBe(NF_DROP);
    expect(forward(nf, packet(tcp()), 'cni0', 'cni0', { physInDev: 'eth9', physOutDev: 'veth2', bridged: true })).toBe(NF_ACCEPT);
    expect(forward(nf, packet(tcp()), 'eth0', 'eth1')).toBe(NF_ACCEPT);
    nf.restore('*filter\n-A FORWARD -m physdev ! --physdev-is-bridged -j DROP\nCOMMIT\n');
    expect(forward(nf, packet(tcp()), 'eth0', 'eth1')).toBe(NF_DROP);
  });
});

describe('set match', () => {
  it('hash:ip,port dst,dst and hash:net src, and swap', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.ipsetRestore('create KUBE-CLUSTER-IP hash:ip,port\nadd KUBE-CLUSTER-IP 10.0.0.2,tcp:80\ncreate NETS hash:net\nadd NETS 10.0.0.0/24\ncreate OTHER hash:ip,port\n');
    nf.restore('*filter\n-A INPUT -m set --match-set KUBE-CLUSTER-IP dst,dst -j DROP\nCOMMIT\n');
    expect(deliver(nf, packet(tcp()))).toBe(NF_DROP);
    expect(deliver(nf, packet(tcp({ dport: 81 })))).toBe(NF_ACCEPT);
    expect(deliver(nf, packet(udp({ dport: 80 })))).toBe(NF_ACCEPT);
    nf.ipsets.swap('KUBE-CLUSTER-IP', 'OTHER');
    expect(deliver(nf, packet(tcp()))).toBe(NF_ACCEPT);
    nf.restore('*filter\n-A INPUT -m set ! --match-set NETS src -j DROP\nCOMMIT\n');
    expect(deliver(nf, packet(tcp()))).toBe(NF_ACCEPT);
    expect(deliver(nf, packet(tcp({ src: '10.9.0.1' })))).toBe(NF_DROP);
  });
});

describe('nfacct', () => {
  it('counts packets and bytes in the named object', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore('*filter\n-A INPUT -m nfacct --nfacct-name localhost_nps_accepted_pkts\nCOMMIT\n');
    deliver(nf, packet(tcp()));
    deliver(nf, packet(tcp()));
    expect(nf.env.nfacct.get('localhost_nps_accepted_pkts')).toEqual({ pkts: 2, bytes: 80 });
    expect(nf.save({ header: false })).toContain('-A INPUT -m nfacct --nfacct-name  localhost_nps_accepted_pkts' /* two spaces, as iptables-save */);
  });
});
