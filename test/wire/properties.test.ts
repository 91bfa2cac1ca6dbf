// fast-check properties over every header: parse(emit(r)) equals r, and no bytes make a
// checked view, its accessors, a parser or the decapsulator throw anything but WireError.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ArpPacket, emitArp, emitEthernet, emitIcmp, emitIpv4Header, emitTcp, emitUdp, emitVxlan, EthernetFrame, ethernetHeaderLength,
  IcmpPacket, icmpLength, Ipv4Packet, ipv4HeaderLength, PacketBuffer, parseArp, parseEthernet, parseIcmp, parseIpv4Header,
  parseTcp, parseUdp, parseVxlan, setHeaderOffsets, tcpHeaderLength, tcpOptionsLength, TcpSegment, UdpPacket, vxlanDecapsulate,
  VxlanPacket, WireError, Ipv4Reassembler, fragmentIpv4, buildTcpFrame, buildUdpFrame, buildIcmpFrame, buildArpFrame, vxlanEncapsulate,
} from '../../src/wire/index.js';
import type { ArpRepr, EthernetRepr, IcmpRepr, Ipv4Addr, Ipv4Repr, MacAddr, TcpOption, TcpRepr, UdpRepr, VxlanRepr } from '../../src/wire/index.js';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mac = fc.integer({ min: 0, max: 2 ** 48 - 1 }).map((n) => n as MacAddr);
const ip = u32.map((n) => n as Ipv4Addr);

const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.oneof(
  fc.record({ dst: mac, src: mac, ethertype: u16.filter((t) => t !== 0x8100) }),
  fc.record({ dst: mac, src: mac, ethertype: u16, vlan: fc.record({ pcp: fc.integer({ min: 0, max: 7 }), dei: fc.boolean(), vid: fc.integer({ min: 0, max: 4095 }) }) }),
);

const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({ op: u16, senderMac: mac, senderIp: ip, targetMac: mac, targetIp: ip });

const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  dscp: fc.integer({ min: 0, max: 63 }),
  ecn: fc.integer({ min: 0, max: 3 }),
  ident: u16,
  dontFragment: fc.boolean(),
  moreFragments: fc.boolean(),
  fragmentOffset: fc.integer({ min: 0, max: 8191 }).map((n) => n * 8),
  ttl: u8,
  protocol: u8,
  src: ip,
  dst: ip,
  options: fc.integer({ min: 0, max: 10 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
  payloadLength: fc.integer({ min: 0, max: 200 }),
});

const udpRepr: fc.Arbitrary<UdpRepr> = fc.record({ srcPort: u16, dstPort: u16, payloadLength: fc.integer({ min: 0, max: 200 }) });

const KNOWN_KINDS = new Set([0, 1, 2, 3, 4, 5, 8]);
const tcpOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ kind: 'nop' }),
  u16.map<TcpOption>((mss) => ({ kind: 'mss', mss })),
  u8.map<TcpOption>((shift) => ({ kind: 'window-scale', shift })),
  fc.constant<TcpOption>({ kind: 'sack-permitted' }),
  fc.array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 }).map<TcpOption>((blocks) => ({ kind: 'sack', blocks })),
  fc.record({ tsval: u32, tsecr: u32 }).map<TcpOption>((t) => ({ kind: 'timestamps', ...t })),
  fc.record({ type: u8.filter((k) => !KNOWN_KINDS.has(k)), data: fc.uint8Array({ maxLength: 6 }) }).map<TcpOption>((u) => ({ kind: 'unknown', ...u })),
);
/** Option lists that fit in 40 bytes; an unaligned list ends with EOL (padding follows it). */
const tcpOptions: fc.Arbitrary<TcpOption[]> = fc
  .tuple(fc.array(tcpOption, { maxLength: 8 }), fc.boolean())
  .map(([opts, eol]) => {
    const out: TcpOption[] = [];
    for (const o of opts) if (tcpOptionsLength([...out, o]) <= 39) out.push(o);
    if (eol || tcpOptionsLength(out) % 4 !== 0) out.push({ kind: 'eol' });
    return out;
  });

const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 0x1ff }), window: u16, urgent: u16,
  options: tcpOptions, payloadLength: fc.integer({ min: 0, max: 100 }),
});

