import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemorySink, PcapWriter, PcapngWriter, readCapture } from '../../src/pcap/index.js';
import { WireError } from '../../src/wire/error.js';

function sample(kind: 'pcap' | 'pcapng'): Uint8Array {
  const sink = new MemorySink();
  const frames: [string, number, number, 'in' | 'out', string][] = [
    ['n/root/eth0', 10, 42, 'out', 'arp request'],
    ['n/pod/eth0', 20, 98, 'in', 'echo'],
    ['n/root/eth0', 30, 61, 'in', 'é'],
  ];
  const w = kind === 'pcap' ? new PcapWriter(sink) : new PcapngWriter(sink);
  for (const [i, t, n, d, c] of frames) w.frame(i, t, new Uint8Array(n).fill(n), d, c);
  return sink.bytes();
}

function fieldOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof WireError) return e.field;
    throw e;
  }
  return 'no error';
}

describe('reader on malformed input', () => {
  it('names the field that is wrong', () => {
    const ng = sample('pcapng');
    const pc = sample('pcap');
    expect(fieldOf(() => readCapture(new Uint8Array([1, 2])))).toBe('capture.magic');
    expect(fieldOf(() => readCapture(new Uint8Array(24)))).toBe('capture.magic');
    expect(fieldOf(() => readCapture(pc.subarray(0, 20)))).toBe('pcap.header');
    expect(fieldOf(() => readCapture(pc.subarray(0, 30)))).toBe('pcap.record.header');
    expect(fieldOf(() => readCapture(pc.subarray(0, pc.length - 1)))).toBe('pcap.record.incl_len');
    expect(fieldOf(() => readCapture(ng.subarray(0, ng.length - 4)))).toBe('pcapng.block[5].block_total_length');
    const badTrailer = ng.slice();
    badTrailer[43] = 0x55; // last byte of the SHB's trailing length
    expect(fieldOf(() => readCapture(badTrailer))).toBe('pcapng.block[0].block_total_length');
    const badMagic = ng.slice();
    badMagic[8] = 0;
    expect(fieldOf(() => readCapture(badMagic))).toBe('pcapng.block[0].shb.byte_order_magic');
    // Without its IDB (block 1) the first EPB names a missing interface.
    const idbLen = ng[48]!; // IDB total length (LE, < 256) at offset 44 + 4
    const noIdb = new Uint8Array([...ng.subarray(0, 44), ...ng.subarray(44 + idbLen)]);
    expect(fieldOf(() => readCapture(noIdb))).toBe('pcapng.block[1].epb.interface_id');
    // A file that starts with an IDB is not pcapng.
    expect(fieldOf(() => readCapture(ng.subarray(44)))).toBe('capture.magic');
  });

  it('rejects invalid UTF-8 in a comment', () => {
    const sink = new MemorySink();
    new PcapngWriter(sink).frame('a', 0, new Uint8Array(4), 'in', 'zz');
    const b = sink.bytes();
    const at = b.lastIndexOf(0x7a); // second 'z'
    b[at] = 0xff;
    expect(fieldOf(() => readCapture(b))).toMatch(/opt_comment$/);
  });

  it('throws nothing but WireError on random bytes or random corruption', () => {
    const files = [sample('pcap'), sample('pcapng')];
    const check = (b: Uint8Array) => {
      try {
        readCapture(b);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check));
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (which, edits, cut) => {
          const b = files[which]!.slice();
          for (const [at, v] of edits) b[at % b.length] = v;
          check(b);
          check(b.subarray(0, cut % (b.length + 1)));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
