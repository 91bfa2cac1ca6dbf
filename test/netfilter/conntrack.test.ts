import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { NF_ACCEPT, NF_DROP } from '../../src/netfilter/hooks.js';
import { FakeNetns, packet, forward, deliver, send, hookState, ipBytes, SYN, ACK, FIN, RST } from './helpers.js';
import { readIpv4Fields, sum16, u16 } from '../../src/netfilter/packet.js';
import { formatIpv4 } from '../../src/wire/ipv4-address.js';
import { TraceRecorder } from '../../src/sim/trace.js';
import type { NfTraceEvent } from '../../src/netfilter/trace.js';
import type { PacketBuffer } from '../../src/wire/packet-buffer.js';
import { conntrackSummary } from '../../src/netfilter/conntrack/print.js';

const here = dirname(fileURLToPath(import.meta.url));
const KP = readFileSync(join(here, 'payloads', 'kube-proxy.txt'), 'utf8').replace(/^-X .*\n/m, '').replace(/^:KUBE-SVC-STALE.*\n/m, '');

function node(seed = 7): { ns: FakeNetns; nf: Netfilter } {
  const ns = new FakeNetns(seed);
  ns.addrs.push({ dev: 'eth0', addr: '192.168.0.2', cidr: '192.168.0.0/24' }, { dev: 'cni0', addr: '10.42.0.1', cidr: '10.42.0.0/24' });
  const nf = new Netfilter(ns);
  nf.restore(KP);
  return { ns, nf };
}

function fields(p: PacketBuffer): string {
  const f = readIpv4Fields(p)!;
  return `${formatIpv4(f.src)}:${u16(p.buf, f.l4)} > ${formatIpv4(f.dst)}:${u16(p.buf, f.l4 + 2)}`;
}

/** True when the IPv4 header and TCP/UDP/ICMP checksums verify. */
function checksumsOk(p: PacketBuffer): boolean {
  const f = readIpv4Fields(p)!;
  const b = p.buf;
  if (sum16(b, p.network, p.network + f.ihl) !== 0xffff) return false;
  const end = f.l4 + f.l4Len;
  if (f.proto === 1) return sum16(b, f.l4, end) === 0xffff;
  const ps = (f.src >>> 16) + (f.src & 0xffff) + (f.dst >>> 16) + (f.dst & 0xffff) + f.proto + f.l4Len;
  return sum16(b, f.l4, end, ps) === 0xffff;
}