const quote = fc.uint8Array({ maxLength: 80 });
const icmpRepr: fc.Arbitrary<IcmpRepr> = fc.oneof(
  fc.record({ ident: u16, seq: u16, data: fc.uint8Array({ maxLength: 80 }) }).map<IcmpRepr>((r) => ({ kind: 'echo-request', ...r })),
  fc.record({ ident: u16, seq: u16, data: fc.uint8Array({ maxLength: 80 }) }).map<IcmpRepr>((r) => ({ kind: 'echo-reply', ...r })),
  fc.record({ code: u8, nextHopMtu: u16, quote }).map<IcmpRepr>((r) => ({ kind: 'dest-unreachable', ...r })),
  fc.record({ code: u8, quote }).map<IcmpRepr>((r) => ({ kind: 'time-exceeded', ...r })),
  fc.record({ code: u8, gateway: ip, quote }).map<IcmpRepr>((r) => ({ kind: 'redirect', ...r })),
  fc.record({ code: u8, pointer: u8, quote }).map<IcmpRepr>((r) => ({ kind: 'parameter-problem', ...r })),
  fc.record({ type: u8.filter((t) => ![0, 3, 5, 8, 11, 12].includes(t)), code: u8, rest: u32, data: quote }).map<IcmpRepr>((r) => ({ kind: 'other', ...r })),
);

const vxlanRepr: fc.Arbitrary<VxlanRepr> = fc.record({ flags: u8, vni: fc.integer({ min: 0, max: 0xffffff }) });

describe('parse(emit(r)) equals r', () => {
  it('ethernet', () => {
    fc.assert(fc.property(ethernetRepr, (r) => {
      const b = new Uint8Array(ethernetHeaderLength(r));
      expect(emitEthernet(r, b)).toBe(b.length);
      expect(parseEthernet(b)).toEqual(r);
    }));
  });
  it('arp', () => {
    fc.assert(fc.property(arpRepr, (r) => {
      const b = new Uint8Array(28);
      emitArp(r, b);
      expect(parseArp(b)).toEqual(r);
    }));
  });
  it('ipv4 (and the header checksum verifies)', () => {
    fc.assert(fc.property(ipv4Repr, (r) => {
      const b = new Uint8Array(ipv4HeaderLength(r) + r.payloadLength);
      emitIpv4Header(r, b);
      expect(parseIpv4Header(b)).toEqual(r);
      expect(Ipv4Packet.checked(b).checksumValid()).toBe(true);
    }));
  });
  it('udp (and the checksum verifies)', () => {
    fc.assert(fc.property(udpRepr, ip, ip, fc.boolean(), (r, s, d, ck) => {
      const b = new Uint8Array(8 + r.payloadLength);
      emitUdp(r, b, 0, ck ? { src: s, dst: d } : null);
      expect(parseUdp(b)).toEqual(r);
      expect(UdpPacket.checked(b).checksumValid(s, d)).toBe(true);
    }));
  });
  it('tcp (and the checksum verifies)', () => {
    fc.assert(fc.property(tcpRepr, ip, ip, (r, s, d) => {
      const b = new Uint8Array(tcpHeaderLength(r) + r.payloadLength);
      emitTcp(r, b, 0, { src: s, dst: d });
      expect(parseTcp(b)).toEqual(r);
      expect(TcpSegment.checked(b).checksumValid(s, d)).toBe(true);
    }));
  });
  it('icmp (and the checksum verifies)', () => {
    fc.assert(fc.property(icmpRepr, (r) => {
      const b = new Uint8Array(icmpLength(r));
      expect(emitIcmp(r, b)).toBe(b.length);
      expect(parseIcmp(b)).toEqual(r);
      expect(IcmpPacket.checked(b).checksumValid()).toBe(true);
    }));
  });
  it('vxlan', () => {
    fc.assert(fc.property(vxlanRepr, (r) => {
      const b = new Uint8Array(8);
      emitVxlan(r, b);
      expect(parseVxlan(b)).toEqual(r);
    }));
  });
});

/** Runs `f`, and fails unless it returns or throws a WireError. */
function onlyWireError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof WireError)) throw new Error(`threw ${String(e)}, not a WireError`);
    expect(e.field).toMatch(/^[a-z0-9]+\.[a-z_]+$/);
  }
}

