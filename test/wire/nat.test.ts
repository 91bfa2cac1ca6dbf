import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  natRewriteIcmpErrorQuote, linuxIcmpErrorQuote, internetChecksum, WireError,
  buildIcmp, buildTcp, buildUdp, IcmpPacket, Ipv4Packet, natDnat, natRewrite, natSetAddress, natSetPort, natSnat, PacketBuffer,
  parseIpv4, TcpSegment, UdpPacket, read16, TCP_ACK, TCP_SYN,
} from '../../src/wire/index.js';
import type { Ipv4Addr, NatRewrite } from '../../src/wire/index.js';
import { captured, toHex } from './fixtures.js';

const addr = fc.integer({ min: 0, max: 0xffffffff }).map((n) => n as Ipv4Addr);
const port = fc.integer({ min: 0, max: 0xffff });
const payload = fc.uint8Array({ maxLength: 64 });
const rewrite = fc.record({ src: addr, dst: addr, srcPort: port, dstPort: port }, { requiredKeys: [] }) as fc.Arbitrary<NatRewrite>;

/** Checksums after a from-scratch recompute of a copy, to compare the incremental ones with. */
function recomputed(pkt: PacketBuffer): { ip: number; l4: number } {
  const c = pkt.clone();
  const ip = Ipv4Packet.checked(c.buf, c.network, c.end - c.network);
  ip.fillChecksum();
  let l4 = -1;
  if (ip.protocol() === 6) {
    const t = TcpSegment.checked(c.buf, c.transport, ip.payloadLength());
    t.fillChecksum(ip.src(), ip.dst());
    l4 = t.checksum();
  } else if (ip.protocol() === 17) {
    const u = UdpPacket.checked(c.buf, c.transport);
    if (u.checksum() !== 0) u.fillChecksum(ip.src(), ip.dst());
    l4 = u.checksum();
  } else {
    const m = IcmpPacket.checked(c.buf, c.transport, ip.payloadLength());
    m.fillChecksum();
    l4 = m.checksum();
  }
  return { ip: ip.checksum(), l4 };
}

function current(pkt: PacketBuffer): { ip: number; l4: number } {
  const ip = Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network);
  const l4at = ip.protocol() === 17 ? 6 : ip.protocol() === 6 ? 16 : 2;
  return { ip: ip.checksum(), l4: read16(pkt.buf, pkt.transport + l4at) };
}

