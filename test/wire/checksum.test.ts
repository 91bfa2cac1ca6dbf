import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  checksumReplace16, checksumReplace32, foldSum, internetChecksum, l4Checksum, pseudoHeaderSum, read16, read32, sumWords,
  udpChecksumOnWire, write16, write32, IPPROTO_UDP,
} from '../../src/wire/checksum.js';

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

/** A slow, obviously correct RFC 1071 checksum to check the fast one against. */
function slowChecksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) {
    s += (b[i]! << 8) + (i + 1 < b.length ? b[i + 1]! : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

describe('internet checksum', () => {
  it('matches the RFC 1071 worked example', () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
    const b = hex('0001f203f4f5f6f7');
    expect(foldSum(sumWords(b, 0, b.length))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it('gives the IPv4 header checksum of the captured outer header (linux-path 5.4)', () => {
    const h = hex('45000086737b000040110000c0a80456c0a80457');
    expect(internetChecksum(h)).toBe(0x7cee);
    write16(h, 10, 0x7cee);
    expect(internetChecksum(h)).toBe(0);
  });

  it('pads an odd final byte with zero', () => {
    expect(internetChecksum(hex('ff'))).toBe(~0xff00 & 0xffff);
    expect(internetChecksum(hex('0102 03'))).toBe(~(0x0102 + 0x0300) & 0xffff);
  });

  it('equals a slow reference on any bytes at any offset', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 1600 }), fc.nat(8), (b, pre) => {
      const buf = new Uint8Array(pre + b.length);
      buf.set(b, pre);
      expect(internetChecksum(buf, pre, b.length)).toBe(slowChecksum(b));
    }), { numRuns: 500 });
  });

  it('sums long runs in any alignment of the underlying buffer', () => {
    const big = new Uint8Array(2100);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + 13) & 255;
    for (let base = 0; base < 8; base++) {
      const view = new Uint8Array(big.buffer, base, 2000);
      for (let off = 0; off < 8; off++) {
        for (const len of [64, 65, 66, 67, 1499, 1500]) {
          expect(internetChecksum(view, off, len)).toBe(slowChecksum(view.subarray(off, off + len)));
        }
      }
    }
    expect(internetChecksum(new Uint8Array(1000).fill(0xff))).toBe(0);
    expect(internetChecksum(new Uint8Array(1000))).toBe(0xffff);
  });

  it('maps a computed UDP checksum of 0 to 0xffff', () => {
    expect(udpChecksumOnWire(0)).toBe(0xffff);
    expect(udpChecksumOnWire(0x1234)).toBe(0x1234);
  });

  it('pseudo-header sum covers src, dst, protocol and length', () => {
    expect(pseudoHeaderSum(0x01020304, 0x05060708, 17, 8)).toBe(0x0102 + 0x0304 + 0x0506 + 0x0708 + 17 + 8);
    const udp = hex('0035 0035 0008 0000');
    const c = l4Checksum(udp, 0, 8, 0x0a000001, 0x0a000002, IPPROTO_UDP);
    write16(udp, 6, c);
    expect(l4Checksum(udp, 0, 8, 0x0a000001, 0x0a000002, IPPROTO_UDP)).toBe(0);
  });
});

describe('RFC 1624 incremental update', () => {
  // The checksummed data always contains a non-zero constant word (as an IP header's 0x45..
  // or a pseudo-header's protocol), so the sum is never the degenerate all-zero one.
  const data = fc.uint8Array({ minLength: 4, maxLength: 80 }).map((b) => {
    const c = new Uint8Array(b.length + (b.length & 1) + 2);
    c.set(b, 2);
    c[0] = 0x45;
    return c;
  });

  it('a 16-bit change equals a full recompute', () => {
    fc.assert(fc.property(data, fc.nat(), fc.integer({ min: 0, max: 0xffff }), (b, at, nv) => {
      const o = 2 + 2 * (at % ((b.length - 2) >> 1));
      const before = internetChecksum(b);
      const old = read16(b, o);
      write16(b, o, nv);
      expect(checksumReplace16(before, old, nv)).toBe(internetChecksum(b));
    }));
  });

  it('a 32-bit change equals a full recompute', () => {
    fc.assert(fc.property(data.filter((b) => b.length >= 6), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (b, at, nv) => {
      const o = 2 + 2 * (at % ((b.length - 4) >> 1));
      const before = internetChecksum(b);
      const old = read32(b, o);
      write32(b, o, nv);
      expect(checksumReplace32(before, old, nv)).toBe(internetChecksum(b));
    }));
  });

  it('RFC 1624 section 4 example: 0xdd2f changes to 0x3285', () => {
    // HC = 0x0000 stands for a data sum of 0xffff; replacing m = 0x5555 with m' = 0x3285.
    expect(checksumReplace16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });
});
