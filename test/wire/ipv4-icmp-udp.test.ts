import { describe, expect, it } from 'vitest';
import {
  buildIcmpError, read16, PacketBuffer, buildIcmpFrame, buildUdpFrame, emitIcmp, emitIpv4Header, emitUdp, IcmpPacket, internetChecksum, Ipv4Packet,
  ipv4HeaderLength, linuxIcmpErrorQuote, parseIcmp, parseIpv4, parseIpv4Header, parseMac, parseUdp, UdpPacket,
  IPPROTO_ICMP, IPPROTO_UDP, ICMP_FRAG_NEEDED, ICMP_PORT_UNREACH, ICMP_EXC_TTL, ICMP_DEST_UNREACH, WireError,
} from '../../src/wire/index.js';
import type { IcmpRepr, Ipv4Repr } from '../../src/wire/index.js';
import { a5, captured, hex, toHex } from './fixtures.js';

const A_MAC = parseMac('02:00:00:00:00:0a');
const B_MAC = parseMac('02:00:00:00:00:0b');
const A_IP = parseIpv4('10.200.0.1');
const B_IP = parseIpv4('10.200.0.2');
const AtoB = { dst: B_MAC, src: A_MAC };
const BtoA = { dst: A_MAC, src: B_MAC };

describe('ipv4', () => {
  const echo = captured('ICMP echo request');

  it('deconstructs a captured header', () => {
    const p = Ipv4Packet.checked(echo, 14);
    expect(p.version()).toBe(4);
    expect(p.headerLength()).toBe(20);
    expect(p.totalLength()).toBe(84);
    expect(p.dontFragment()).toBe(true);
    expect(p.moreFragments()).toBe(false);
    expect(p.fragmentOffset()).toBe(0);
    expect(p.ttl()).toBe(64);
    expect(p.protocol()).toBe(IPPROTO_ICMP);
    expect(p.src()).toBe(A_IP);
    expect(p.dst()).toBe(B_IP);
    expect(p.checksumValid()).toBe(true);
    expect(p.payloadOffset()).toBe(34);
    expect(p.payload().length).toBe(64);
    const r = parseIpv4Header(echo, 14);
    expect(r).toMatchObject({ dscp: 0, ecn: 0, ttl: 64, protocol: 1, dontFragment: true, payloadLength: 64 });
    expect(r.options.length).toBe(0);
  });

  it('constructs the captured header into a 0xa5 buffer', () => {
    const b = a5(22);
    expect(emitIpv4Header(parseIpv4Header(echo, 14), b, 1)).toBe(20);
    expect(toHex(b.subarray(1, 21))).toBe(toHex(echo.subarray(14, 34)));
    expect(b[21]).toBe(0xa5);
  });

  it('keeps options as bytes and pads them to 4', () => {
    const repr: Ipv4Repr = { ...parseIpv4Header(echo, 14), options: hex('94040000'), payloadLength: 0 }; // router alert
    expect(ipv4HeaderLength(repr)).toBe(24);
    const b = new Uint8Array(24);
    emitIpv4Header(repr, b);
    expect(b[0]).toBe(0x46);
    expect(toHex(Ipv4Packet.checked(b).options())).toBe('94040000');
    expect(Ipv4Packet.checked(b).checksumValid()).toBe(true);
    const odd = new Uint8Array(24);
    emitIpv4Header({ ...repr, options: hex('010101') }, odd);
    expect(toHex(odd.subarray(20))).toBe('01010100');
  });

  it('writes DF, MF and the fragment offset in bytes', () => {
    const b = new Uint8Array(20);
    emitIpv4Header({ ...parseIpv4Header(echo, 14), dontFragment: false, moreFragments: true, fragmentOffset: 1480, payloadLength: 0 }, b);
    expect(toHex(b.subarray(6, 8))).toBe('20b9'); // MF | 1480/8 = 185
    const p = Ipv4Packet.checked(b);
    expect(p.fragmentOffset()).toBe(1480);
    expect(p.isLaterFragment()).toBe(true);
    expect(p.moreFragments()).toBe(true);
  });

  it('decrements TTL with an incremental checksum equal to a full recompute', () => {
    const b = echo.slice(14);
    const p = Ipv4Packet.checked(b);
    p.decrementTtl();
    expect(p.ttl()).toBe(63);
    const inc = p.checksum();
    p.fillChecksum();
    expect(inc).toBe(p.checksum());
    expect(p.checksumValid()).toBe(true);
  });

  it('answers the payload up to total_length, not the Ethernet padding', () => {
    const padded = new Uint8Array(60);
    padded.set(captured('Flags [R.]'));
    const p = Ipv4Packet.checked(padded, 14);
    expect(p.payload().length).toBe(20);
  });

  it('names the inconsistent field', () => {
    const h = echo.slice(14);
    const e = (f: (b: Uint8Array) => void): string => {
      const c = h.slice();
      f(c);
      try {
        parseIpv4Header(c);
        return 'no error';
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
        return (err as WireError).field;
      }
    };
    expect(e((c) => (c[0] = 0x65))).toBe('ipv4.version');
    expect(e((c) => (c[0] = 0x44))).toBe('ipv4.ihl');
    expect(() => parseIpv4Header(h.subarray(0, 40).map((x, i) => (i === 0 ? 0x4f : x)))).toThrow(/ipv4\.ihl: header of 60 bytes but only 40/);
    expect(e((c) => (c[3] = 19))).toBe('ipv4.total_length');
    expect(e((c) => (c[2] = 1))).toBe('ipv4.total_length');
    expect(() => parseIpv4Header(h.subarray(0, 19))).toThrow(/ipv4\.header/);
  });
});