describe('conntrack + NAT through kube-proxy rules', () => {
  it('DNATs and masquerades the first packet, un-NATs the reply by conntrack, tracks TCP to ASSURED', () => {
    const { ns, nf } = node();
    const syn = packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40000, dport: 80, flags: SYN });
    expect(forward(nf, syn, 'eth0', 'cni0')).toBe(NF_ACCEPT);
    const out = fields(syn);
    expect(out).toMatch(/^10\.42\.0\.1:\d+ > 10\.180\.0\.3:80$/);
    expect(checksumsOk(syn)).toBe(true);
    const port = Number(out.split(':')[1]!.split(' ')[0]);
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(syn.mark).toBe(0); // KUBE-POSTROUTING cleared the masquerade bit
    expect(nf.conntrackList()).toBe(
      `tcp      6 120 SYN_SENT src=192.168.1.5 dst=172.30.0.43 sport=40000 dport=80 [UNREPLIED] src=10.180.0.3 dst=10.42.0.1 sport=80 dport=${port} mark=0 use=1\n`,
    );
    const synack = packet({ src: '10.180.0.3', dst: '10.42.0.1', sport: 80, dport: port, flags: SYN | ACK });
    expect(forward(nf, synack, 'cni0', 'eth0')).toBe(NF_ACCEPT);
    expect(fields(synack)).toBe('172.30.0.43:80 > 192.168.1.5:40000');
    expect(checksumsOk(synack)).toBe(true);
    ns.time += 1e9;
    const ack = packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40000, dport: 80, flags: ACK });
    const natRulesBefore = nf.save({ header: false, counters: true, table: 'nat' });
    expect(forward(nf, ack, 'eth0', 'cni0')).toBe(NF_ACCEPT);
    expect(fields(ack)).toBe(`10.42.0.1:${port} > 10.180.0.3:80`);
    // nat chains are walked only for the first packet
    expect(nf.save({ header: false, counters: true, table: 'nat' })).toBe(natRulesBefore);
    expect(natRulesBefore).toContain('[1:40] -A KUBE-SEP-RS4RBKLTHTF2IUXJ -p tcp -m comment --comment "ns3/svc3:p80" -m tcp -j DNAT --to-destination 10.180.0.3:80');
    expect(nf.conntrackList()).toBe(
      `tcp      6 432000 ESTABLISHED src=192.168.1.5 dst=172.30.0.43 sport=40000 dport=80 src=10.180.0.3 dst=10.42.0.1 sport=80 dport=${port} [ASSURED] mark=0 use=1\n`,
    );
    // close: FIN both ways, last ACK -> TIME_WAIT 120 s
    const fin1 = packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40000, dport: 80, flags: FIN | ACK });
    forward(nf, fin1, 'eth0', 'cni0');
    const fin2 = packet({ src: '10.180.0.3', dst: '10.42.0.1', sport: 80, dport: port, flags: FIN | ACK });
    forward(nf, fin2, 'cni0', 'eth0');
    const last = packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40000, dport: 80, flags: ACK });
    forward(nf, last, 'eth0', 'cni0');
    ns.time += 5e9;
    expect(nf.conntrackList()).toMatch(/^tcp {6}6 115 TIME_WAIT /);
    ns.time += 116e9;
    expect(nf.conntrackList()).toBe('');
  });

  it('pod source inside the cluster CIDR is DNATed but not masqueraded; the statistic spreads 3 endpoints', () => {
    const { nf } = node(99);
    const seen = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const p = packet({ src: '10.42.0.7', dst: '172.30.0.41', sport: 10000 + i, dport: 80, flags: SYN });
      expect(forward(nf, p, 'cni0', 'cni0')).toBe(NF_ACCEPT);
      const f = fields(p);
      expect(f.startsWith(`10.42.0.7:${10000 + i} > `)).toBe(true);
      const ep = f.split(' > ')[1]!;
      seen.set(ep, (seen.get(ep) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['10.180.0.1:80', '10.180.0.2:80', '10.180.0.3:80']);
    for (const n of seen.values()) expect(Math.abs(n - 1000)).toBeLessThan(120);
  });

  it('service without endpoints: filter REJECT sends ICMP port unreachable quoting the packet', () => {
    const { ns, nf } = node();
    const syn = packet({ src: '10.42.0.7', dst: '172.30.0.46', sport: 5555, dport: 80, flags: SYN });
    expect(forward(nf, syn, 'cni0', 'eth0')).toBe(NF_DROP);
    expect(ns.sent.length).toBe(1);
    const icmp = ns.sent[0]!;
    const f = readIpv4Fields(icmp)!;
    expect(formatIpv4(f.src)).toBe('10.42.0.1');
    expect(formatIpv4(f.dst)).toBe('10.42.0.7');
    expect([f.proto, f.ttl, f.tos, f.df]).toEqual([1, 64, 0xc0, false]);
    expect([icmp.buf[f.l4], icmp.buf[f.l4 + 1]]).toEqual([3, 3]);
    expect(icmp.buf.slice(f.l4 + 8, f.l4 + 8 + 40)).toEqual(ipBytes(syn));
    expect(checksumsOk(icmp)).toBe(true);
    // the dropped packet leaves no conntrack entry (never confirmed)
    expect(nf.conntrackList()).toBe('');
  });

  it('LB source ranges: allowed source reaches the endpoint, others fall out of KUBE-FW and are dropped', () => {
    const { nf } = node();
    const ok = packet({ src: '203.0.113.9', dst: '5.6.7.8', sport: 1234, dport: 80, flags: SYN });
    expect(forward(nf, ok, 'eth0', 'cni0')).toBe(NF_ACCEPT);
    expect(fields(ok).endsWith('> 10.180.0.3:80')).toBe(true);
    const bad = packet({ src: '198.51.100.9', dst: '5.6.7.8', sport: 1234, dport: 80, flags: SYN });
    expect(forward(nf, bad, 'eth0', 'eth1')).toBe(NF_DROP);
  });

  it('ICMP error about a NATed flow is RELATED and translated back, inner header too', () => {
    const { nf } = node();
    const syn = packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40000, dport: 80, flags: SYN });
    forward(nf, syn, 'eth0', 'cni0');
    const quote = ipBytes(syn).slice(0, 28);
    const err = packet({ src: '10.180.0.3', dst: '10.42.0.1', proto: 'icmp', icmpType: 3, icmpCode: 3, icmpId: 0, quote });
    err.buf[err.transport + 4] = 0;
    err.buf[err.transport + 5] = 0;
    err.buf[err.transport + 6] = 0;
    err.buf[err.transport + 7] = 0;
    const rec = new TraceRecorder<NfTraceEvent>();
    nf.setTraceSink(rec);
    expect(forward(nf, err, 'cni0', 'eth0')).toBe(NF_ACCEPT);
    const f = readIpv4Fields(err)!;
    expect(`${formatIpv4(f.src)} > ${formatIpv4(f.dst)}`).toBe('172.30.0.43 > 192.168.1.5');
    const inner = f.l4 + 8;
    const b = err.buf;
    expect(`${formatIpv4((u16(b, inner + 12) * 65536 + u16(b, inner + 14)) >>> 0)}:${u16(b, inner + 20)} > ${formatIpv4((u16(b, inner + 16) * 65536 + u16(b, inner + 18)) >>> 0)}:${u16(b, inner + 22)}`).toBe('192.168.1.5:40000 > 172.30.0.43:80');
    expect(checksumsOk(err)).toBe(true);
    expect(rec.ofKind('nf.ct').map((e) => [e.action, e.ctinfo])).toContainEqual(['related', 'RELATED_REPLY']);
    expect(nf.env.sink).toBe(rec);
  });

  it('the trace shows each rule evaluated, the NAT binding and the kernel TRACE dialect', () => {
    const { nf } = node();
    nf.restore('*raw\n-A PREROUTING -s 192.168.1.5 -j TRACE\nCOMMIT\n', { noflush: true });
    const rec = new TraceRecorder<NfTraceEvent>();
    nf.setTraceSink(rec);
    const syn = packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40000, dport: 80, flags: SYN });
    forward(nf, syn, 'eth0', 'cni0');
    const matched = rec.ofKind('nf.rule').filter((e) => e.matched).map((e) => `${e.table}:${e.chain}:${e.ruleNum}`);
    expect(matched.slice(0, 6)).toEqual(['raw:PREROUTING:1', 'nat:PREROUTING:1', 'nat:KUBE-SERVICES:2', 'nat:KUBE-SVC-2VJB64SDSIJUP5T6:1', 'nat:KUBE-MARK-MASQ:1', 'nat:KUBE-SVC-2VJB64SDSIJUP5T6:2']);
    const traces = rec.ofKind('nf.trace').map((e) => e.text.split(' ')[1]);
    expect(traces).toContain('nat:KUBE-SVC-2VJB64SDSIJUP5T6:rule:2');
    expect(traces[0]).toBe('raw:PREROUTING:policy:2');
    expect(traces).not.toContain('raw:PREROUTING:rule:1');
    expect(rec.ofKind('nf.trace')[0]!.text).toMatch(/^TRACE: raw:PREROUTING:policy:2 IN=eth0 OUT= SRC=192\.168\.1\.5 DST=172\.30\.0\.43 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40000 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0 $/);
    const nat = rec.ofKind('nf.nat').filter((e) => e.how === 'apply').map((e) => `${e.manip} ${e.from} -> ${e.to}`);
    expect(nat[0]).toBe('DNAT 172.30.0.43:80 -> 10.180.0.3:80');
    expect(nat[1]).toMatch(/^SNAT 192\.168\.1\.5:40000 -> 10\.42\.0\.1:\d+$/);
    const evaluated = rec.ofKind('nf.table').reduce((n, e) => n + e.evaluated, 0);
    expect(evaluated).toBe(nf.evaluatedFor(syn));
    expect(rec.ofKind('nf.rule').length).toBe(evaluated);
  });
});

