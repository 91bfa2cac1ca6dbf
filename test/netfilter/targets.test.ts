import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { NF_ACCEPT, NF_DROP } from '../../src/netfilter/hooks.js';
import { FakeNetns, packet, deliver, forward, send, ipBytes, SYN, ACK, PSH } from './helpers.js';
import { readIpv4Fields, u16, u32 } from '../../src/netfilter/packet.js';
import { formatIpv4 } from '../../src/wire/ipv4-address.js';
import { TraceRecorder } from '../../src/sim/trace.js';
import type { NfTraceEvent } from '../../src/netfilter/trace.js';
import type { PacketBuffer } from '../../src/wire/packet-buffer.js';

const here = dirname(fileURLToPath(import.meta.url));

function tuple(p: PacketBuffer): string {
  const f = readIpv4Fields(p)!;
  return `${formatIpv4(f.src)}:${u16(p.buf, f.l4)} > ${formatIpv4(f.dst)}:${u16(p.buf, f.l4 + 2)}`;
}

describe('standard targets and chain walking', () => {
  it('jump returns to the caller, goto returns to the caller of the caller, RETURN in a built-in takes the policy', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore(
      '*filter\n:INPUT DROP [0:0]\n:A - [0:0]\n:B - [0:0]\n' +
        '-A INPUT -p udp --dport 1 -j A\n-A INPUT -p udp --dport 1 -j ACCEPT\n' +
        '-A INPUT -p udp --dport 2 -g B\n-A INPUT -p udp --dport 2 -j ACCEPT\n' +
        '-A INPUT -p udp --dport 3 -j RETURN\n-A INPUT -j ACCEPT\n' +
        '-A A -j RETURN\n-A B -j RETURN\nCOMMIT\n',
    );
    const v = (dport: number): number => deliver(nf, packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 'udp', dport }));
    expect(v(1)).toBe(NF_ACCEPT); // A returns, next INPUT rule accepts
    expect(v(2)).toBe(NF_DROP); // B (gone to) returns past INPUT: policy DROP
    expect(v(3)).toBe(NF_DROP); // RETURN in INPUT: policy
    expect(v(4)).toBe(NF_ACCEPT);
    expect(nf.save({ header: false, counters: true })).toContain(':INPUT DROP [2:56]');
  });

  it('counts rules evaluated per traversal and per packet', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore('*filter\n:A - [0:0]\n-A INPUT -s 9.9.9.9 -j DROP\n-A INPUT -j A\n-A A -s 8.8.8.8 -j DROP\n-A A -j RETURN\n-A INPUT -j ACCEPT\nCOMMIT\n');
    const p = packet({ src: '1.1.1.1', dst: '2.2.2.2' });
    deliver(nf, p);
    expect(nf.lastEvaluated).toBe(5);
    expect(nf.evaluatedFor(p)).toBe(5);
  });
});

describe('NAT targets', () => {
  it('SNAT --to-source with a port range; DNAT without a port keeps it', () => {
    const ns = new FakeNetns();
    const nf = new Netfilter(ns);
    nf.restore('*nat\n-A PREROUTING -d 1.1.1.1 -j DNAT --to-destination 10.0.0.9\n-A POSTROUTING -p udp -j SNAT --to-source 192.168.1.1:1000-1000\nCOMMIT\n');
    const p = packet({ src: '10.0.0.1', dst: '1.1.1.1', proto: 'udp', sport: 5555, dport: 53 });
    forward(nf, p, 'eth0', 'eth1');
    expect(tuple(p)).toBe('192.168.1.1:1000 > 10.0.0.9:53');
    expect(nf.conntrackList()).toContain('src=10.0.0.1 dst=1.1.1.1 sport=5555 dport=53 [UNREPLIED] src=10.0.0.9 dst=192.168.1.1 sport=53 dport=1000');
  });

  it('REDIRECT to the in-device address, and OUTPUT DNAT for local traffic', () => {
    const ns = new FakeNetns();
    ns.addrs.push({ dev: 'eth0', addr: '10.0.0.2', cidr: '10.0.0.0/24' });
    const nf = new Netfilter(ns);
    nf.restore('*nat\n-A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080\n-A OUTPUT -p tcp -d 172.30.0.1 -j DNAT --to-destination 10.0.0.5:8443\nCOMMIT\n');
    const p = packet({ src: '10.0.0.1', dst: '5.5.5.5', dport: 80 });
    deliver(nf, p, 'eth0');
    expect(tuple(p)).toBe('10.0.0.1:40000 > 10.0.0.2:8080');
    const q = packet({ src: '10.0.0.2', dst: '172.30.0.1', sport: 33333, dport: 443 });
    send(nf, q, 'eth0');
    expect(tuple(q)).toBe('10.0.0.2:33333 > 10.0.0.5:8443');
  });
});