/** Every view accessor, after checked(): none may throw. */
function touchAll(b: Uint8Array): void {
  onlyWireError(() => {
    const f = EthernetFrame.checked(b);
    [f.dst(), f.src(), f.ethertype(), f.vlanTci(), f.headerLength(), f.payload()];
  });
  onlyWireError(() => {
    const p = ArpPacket.checked(b);
    [p.op(), p.senderMac(), p.senderIp(), p.targetMac(), p.targetIp()];
  });
  onlyWireError(() => {
    const p = Ipv4Packet.checked(b);
    [p.version(), p.headerLength(), p.tos(), p.totalLength(), p.ident(), p.dontFragment(), p.fragmentOffset(), p.ttl(), p.protocol(),
      p.src(), p.dst(), p.options(), p.payload(), p.checksumValid()];
  });
  onlyWireError(() => {
    const p = Ipv4Packet.checkedQuote(b);
    [p.headerLength(), p.totalLength(), p.src(), p.dst(), p.options(), p.payload(), p.payloadLength(), p.checksumValid()];
  });
  onlyWireError(() => {
    const p = UdpPacket.checked(b);
    [p.srcPort(), p.dstPort(), p.length(), p.payload(), p.checksumValid(1 as Ipv4Addr, 2 as Ipv4Addr)];
  });
  onlyWireError(() => {
    const p = TcpSegment.checked(b);
    [p.srcPort(), p.seq(), p.ack(), p.flags(), p.window(), p.options(), p.mss(), p.windowScale(), p.sackPermitted(), p.tsval(), p.tsecr(),
      p.payload(), p.checksumValid(1 as Ipv4Addr, 2 as Ipv4Addr)];
  });
  onlyWireError(() => {
    const p = IcmpPacket.checked(b);
    [p.type(), p.code(), p.rest(), p.ident(), p.seq(), p.nextHopMtu(), p.data(), p.checksumValid()];
  });
  onlyWireError(() => {
    const p = VxlanPacket.checked(b);
    [p.flags(), p.vni(), p.payload()];
  });
  for (const parse of [parseEthernet, parseArp, parseIpv4Header, parseUdp, parseTcp, parseIcmp, parseVxlan]) onlyWireError(() => parse(b));
  onlyWireError(() => vxlanDecapsulate(PacketBuffer.from(b), { verifyChecksum: true }));
  onlyWireError(() => setHeaderOffsets(PacketBuffer.from(b)));
  onlyWireError(() => new Ipv4Reassembler().add(PacketBuffer.from(b), 0));
  onlyWireError(() => fragmentIpv4(PacketBuffer.from(b), 68));
}

/** Valid frames of every kind, to mutate: random bytes rarely get past the first check. */
const validFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(ethernetRepr, ipv4Repr, tcpRepr).map(([e, i, t]) => buildTcpFrame(e, i, t, new Uint8Array(t.payloadLength)).data()),
  fc.tuple(ethernetRepr, ipv4Repr, udpRepr).map(([e, i, u]) => buildUdpFrame(e, i, u, new Uint8Array(u.payloadLength)).data()),
  fc.tuple(ethernetRepr, ipv4Repr, icmpRepr).map(([e, i, m]) => buildIcmpFrame(e, i, m).data()),
  arpRepr.map((a) => buildArpFrame(a).data()),
  fc.tuple(ethernetRepr, ipv4Repr, udpRepr, vxlanRepr).map(([e, i, u, v]) =>
    vxlanEncapsulate(buildUdpFrame(e, i, u, new Uint8Array(u.payloadLength)), { eth: e, ip: i, srcPort: 1, vni: v.vni, flags: v.flags }).data()),
);

describe('bad bytes raise WireError only', () => {
  it('a view asked to cover more bytes than present names the length', () => {
    const b = new Uint8Array(100);
    b[0] = 0x45;
    for (const [name, checked] of [
      ['ethernet', EthernetFrame.checked], ['arp', ArpPacket.checked], ['ipv4', Ipv4Packet.checked], ['ipv4', Ipv4Packet.checkedQuote],
      ['udp', UdpPacket.checked], ['tcp', TcpSegment.checked], ['icmp', IcmpPacket.checked], ['vxlan', VxlanPacket.checked],
    ] as const) {
      expect(() => checked(b, 0, 101)).toThrowError(new WireError(`${name}.length`, 'bytes [0, 101) are not within the 100 present'));
      expect(() => checked(b, -1, 10)).toThrow(WireError);
    }
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (b) => touchAll(b)), { numRuns: 2000 });
  });

  it('valid frames with bytes flipped, cut short, or read from a later offset', () => {
    fc.assert(fc.property(validFrame, fc.array(fc.tuple(fc.nat(), u8), { maxLength: 6 }), fc.nat(), fc.nat(60), (f, flips, cut, skip) => {
      const b = f.slice();
      for (const [at, v] of flips) if (b.length) b[at % b.length] = v;
      const n = b.length ? cut % (b.length + 1) : 0;
      touchAll(b.subarray(0, n));
      touchAll(b.subarray(Math.min(skip, b.length)));
    }), { numRuns: 1000 });
  });
});
