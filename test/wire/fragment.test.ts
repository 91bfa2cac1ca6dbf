import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  buildUdp, fragmentIpv4, Ipv4Packet, Ipv4Reassembler, ipv4OptionsFragment, PacketBuffer, parseIpv4, UdpPacket, IPFRAG_TIME_NS,
} from '../../src/wire/index.js';
import type { Ipv4Addr } from '../../src/wire/index.js';
import { toHex } from './fixtures.js';

const text = readFileSync(fileURLToPath(new URL('../fixtures/wire/real-kernel-frag.txt', import.meta.url)), 'utf8');
/** The captured frames, without their Ethernet header (the fragments are L3 packets). */
const captured = text.split('\n').filter((l) => l.includes(' | ') && !l.startsWith('#'))
  .map((l) => Uint8Array.from(Buffer.from(l.slice(l.lastIndexOf(' | ') + 3), 'hex')).subarray(14));

const A = parseIpv4('10.200.0.1');
const B = parseIpv4('10.200.0.2');

/** The datagram capture-frag.sh sent, as the kernel built it before fragmenting. */
function datagram(i: number): PacketBuffer {
  const first = Ipv4Packet.checked(captured[3 * i]!);
  const data = Uint8Array.from({ length: 3100 }, (_, j) => (j * 31 + i) & 255);
  return buildUdp({ src: A, dst: B, ident: first.ident(), options: first.options().slice() }, { srcPort: 41000 + i, dstPort: 9999 }, data);
}

describe('IPv4 fragmentation as ip_do_fragment', () => {
  it('splits a 3128-byte datagram into 1500 + 1500 + 168, byte for byte as the kernel did', () => {
    const frags = fragmentIpv4(datagram(0), 1500);
    expect(frags.map((f) => f.length)).toEqual([1500, 1500, 168]);
    expect(frags.map((f) => toHex(f.data()))).toEqual(captured.slice(0, 3).map(toHex));
    expect(frags[0]!.transport).toBe(frags[0]!.head + 20);
    expect(frags[1]!.transport).toBe(-1);
  });

  it('with options: the first fragment keeps them all, later ones only the copied ones (NOPs elsewhere)', () => {
    const d = datagram(1);
    expect(toHex(Ipv4Packet.checked(d.buf, d.network).options())).toBe('0707080ac8000101' + '94040000');
    const frags = fragmentIpv4(d, 1500);
    expect(frags.map((f) => f.length)).toEqual([1496, 1496, 212]);
    expect(frags.map((f) => toHex(f.data()))).toEqual(captured.slice(3, 6).map(toHex));
  });

  it('answers a packet that fits alone and keeps MF when refragmenting a middle fragment', () => {
    const small = buildUdp({ src: A, dst: B }, { srcPort: 1, dstPort: 2 }, new Uint8Array(100));
    expect(fragmentIpv4(small, 1500)).toEqual([small]);
    const mid = PacketBuffer.from(captured[1]!);
    mid.network = mid.head;
    const again = fragmentIpv4(mid, 1000);
    expect(again.map((f) => Ipv4Packet.checked(f.buf, f.network).moreFragments())).toEqual([true, true]);
    expect(again.map((f) => Ipv4Packet.checked(f.buf, f.network).fragmentOffset())).toEqual([1480, 1480 + 976]);
    expect(() => fragmentIpv4(small, 27)).toThrow(RangeError);
  });

  it('ip_options_fragment keeps copied options and NOPs the rest', () => {
    const o = Uint8Array.from([0x07, 0x07, 0x04, 0, 0, 0, 0, 0x01, 0x94, 0x04, 0, 0, 0x44, 0x04, 0x05, 0x00]);
    ipv4OptionsFragment(o, 0, o.length);
    expect(toHex(o)).toBe('01010101010101019404000001010101');
  });
});