describe('REJECT', () => {
  it('tcp-reset answers a SYN with RST|ACK (ack = seq + 1), DF, ID 0, TTL 64, ports swapped', () => {
    const ns = new FakeNetns();
    ns.addrs.push({ dev: 'eth0', addr: '10.0.0.2', cidr: '10.0.0.0/24' });
    const nf = new Netfilter(ns);
    nf.restore('*filter\n-A INPUT -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT\n');
    expect(deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, flags: SYN, seq: 1000 }))).toBe(NF_DROP);
    const r = ns.sent[0]!;
    const f = readIpv4Fields(r)!;
    expect([formatIpv4(f.src), formatIpv4(f.dst), f.ttl, f.id, f.df, f.totalLength]).toEqual(['10.0.0.2', '10.0.0.1', 64, 0, true, 40]);
    const t = f.l4;
    expect([u16(r.buf, t), u16(r.buf, t + 2), u32(r.buf, t + 4), u32(r.buf, t + 8), r.buf[t + 13]]).toEqual([80, 40000, 0, 1001, 0x14]);
    // a segment with ACK gets RST only, seq = its ack
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40001, dport: 80, flags: ACK | PSH, seq: 5, ack: 777, payload: 10 }));
    const r2 = ns.sent[1]!;
    expect([u32(r2.buf, r2.transport + 4), r2.buf[r2.transport + 13]]).toEqual([777, 0x04]);
  });

  it('other --reject-with codes; nothing is sent for an ICMP error', () => {
    for (const [how, code] of [['icmp-host-unreachable', 1], ['icmp-net-unreachable', 0], ['icmp-admin-prohibited', 13], ['icmp-proto-unreachable', 2]] as const) {
      const ns = new FakeNetns();
      ns.addrs.push({ dev: 'eth0', addr: '10.0.0.2', cidr: '10.0.0.0/24' });
      const nf = new Netfilter(ns);
      nf.restore(`*filter\n-A INPUT -j REJECT --reject-with ${how}\nCOMMIT\n`);
      const p = packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', payload: 600 });
      deliver(nf, p);
      const r = ns.sent[0]!;
      const f = readIpv4Fields(r)!;
      expect([r.buf[f.l4], r.buf[f.l4 + 1], f.totalLength]).toEqual([3, code, 576]);
      expect(r.buf.slice(f.l4 + 8, f.l4 + 8 + 28)).toEqual(ipBytes(p).slice(0, 28));
      deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 3, icmpCode: 1, quote: ipBytes(p).slice(0, 28) }));
      expect(ns.sent.length).toBe(1);
    }
  });
});

describe('LOG', () => {
  it('writes the kernel log line to the trace', () => {
    const ns = new FakeNetns();
    const nf = new Netfilter(ns);
    const rec = new TraceRecorder<NfTraceEvent>();
    nf.setTraceSink(rec);
    nf.restore('*filter\n-A INPUT -j LOG --log-prefix "IN: "\nCOMMIT\n');
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1234, dport: 53, payload: 12, id: 4321 }));
    expect(rec.ofKind('nf.log').map((e) => e.text)).toEqual(['IN: IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=4321 DF PROTO=UDP SPT=1234 DPT=53 LEN=20 ']);
  });
});

describe('restore of a save is a fixed point', () => {
  it.each(['kube-proxy.txt', 'flannel.txt', 'calico.txt'])('%s', (f) => {
    const a = new Netfilter(new FakeNetns());
    a.restore('*nat\n:KUBE-SVC-STALE0000000000 - [0:0]\nCOMMIT\n');
    a.restore(readFileSync(join(here, 'payloads', f), 'utf8'), { noflush: true });
    const s1 = a.save({ header: false });
    const b = new Netfilter(new FakeNetns());
    b.restore(s1);
    expect(b.save({ header: false })).toBe(s1);
  });
});
