import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildIcmpFrame, buildTcpFrame, buildUdpFrame, emitVxlan, EthernetFrame, IcmpPacket, Ipv4Packet, linuxSynOptions, PacketBuffer,
  parseIcmp, parseIpv4, parseMac, parseVxlan, setHeaderOffsets, TcpSegment, UdpPacket, vxlanDecapsulate, vxlanEncapsulate,
  VxlanPacket, WireError, ETHERTYPE_IPV4, IPPROTO_UDP, TCP_SYN, VXLAN_PORT_IANA,
} from '../../src/wire/index.js';
import type { VxlanOuter } from '../../src/wire/index.js';
import { a5, toHex } from './fixtures.js';

/** Reads the fixture: offset -> byte, or null for a byte marked varying ("xx"). */
function loadReference(): Map<number, number | null> {
  const path = fileURLToPath(new URL('../fixtures/wire/flannel-vxlan-icmp-148.txt', import.meta.url));
  const m = new Map<number, number | null>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const row = /^(\d+)\s+((?:(?:[0-9a-f]{2}|xx) ?)+)/.exec(line);
    if (!row) continue;
    row[2]!.trim().split(' ').forEach((b, i) => m.set(Number(row[1]) + i, b === 'xx' ? null : parseInt(b, 16)));
  }
  return m;
}

const A_FLANNEL = parseMac('aa:aa:aa:00:00:01');
const B_FLANNEL = parseMac('aa:aa:aa:00:00:02');
const outer: VxlanOuter = {
  eth: { dst: parseMac('e6:d8:6c:c3:af:74'), src: parseMac('7a:36:c7:54:f6:49') },
  ip: { src: parseIpv4('192.168.4.86'), dst: parseIpv4('192.168.4.87'), ident: 0x737b, ttl: 64, dontFragment: false },
  srcPort: 52971,
  vni: 1,
};