describe('NAT rewrite with incremental checksums (nf_nat_ipv4_manip_pkt)', () => {
  it('DNATs a captured Linux SYN to a backend; checksums equal a full recompute and verify', () => {
    const frame = captured('Flags [S], seq 2646860117');
    const pkt = PacketBuffer.from(frame.subarray(14));
    pkt.network = pkt.head;
    pkt.transport = pkt.head + 20;
    const backend = parseIpv4('10.42.3.171');
    natDnat(pkt, backend, 18888);
    const ip = Ipv4Packet.checked(pkt.buf, pkt.network);
    expect(ip.dst()).toBe(backend);
    expect(ip.checksumValid()).toBe(true);
    const tcp = TcpSegment.checked(pkt.buf, pkt.transport, ip.payloadLength());
    expect(tcp.dstPort()).toBe(18888);
    expect(tcp.checksumValid(ip.src(), ip.dst())).toBe(true);
    expect(current(pkt)).toEqual(recomputed(pkt));
    // Only the address, port and the two checksums changed.
    const changed = [...pkt.data()].flatMap((b, i) => (b !== frame[14 + i] ? [i] : []));
    expect(changed.every((i) => [10, 11, 16, 17, 18, 19, 22, 23, 36, 37].includes(i))).toBe(true);
  });

  it('the reply translation restores the original bytes exactly', () => {
    const frame = captured('Flags [S.]').subarray(14);
    const pkt = PacketBuffer.from(frame);
    pkt.network = pkt.head;
    natSnat(pkt, parseIpv4('10.43.199.15'), 80);
    natSnat(pkt, parseIpv4('10.200.0.2'), 8080);
    expect(toHex(pkt.data())).toBe(toHex(frame));
  });

  it('property: any rewrite of TCP, UDP or ICMP echo leaves checksums equal to a full recompute', () => {
    const pktArb = fc.oneof(
      fc.tuple(addr, addr, port, port, payload, fc.nat()).map(([s, d, sp, dp, p, seq]) =>
        buildTcp({ src: s, dst: d, dontFragment: true }, { srcPort: sp, dstPort: dp, seq: seq >>> 0, ack: 0, flags: TCP_SYN | TCP_ACK, window: 100, urgent: 0, options: [] }, p)),
      fc.tuple(addr, addr, port, port, payload, fc.boolean()).map(([s, d, sp, dp, p, ck]) => buildUdp({ src: s, dst: d }, { srcPort: sp, dstPort: dp, checksum: ck }, p)),
      fc.tuple(addr, addr, port, payload).map(([s, d, id, p]) => buildIcmp({ src: s, dst: d }, { kind: 'echo-request', ident: id, seq: 1, data: p })),
    );
    fc.assert(fc.property(pktArb, rewrite, (pkt, r) => {
      const udpNoCsum = Ipv4Packet.checked(pkt.buf, pkt.network).protocol() === 17 && current(pkt).l4 === 0;
      natRewrite(pkt, r);
      const ip = Ipv4Packet.checked(pkt.buf, pkt.network);
      if (r.src !== undefined) expect(ip.src()).toBe(r.src);
      if (r.dst !== undefined) expect(ip.dst()).toBe(r.dst);
      expect(ip.checksumValid()).toBe(true);
      expect(current(pkt)).toEqual(recomputed(pkt));
      if (udpNoCsum) expect(current(pkt).l4).toBe(0);
    }));
  });

  it('leaves a UDP checksum of 0 (none) alone and never writes a computed 0', () => {
    const pkt = buildUdp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { srcPort: 1000, dstPort: 53, checksum: false }, new Uint8Array(10));
    natSetAddress(pkt, 'dst', parseIpv4('10.0.0.3'));
    natSetPort(pkt, 'dst', 5353);
    expect(UdpPacket.checked(pkt.buf, pkt.transport).checksum()).toBe(0);
    // Search a port whose rewrite makes the incremental result 0: it must be sent as 0xffff.
    const base = buildUdp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { srcPort: 1000, dstPort: 53 }, new Uint8Array(2));
    const c = UdpPacket.checked(base.buf, base.transport).checksum();
    // New checksum = ~(~c + ~53 + p); it is 0 when ~c + ~53 + p = 0xffff.
    const p = (0xffff - ((~c & 0xffff) + (~53 & 0xffff)) % 0xffff + 0xffff) % 0xffff;
    natSetPort(base, 'dst', p);
    const u = UdpPacket.checked(base.buf, base.transport);
    expect(u.checksum()).toBe(0xffff);
    expect(u.checksumValid(parseIpv4('10.0.0.1'), parseIpv4('10.0.0.2'))).toBe(true);
  });

  it('rewrites the echo identifier of ICMP as its "port", and ignores error messages', () => {
    const pkt = buildIcmp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { kind: 'echo-request', ident: 5, seq: 9, data: new Uint8Array(8) });
    natRewrite(pkt, { src: parseIpv4('192.168.4.86'), srcPort: 31000 });
    const m = IcmpPacket.checked(pkt.buf, pkt.transport, 16);
    expect(m.ident()).toBe(31000);
    expect(m.checksumValid()).toBe(true);
    const err = buildIcmp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, quote: new Uint8Array(28) });
    const before = toHex(err.from(err.transport));
    natSetPort(err, 'src', 1);
    expect(toHex(err.from(err.transport))).toBe(before);
  });

  it('does not touch the L4 bytes of a later fragment', () => {
    const pkt = buildUdp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2'), fragmentOffset: 1480 }, { srcPort: 1, dstPort: 2 }, new Uint8Array(16));
    const l4 = toHex(pkt.from(pkt.transport));
    natRewrite(pkt, { dst: parseIpv4('10.0.0.9'), dstPort: 99 });
    expect(toHex(pkt.from(pkt.transport))).toBe(l4);
    const ip = Ipv4Packet.checked(pkt.buf, pkt.network);
    expect(ip.dst()).toBe(parseIpv4('10.0.0.9'));
    expect(ip.checksumValid()).toBe(true);
  });

  it('derives the transport offset from the IHL when unset', () => {
    const pkt = buildTcp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2'), options: new Uint8Array(4).fill(1) },
      { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_SYN, window: 0, urgent: 0, options: [] });
    pkt.transport = -1;
    natSetPort(pkt, 'dst', 443);
    expect(TcpSegment.checked(pkt.buf, pkt.network + 24).dstPort()).toBe(443);
    pkt.transport = pkt.network + 24;
    expect(current(pkt)).toEqual(recomputed(pkt));
  });

  it('rewrites the identifier of every ICMP query type (timestamp, info, address mask too)', () => {
    for (const type of [13, 14, 15, 16, 17, 18]) {
      const pkt = buildIcmp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { kind: 'other', type, code: 0, rest: 0x00050001, data: new Uint8Array(12) });
      natSetPort(pkt, 'src', 777);
      const m = IcmpPacket.checked(pkt.buf, pkt.transport, 20);
      expect(m.ident()).toBe(777);
      expect(m.checksumValid()).toBe(true);
    }
  });

  it('rewrites a quoted packet inside an ICMP error: quoted checksums updated, ICMP checksum recomputed', () => {
    const client = parseIpv4('10.42.0.2');
    const backend = parseIpv4('10.42.3.171');
    const svc = parseIpv4('10.43.199.15');
    for (const inner of [
      buildTcp({ src: client, dst: backend, dontFragment: true }, { srcPort: 40000, dstPort: 18888, seq: 1, ack: 0, flags: TCP_SYN, window: 1, urgent: 0, options: [] }, new Uint8Array(600)),
      buildUdp({ src: client, dst: backend }, { srcPort: 40000, dstPort: 18888 }, new Uint8Array(20)),
    ]) {
      const quote = linuxIcmpErrorQuote(inner.data())!;
      const err = buildIcmp({ src: backend, dst: client }, { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, quote });
      natRewriteIcmpErrorQuote(err, { dst: svc, dstPort: 80 });
      const q = err.transport + 8;
      const qip = Ipv4Packet.checkedQuote(err.buf, q, err.end - q);
      expect(qip.dst()).toBe(svc);
      expect(qip.checksumValid()).toBe(true);
      expect(read16(err.buf, qip.payloadOffset() + 2)).toBe(80);
      expect(IcmpPacket.checked(err.buf, err.transport, err.end - err.transport).checksumValid()).toBe(true);
      // The quoted L4 checksum equals the one of the same packet built with the service address.
      const proto = qip.protocol();
      const ref = proto === 6
        ? buildTcp({ src: client, dst: svc, dontFragment: true }, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TCP_SYN, window: 1, urgent: 0, options: [] }, new Uint8Array(600))
        : buildUdp({ src: client, dst: svc }, { srcPort: 40000, dstPort: 80 }, new Uint8Array(20));
      const at = proto === 6 ? 16 : 6;
      expect(read16(err.buf, qip.payloadOffset() + at)).toBe(read16(ref.buf, ref.transport + at));
      expect(internetChecksum(err.buf, err.transport, err.end - err.transport)).toBe(0);
    }
  });

  it('refuses to rewrite a quote where there is none', () => {
    const echo = buildIcmp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { kind: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(40) });
    expect(() => natRewriteIcmpErrorQuote(echo, { dst: parseIpv4('1.1.1.1') })).toThrow(WireError);
    const udp = buildUdp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { srcPort: 1, dstPort: 2 });
    expect(() => natRewriteIcmpErrorQuote(udp, {})).toThrow(/ipv4\.protocol/);
    const short = buildIcmp({ src: parseIpv4('10.0.0.1'), dst: parseIpv4('10.0.0.2') }, { kind: 'time-exceeded', code: 0, quote: new Uint8Array(12) });
    expect(() => natRewriteIcmpErrorQuote(short, {})).toThrow(/icmp\.quote/);
  });
});