describe('icmp', () => {
  const req = captured('ICMP echo request');
  const rep = captured('ICMP echo reply');

  it('deconstructs a captured echo request and rebuilds the whole frame', () => {
    const p = IcmpPacket.checked(req, 34, 64);
    expect(p.type()).toBe(8);
    expect(p.ident()).toBe(12324);
    expect(p.seq()).toBe(1);
    expect(p.checksumValid()).toBe(true);
    const r = parseIcmp(req, 34);
    expect(r.kind).toBe('echo-request');
    const ip = parseIpv4Header(req, 14);
    const f = buildIcmpFrame(AtoB, { src: A_IP, dst: B_IP, ident: ip.ident, dontFragment: true }, r);
    expect(toHex(f.data())).toBe(toHex(req));
  });

  it('an echo reply keeps id, seq and data; Linux sends it with DF clear', () => {
    const q = parseIcmp(req, 34);
    const r = parseIcmp(rep, 34);
    if (q.kind !== 'echo-request' || r.kind !== 'echo-reply') throw new Error('kinds');
    expect([r.ident, r.seq, toHex(r.data)]).toEqual([q.ident, q.seq, toHex(q.data)]);
    const ip = parseIpv4Header(rep, 14);
    expect(ip.dontFragment).toBe(false);
    const f = buildIcmpFrame(BtoA, { src: B_IP, dst: A_IP, ident: ip.ident }, { ...q, kind: 'echo-reply' });
    expect(toHex(f.data())).toBe(toHex(rep));
  });

  it('rebuilds the port unreachable Linux sent for a small datagram: the whole datagram is quoted', () => {
    const udp = captured('UDP, length 5');
    const err = captured('unreachable, length 41');
    const quote = linuxIcmpErrorQuote(udp.subarray(14));
    expect(quote).not.toBeNull();
    expect(quote!.length).toBe(33);
    const ip = parseIpv4Header(err, 14);
    expect(ip.dscp << 2).toBe(0xc0); // IPTOS_PREC_INTERNETCONTROL
    const f = buildIcmpFrame(BtoA, { src: B_IP, dst: A_IP, ident: ip.ident, dscp: ip.dscp },
      { kind: 'dest-unreachable', code: ICMP_PORT_UNREACH, nextHopMtu: 0, quote: quote! });
    expect(toHex(f.data())).toBe(toHex(err));
  });

  it('quotes 548 bytes of a large datagram, as __icmp_send fits the error in 576', () => {
    const udp = captured('UDP, length 1400');
    const err = captured('unreachable, length 556');
    const quote = linuxIcmpErrorQuote(udp.subarray(14))!;
    expect(quote.length).toBe(548);
    const ip = parseIpv4Header(err, 14);
    const f = buildIcmpFrame(BtoA, { src: B_IP, dst: A_IP, ident: ip.ident, dscp: ip.dscp },
      { kind: 'dest-unreachable', code: ICMP_PORT_UNREACH, nextHopMtu: 0, quote });
    expect(f.length).toBe(14 + 20 + 556);
    expect(toHex(f.data())).toBe(toHex(err));
  });

  it('buildIcmpError makes the errors Linux sent, byte for byte (L3)', () => {
    for (const [sent, got] of [['UDP, length 5', 'unreachable, length 41'], ['UDP, length 1400', 'unreachable, length 556']] as const) {
      const err = captured(got).subarray(14);
      const e = buildIcmpError(captured(sent).subarray(14), { src: B_IP, type: ICMP_DEST_UNREACH, code: ICMP_PORT_UNREACH, ident: read16(err, 4) });
      expect(toHex(e!.data())).toBe(toHex(err));
    }
    const tos = captured('UDP, length 5').slice(14);
    // RT_TOS(tos) | 0xc0, as seen from Linux 6.18: 0x12 -> 0xd2, 0x13 -> 0xd2, 0xfe -> 0xde, 0x28 -> 0xc8.
    for (const [from, to] of [[0x12, 0xd2], [0x13, 0xd2], [0xfe, 0xde], [0x28, 0xc8]] as const) {
      tos[1] = from;
      expect(buildIcmpError(tos, { src: B_IP, type: 3, code: 3, ident: 1 })!.buf[PacketBuffer.DEFAULT_HEADROOM + 1]).toBe(to);
    }
    const e = buildIcmpError(tos, { src: B_IP, type: 3, code: ICMP_FRAG_NEEDED, info: 1450, ident: 1 })!;
    expect(IcmpPacket.checked(e.buf, e.transport, e.end - e.transport).nextHopMtu()).toBe(1450);
    expect(buildIcmpError(tos, { src: B_IP, type: 3, code: 1, ident: 1, routeMtu: 48 })).toBeNull();
    expect(buildIcmpError(tos, { src: B_IP, type: 12, code: 0, info: 20 * 0x1000000, ident: 1, options: Uint8Array.of(0x94, 4, 0, 0) })!.length).toBe(24 + 8 + 33);
  });

  it('quote room shrinks with a small route MTU and reply options; none when room <= 20', () => {
    const big = new Uint8Array(1000);
    big[0] = 0x45;
    big[2] = 1000 >> 8;
    big[3] = 1000 & 255;
    expect(linuxIcmpErrorQuote(big, 1500, 0)!.length).toBe(548);
    expect(linuxIcmpErrorQuote(big, 300, 0)!.length).toBe(272);
    expect(linuxIcmpErrorQuote(big, 1500, 8)!.length).toBe(540);
    expect(linuxIcmpErrorQuote(big, 49, 0)!.length).toBe(21);
    expect(linuxIcmpErrorQuote(big, 48, 0)).toBeNull();
    // Padding past total_length is not quoted.
    const small = new Uint8Array(60);
    small.set([0x45, 0, 0, 28]);
    expect(linuxIcmpErrorQuote(small)!.length).toBe(28);
  });

  it('fragmentation needed carries the next-hop MTU in bytes 6..7 (RFC 1191), bytes 4..5 zero', () => {
    const quote = captured('UDP, length 1400').subarray(14, 14 + 28);
    const r: IcmpRepr = { kind: 'dest-unreachable', code: ICMP_FRAG_NEEDED, nextHopMtu: 1450, quote };
    const b = a5(8 + 28);
    expect(emitIcmp(r, b)).toBe(36);
    expect(toHex(b.subarray(0, 8)).replace(/^(....)..../, '$1xxxx')).toBe('0304xxxx000005aa');
    const p = IcmpPacket.checked(b);
    expect(p.checksumValid()).toBe(true);
    expect(p.nextHopMtu()).toBe(1450);
    expect(p.isError()).toBe(true);
    expect(parseIcmp(b)).toEqual(r);
  });

  it('round-trips every destination unreachable code Linux uses, and time exceeded', () => {
    const quote = captured('UDP, length 5').subarray(14);
    for (let code = 0; code <= 15; code++) {
      const r: IcmpRepr = { kind: 'dest-unreachable', code, nextHopMtu: code === 4 ? 1400 : 0, quote };
      const b = new Uint8Array(8 + quote.length);
      emitIcmp(r, b);
      expect(b[0]).toBe(ICMP_DEST_UNREACH);
      expect(b[1]).toBe(code);
      expect(internetChecksum(b)).toBe(0);
      expect(parseIcmp(b)).toEqual(r);
    }
    const t: IcmpRepr = { kind: 'time-exceeded', code: ICMP_EXC_TTL, quote };
    const b = new Uint8Array(8 + quote.length);
    emitIcmp(t, b);
    expect(toHex(b.subarray(0, 2))).toBe('0b00');
    expect(parseIcmp(b)).toEqual(t);
  });

  it('keeps messages it does not model as other, losing nothing', () => {
    const b = hex('0d00 0000 12345678 0102'); // timestamp request with data
    b.set([0, 0], 2);
    const c = internetChecksum(b);
    b[2] = c >> 8;
    b[3] = c & 255;
    expect(parseIcmp(b)).toEqual({ kind: 'other', type: 13, code: 0, rest: 0x12345678, data: hex('0102') });
    const odd = hex('0800 0000 0001 0002'); // echo with code 1 is not an echo repr
    odd[1] = 1;
    expect(parseIcmp(odd).kind).toBe('other');
  });

  it('names a short message', () => {
    expect(() => parseIcmp(new Uint8Array(7))).toThrow(/icmp\.header/);
    expect(() => IcmpPacket.checked(new Uint8Array(10), 0, 12)).toThrow(/icmp\.length/);
  });
});