/** The inner frame of 5.4: ping's 56 data bytes (8-byte timestamp, then 0x08..0x37). */
function innerEcho(): PacketBuffer {
  const data = new Uint8Array(56);
  for (let i = 8; i < 56; i++) data[i] = i;
  return buildIcmpFrame({ dst: B_FLANNEL, src: A_FLANNEL },
    { src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.42.1.2'), ttl: 63, ident: 0x302f, dontFragment: true },
    { kind: 'echo-request', ident: 7, seq: 1, data });
}

describe('the 148-byte flannel VXLAN frame of linux-path.md 5.4', () => {
  const ref = loadReference();
  const pkt = vxlanEncapsulate(innerEcho(), outer);
  const bytes = pkt.data();

  it('rebuilt from Reprs, equals the captured bytes except the ones marked varying', () => {
    expect(bytes.length).toBe(148);
    expect(ref.size).toBe(74);
    const diffs: string[] = [];
    for (const [off, want] of ref) {
      if (want === null) continue;
      if (bytes[off] !== want) diffs.push(`${off}: ${bytes[off]!.toString(16)} != ${want.toString(16)}`);
    }
    expect(diffs).toEqual([]);
    expect([...ref].filter(([, v]) => v === null).map(([k]) => k)).toEqual([40, 41]);
  });

  it('the varying outer UDP checksum is full and verifies; the inner checksums too', () => {
    const ip = Ipv4Packet.checked(bytes, 14);
    expect(ip.checksumValid()).toBe(true);
    const udp = UdpPacket.checked(bytes, 34, ip.payloadLength());
    expect(udp.checksum()).not.toBe(0);
    expect(udp.checksumValid(ip.src(), ip.dst())).toBe(true);
    const inner = Ipv4Packet.checked(bytes, 64);
    expect(inner.checksumValid()).toBe(true);
    expect(IcmpPacket.checked(bytes, 84, inner.payloadLength()).checksumValid()).toBe(true);
    expect(pkt.mac).toBe(pkt.head);
    expect(pkt.network).toBe(pkt.head + 14);
    expect(pkt.transport).toBe(pkt.head + 34);
  });
});

describe('vxlan', () => {
  it('header: flags 0x08, 24-bit VNI, reserved zero', () => {
    const b = a5(8);
    emitVxlan({ flags: 0x08, vni: 0xabcdef }, b);
    expect(toHex(b)).toBe('08000000abcdef00');
    const v = VxlanPacket.checked(b);
    expect(v.vni()).toBe(0xabcdef);
    expect(v.vniValid()).toBe(true);
    expect(parseVxlan(b)).toEqual({ flags: 8, vni: 0xabcdef });
    expect(() => parseVxlan(b.subarray(0, 7))).toThrow(/vxlan\.header/);
  });

  it('encapsulates in the headroom without copying the inner frame', () => {
    const pkt = innerEcho();
    const buf = pkt.buf;
    const innerHead = pkt.head;
    const inner = toHex(pkt.data());
    vxlanEncapsulate(pkt, outer);
    expect(pkt.buf).toBe(buf);
    expect(pkt.head).toBe(innerHead - 50);
    expect(toHex(buf.subarray(innerHead, pkt.end))).toBe(inner);
  });

  it('decapsulates back to the same inner frame, in place, and answers the VNI', () => {
    const pkt = innerEcho();
    const inner = toHex(pkt.data());
    vxlanEncapsulate(pkt, { ...outer, vni: 4096 });
    const buf = pkt.buf;
    expect(vxlanDecapsulate(pkt, { verifyChecksum: true })).toEqual({ flags: 8, vni: 4096 });
    expect(pkt.buf).toBe(buf);
    expect(toHex(pkt.data())).toBe(inner);
    expect(pkt.mac).toBe(pkt.head);
    expect(pkt.network).toBe(pkt.head + 14);
    expect(pkt.transport).toBe(-1);
  });

  it('decapsulates from the UDP header when the receive path has stripped to it', () => {
    const pkt = innerEcho();
    const inner = toHex(pkt.data());
    vxlanEncapsulate(pkt, outer);
    pkt.pull(34);
    expect(vxlanDecapsulate(pkt, { from: 'udp' }).vni).toBe(1);
    expect(toHex(pkt.data())).toBe(inner);
  });

  it('carries an inner TCP SYN, trims padding, and reallocates only when headroom is short', () => {
    const syn = buildTcpFrame({ dst: B_FLANNEL, src: A_FLANNEL }, { src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.42.1.2'), dontFragment: true },
      { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: TCP_SYN, window: 64860, urgent: 0, options: linuxSynOptions({ mss: 1410, timestamps: { tsval: 1, tsecr: 0 }, windowScale: 10 }) },
      new Uint8Array(0), { headroom: 0 });
    const inner = toHex(syn.data());
    vxlanEncapsulate(syn, { ...outer, dstPort: VXLAN_PORT_IANA });
    expect(syn.length).toBe(50 + 74);
    setHeaderOffsets(syn);
    expect(UdpPacket.checked(syn.buf, syn.transport).dstPort()).toBe(4789);
    syn.put(6); // Ethernet padding after the datagram
    vxlanDecapsulate(syn);
    expect(toHex(syn.data())).toBe(inner);
    const ip = Ipv4Packet.checked(syn.buf, syn.network);
    expect(TcpSegment.checked(syn.buf, ip.payloadOffset(), ip.payloadLength()).checksumValid(ip.src(), ip.dst())).toBe(true);
  });

  it('sends the outer UDP checksum as 0 when udpcsum is off', () => {
    const pkt = vxlanEncapsulate(innerEcho(), { ...outer, udpChecksum: false });
    expect(UdpPacket.checked(pkt.buf, pkt.transport).checksum()).toBe(0);
  });

  it('refuses what vxlan_rcv drops, naming the field, and leaves the packet unchanged', () => {
    const pkt = vxlanEncapsulate(innerEcho(), outer);
    pkt.buf[pkt.head + 42] = 0; // flags: I clear
    const before = [pkt.head, pkt.end, pkt.mac, pkt.network, pkt.transport];
    expect(() => vxlanDecapsulate(pkt)).toThrowError(new WireError('vxlan.flags', '0x0, the I flag is not set'));
    expect([pkt.head, pkt.end, pkt.mac, pkt.network, pkt.transport]).toEqual(before);
    pkt.buf[pkt.head + 42] = 8;
    pkt.buf[pkt.head + 40] = pkt.buf[pkt.head + 40]! ^ 1; // break the checksum
    expect(() => vxlanDecapsulate(pkt, { verifyChecksum: true })).toThrow(/udp\.checksum/);
    const udp = buildUdpFrame({ dst: B_FLANNEL, src: A_FLANNEL }, { src: 1 as never, dst: 2 as never }, { srcPort: 1, dstPort: 8472 }, new Uint8Array(4));
    expect(() => vxlanDecapsulate(udp)).toThrow(/vxlan\.header/);
    const icmp = innerEcho();
    expect(() => vxlanDecapsulate(icmp)).toThrow(/ipv4\.protocol/);
  });

  it('setHeaderOffsets finds mac, network and transport', () => {
    const pkt = vxlanEncapsulate(innerEcho(), outer);
    pkt.mac = pkt.network = pkt.transport = -1;
    setHeaderOffsets(pkt);
    expect([pkt.mac - pkt.head, pkt.network - pkt.head, pkt.transport - pkt.head]).toEqual([0, 14, 34]);
    expect(EthernetFrame.checked(pkt.buf, pkt.mac).ethertype()).toBe(ETHERTYPE_IPV4);
    expect(Ipv4Packet.checked(pkt.buf, pkt.network).protocol()).toBe(IPPROTO_UDP);
    expect(parseIcmp(pkt.buf, pkt.head + 84, 64).kind).toBe('echo-request');
  });

  it('property: decapsulate(encapsulate(frame)) gives the frame back, in place, for any frame and outer fields', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 14, maxLength: 1600 }), fc.integer({ min: 0, max: 0xffffff }), fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffff }), fc.nat(200),
      (inner, vni, sport, src, dst, ident, headroom) => {
        const pkt = PacketBuffer.from(inner, headroom);
        const o = vxlanEncapsulate(pkt, { ...outer, ip: { src: src as never, dst: dst as never, ident }, srcPort: sport, vni });
        expect(o.length).toBe(inner.length + 50);
        expect(vxlanDecapsulate(o, { verifyChecksum: true })).toEqual({ flags: 8, vni });
        expect(toHex(o.data())).toBe(toHex(inner));
      }), { numRuns: 300 });
  });
});