describe('conntrack lifecycle', () => {
  function bare(max?: number): { ns: FakeNetns; nf: Netfilter } {
    const ns = new FakeNetns();
    ns.addrs.push({ dev: 'eth0', addr: '10.0.0.2', cidr: '10.0.0.0/24' });
    const nf = new Netfilter(ns, { conntrackHooks: 'on', ...(max ? { conntrack: { max } } : {}) });
    nf.restore('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n');
    return { ns, nf };
  }

  it('UDP: unreplied 30 s, a reply keeps 30 s, a packet after 2 s makes it a 120 s ASSURED stream', () => {
    const { ns, nf } = bare();
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 5000, dport: 53 }));
    expect(nf.conntrackList()).toBe('udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=0 use=1\n');
    send(nf, packet({ src: '10.0.0.2', dst: '10.0.0.1', proto: 'udp', sport: 53, dport: 5000 }), 'eth0');
    expect(nf.conntrackList()).toBe('udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 mark=0 use=1\n');
    ns.time += 3e9;
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 5000, dport: 53 }));
    expect(nf.conntrackList()).toBe('udp      17 120 src=10.0.0.1 dst=10.0.0.2 sport=5000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=5000 [ASSURED] mark=0 use=1\n');
  });

  it('ICMP echo: request/reply tuples with type/code/id, 30 s', () => {
    const { nf } = bare();
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'icmp', icmpType: 8, icmpId: 5823 }));
    send(nf, packet({ src: '10.0.0.2', dst: '10.0.0.1', proto: 'icmp', icmpType: 0, icmpId: 5823 }), 'eth0');
    expect(nf.conntrackList()).toBe('icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=5823 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=5823 mark=0 use=1\n');
  });

  it('a RST as the only reply kills the entry; a SYN after TIME_WAIT reopens', () => {
    const { ns, nf } = bare();
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, flags: SYN }));
    send(nf, packet({ src: '10.0.0.2', dst: '10.0.0.1', sport: 2, dport: 1, flags: RST | ACK }), 'eth0');
    expect(nf.conntrackList()).toBe('');
    const c = packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 3, dport: 4, flags: SYN });
    deliver(nf, c);
    send(nf, packet({ src: '10.0.0.2', dst: '10.0.0.1', sport: 4, dport: 3, flags: SYN | ACK }), 'eth0');
    expect(nf.conntrackList()).toMatch(/ SYN_RECV /);
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 3, dport: 4, flags: ACK }));
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 3, dport: 4, flags: FIN | ACK }));
    expect(nf.conntrackList()).toMatch(/ FIN_WAIT /);
    send(nf, packet({ src: '10.0.0.2', dst: '10.0.0.1', sport: 4, dport: 3, flags: ACK }), 'eth0');
    expect(nf.conntrackList()).toMatch(/ 60 CLOSE_WAIT /);
    send(nf, packet({ src: '10.0.0.2', dst: '10.0.0.1', sport: 4, dport: 3, flags: FIN | ACK }), 'eth0');
    expect(nf.conntrackList()).toMatch(/ 30 LAST_ACK /);
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 3, dport: 4, flags: ACK }));
    expect(nf.conntrackList()).toMatch(/ 120 TIME_WAIT /);
    ns.time += 1e9;
    deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', sport: 3, dport: 4, flags: SYN }));
    expect(nf.conntrackList()).toMatch(/^tcp {6}6 120 SYN_SENT .*\[UNREPLIED\]/);
  });

  it('nf_conntrack_max: early_drop evicts an unassured entry; with all assured the packet is dropped', () => {
    const { ns, nf } = bare(2);
    const rec = new TraceRecorder<NfTraceEvent>();
    nf.setTraceSink(rec);
    expect(deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 1 }))).toBe(NF_ACCEPT);
    expect(deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 2 }))).toBe(NF_ACCEPT);
    expect(deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 3 }))).toBe(NF_ACCEPT);
    expect(rec.ofKind('nf.ct').filter((e) => e.action === 'early-drop').length).toBe(1);
    expect(nf.conntrackList().split('\n').filter(Boolean).map((l) => l.match(/sport=(\d+)/)![1])).toEqual(['2', '3']);
    // make both assured
    for (const sp of [2, 3]) {
      send(nf, packet({ src: '10.0.0.2', dst: '10.0.0.1', proto: 'udp', sport: 53, dport: sp }), 'eth0');
    }
    ns.time += 3e9;
    for (const sp of [2, 3]) deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: sp }));
    expect(deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 4 }))).toBe(NF_DROP);
    expect(rec.ofKind('nf.ct').at(-1)!.action).toBe('full-drop');
  });

  it('ids come from a counter and the listing is in id order', () => {
    const { nf } = bare();
    for (let i = 0; i < 3; i++) deliver(nf, packet({ src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 100 - i }));
    expect(nf.conntrack.entries(0).map((e) => e.id)).toEqual([1, 2, 3]);
    expect(conntrackSummary(3)).toBe('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.\n');
  });

  it('SNAT keeps the port when free and remaps it on a clash', () => {
    const ns = new FakeNetns(3);
    ns.addrs.push({ dev: 'eth0', addr: '192.168.0.2', cidr: '192.168.0.0/24' });
    const nf = new Netfilter(ns);
    nf.restore('*nat\n-A POSTROUTING -s 10.42.0.0/16 -o eth0 -j MASQUERADE\nCOMMIT\n');
    const a = packet({ src: '10.42.0.5', dst: '1.1.1.1', proto: 'udp', sport: 5353, dport: 53 });
    forward(nf, a, 'cni0', 'eth0');
    expect(fields(a)).toBe('192.168.0.2:5353 > 1.1.1.1:53');
    const b = packet({ src: '10.42.0.6', dst: '1.1.1.1', proto: 'udp', sport: 5353, dport: 53 });
    forward(nf, b, 'cni0', 'eth0');
    const pb = Number(fields(b).split(':')[1]!.split(' ')[0]);
    expect(pb).not.toBe(5353);
    expect(pb).toBeGreaterThanOrEqual(1024);
    const lines = nf.conntrackList();
    expect(lines).toContain('src=10.42.0.5 dst=1.1.1.1 sport=5353 dport=53 [UNREPLIED] src=1.1.1.1 dst=192.168.0.2 sport=53 dport=5353');
    expect(lines).toContain(`src=10.42.0.6 dst=1.1.1.1 sport=5353 dport=53 [UNREPLIED] src=1.1.1.1 dst=192.168.0.2 sport=53 dport=${pb}`);
  });

  it('golden conntrack -L', async () => {
    const { ns, nf } = node(5);
    forward(nf, packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40000, dport: 80, flags: SYN }), 'eth0', 'cni0');
    forward(nf, packet({ src: '10.42.0.7', dst: '172.30.0.45', sport: 41000, dport: 80, flags: SYN }), 'cni0', 'cni0');
    forward(nf, packet({ src: '10.180.0.3', dst: '10.42.0.7', sport: 80, dport: 41000, flags: SYN | ACK }), 'cni0', 'cni0');
    forward(nf, packet({ src: '10.42.0.7', dst: '172.30.0.45', sport: 41000, dport: 80, flags: ACK }), 'cni0', 'cni0');
    ns.time += 3e9;
    send(nf, packet({ src: '192.168.0.2', dst: '192.168.0.3', proto: 'udp', sport: 37858, dport: 8472 }), 'eth0');
    deliver(nf, packet({ src: '192.168.0.9', dst: '192.168.0.2', proto: 'icmp', icmpType: 8, icmpId: 5823 }));
    ns.time += 1.5e9;
    await expect(nf.conntrackList()).toMatchFileSnapshot('../golden/conntrack/kube-proxy-node.txt');
  });
});