describe('udp', () => {
  const dg = captured('UDP, length 5');

  it('deconstructs a captured datagram and verifies its checksum', () => {
    const u = UdpPacket.checked(dg, 34);
    expect(u.srcPort()).toBe(47924);
    expect(u.dstPort()).toBe(9999);
    expect(u.length()).toBe(13);
    expect(Buffer.from(u.payload()).toString()).toBe('hello');
    expect(u.checksumValid(A_IP, B_IP)).toBe(true);
    expect(u.checksumValid(A_IP, parseIpv4('10.200.0.3'))).toBe(false);
    expect(parseUdp(dg, 34)).toEqual({ srcPort: 47924, dstPort: 9999, payloadLength: 5 });
  });

  it('rebuilds the whole captured frame', () => {
    const ip = parseIpv4Header(dg, 14);
    const f = buildUdpFrame(AtoB, { src: A_IP, dst: B_IP, ident: ip.ident, dontFragment: true }, { srcPort: 47924, dstPort: 9999 }, Buffer.from('hello'));
    expect(toHex(f.data())).toBe(toHex(dg));
    expect(f.transport - f.network).toBe(20);
    expect(Ipv4Packet.checked(f.buf, f.network).protocol()).toBe(IPPROTO_UDP);
  });

  it('sends a computed checksum of 0 as 0xffff, and 0 when disabled', () => {
    // Choose the payload word that makes the ones' complement sum 0xffff (computed checksum 0).
    const payload = new Uint8Array(2);
    const b = new Uint8Array(10);
    emitUdp({ srcPort: 1, dstPort: 2, payloadLength: 2 }, b, 0, { src: A_IP, dst: B_IP });
    const c0 = (b[6]! << 8) | b[7]!; // checksum with payload 0000: ~S
    payload[0] = c0 >> 8;
    payload[1] = c0 & 255; // S + ~S = 0xffff
    b.set(payload, 8);
    emitUdp({ srcPort: 1, dstPort: 2, payloadLength: 2 }, b, 0, { src: A_IP, dst: B_IP });
    expect(toHex(b.subarray(6, 8))).toBe('ffff');
    expect(UdpPacket.checked(b).checksumValid(A_IP, B_IP)).toBe(true);
    emitUdp({ srcPort: 1, dstPort: 2, payloadLength: 2 }, b, 0, null);
    expect(toHex(b.subarray(6, 8))).toBe('0000');
    expect(UdpPacket.checked(b).checksumValid(A_IP, parseIpv4('1.2.3.4'))).toBe(true);
  });

  it('names the length field when it does not fit', () => {
    const u = dg.slice(34);
    u[5] = 7;
    expect(() => parseUdp(u)).toThrowError(new WireError('udp.length', '7 is less than the header length 8'));
    u[5] = 14;
    expect(() => parseUdp(u)).toThrow(/udp\.length/);
    expect(() => parseUdp(u.subarray(0, 7))).toThrow(/udp\.header/);
  });
});