describe('IPv4 reassembly as ip_defrag', () => {
  it('reassembles the kernel fragments, in any order, to the datagram that was sent', () => {
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0]]) {
      const r = new Ipv4Reassembler();
      let whole: PacketBuffer | null = null;
      for (const i of order) {
        const f = PacketBuffer.from(captured[i]!);
        whole = r.add(f, 0);
        if (i !== order.at(-1)) expect(whole).toBeNull();
      }
      expect(whole).not.toBeNull();
      expect(toHex(whole!.data())).toBe(toHex(datagram(0).data()));
      expect(r.size).toBe(0);
      const ip = Ipv4Packet.checked(whole!.buf, whole!.network);
      expect(UdpPacket.checked(whole!.buf, whole!.transport, ip.payloadLength()).checksumValid(ip.src(), ip.dst())).toBe(true);
    }
  });

  it('drops a duplicate, discards the queue on a partial overlap', () => {
    const r = new Ipv4Reassembler();
    r.add(PacketBuffer.from(captured[0]!), 0);
    expect(r.add(PacketBuffer.from(captured[0]!), 1)).toBeNull();
    expect(r.last).toBe('duplicate');
    expect(r.size).toBe(1);
    // A fragment at offset 8 overlaps the first one partially.
    const bad = captured[1]!.slice();
    bad[6] = 0x20;
    bad[7] = 0x01;
    bad[10] = bad[11] = 0;
    expect(r.add(PacketBuffer.from(bad), 2)).toBeNull();
    expect(r.last).toBe('overlap');
    expect(r.size).toBe(0);
  });

  it('a second last fragment with another end is corruption', () => {
    const r = new Ipv4Reassembler();
    r.add(PacketBuffer.from(captured[2]!), 0);
    const other = captured[1]!.slice();
    other[6] = 0x00; // clear MF: a "last" fragment ending at 2960
    expect(r.add(PacketBuffer.from(other), 0)).toBeNull();
    expect(r.last).toBe('bad-length');
  });

  it('times out after ipfrag_time and hands back the first fragment for ICMP time exceeded', () => {
    const r = new Ipv4Reassembler();
    r.add(PacketBuffer.from(captured[0]!), 0);
    r.add(PacketBuffer.from(captured[2]!), 5);
    expect(r.expire(IPFRAG_TIME_NS - 1)).toEqual([]);
    const gone = r.expire(IPFRAG_TIME_NS);
    expect(gone.length).toBe(1);
    expect(toHex(gone[0]!.data())).toBe(toHex(captured[0]!));
    expect(r.size).toBe(0);
    // A late fragment starts a new queue rather than completing the old one.
    expect(r.add(PacketBuffer.from(captured[1]!), IPFRAG_TIME_NS + 1)).toBeNull();
  });

  it('DF comes back when the largest fragment had it; CE wins over ECT; not-ECT with ECT is dropped', () => {
    const pkt = buildUdp({ src: A, dst: B, ident: 9, ecn: 2 }, { srcPort: 1, dstPort: 2 }, new Uint8Array(2000));
    const frags = fragmentIpv4(pkt, 1000);
    const set = (f: PacketBuffer, fn: (b: Uint8Array, o: number) => void) => {
      fn(f.buf, f.network);
      Ipv4Packet.checked(f.buf, f.network, f.end - f.network).fillChecksum();
      return f;
    };
    const r = new Ipv4Reassembler();
    const withDf = frags.map((f, i) => set(f.clone(), (b, o) => {
      if (i === 0) b[o + 6] = b[o + 6]! | 0x40;
      if (i === 1) b[o + 1] = 3; // CE
    }));
    let whole: PacketBuffer | null = null;
    for (const f of withDf) whole = r.add(f, 0);
    const ip = Ipv4Packet.checked(whole!.buf, whole!.network);
    expect(ip.dontFragment()).toBe(true);
    expect(ip.ecn()).toBe(3);
    expect(ip.checksumValid()).toBe(true);
    const mixed = frags.map((f, i) => set(f.clone(), (b, o) => {
      if (i === 2) b[o + 1] = 0; // not-ECT
    }));
    let none: PacketBuffer | null = null;
    for (const f of mixed) none = r.add(f, 0);
    expect(none).toBeNull();
    expect(r.last).toBe('ecn');
  });

  it('property: reassembling the fragments of any datagram, in any order, gives it back', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 68, max: 1500 }), fc.integer({ min: 0, max: 10 }), fc.nat(), fc.boolean(),
      (size, mtu, optWords, seed, df) => {
        const options = new Uint8Array(optWords * 4).fill(1);
        const pkt = buildUdp({ src: 1 as Ipv4Addr, dst: 2 as Ipv4Addr, ident: seed & 0xffff, options, dontFragment: df }, { srcPort: 7, dstPort: 9 },
          Uint8Array.from({ length: size }, (_, i) => (i * seed) & 255));
        if (mtu - 20 - options.length < 8) return;
        const frags = fragmentIpv4(pkt, mtu, { keepDf: df });
        if (frags.length > 1) expect(frags.every((f) => Ipv4Packet.checked(f.buf, f.network, f.end - f.network).dontFragment() === df)).toBe(true);
        for (const f of frags) expect(f.length).toBeLessThanOrEqual(Math.max(mtu, pkt.length <= mtu ? pkt.length : 0));
        // A seeded shuffle.
        const order = frags.map((f, i) => ({ f, k: (i * 2654435761 + seed) % 1000003 })).sort((x, y) => x.k - y.k).map((x) => x.f);
        const r = new Ipv4Reassembler();
        let whole: PacketBuffer | null = null;
        for (const f of order) whole = r.add(f, 0) ?? whole;
        expect(whole).not.toBeNull();
        // The options after the first fragment were NOP-only to begin with, so bytes are equal
        // (DF comes back because the largest fragment, like all, had it).
        expect(toHex(whole!.data())).toBe(toHex(pkt.data()));
      }), { numRuns: 200 });
  });
});
