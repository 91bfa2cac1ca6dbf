import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileSink } from '../../src/pcap/file-sink.js';
import { MemorySink, PcapWriter, PcapngWriter, filterCapture, readCapture } from '../../src/pcap/index.js';
import type { Direction } from '../../src/pcap/index.js';

interface Frame {
  iface: string;
  timeNs: number;
  bytes: Uint8Array;
  direction: Direction;
  comment: string | undefined;
}

const frameArb: fc.Arbitrary<Frame> = fc.record({
  iface: fc.constantFrom('192.168.4.88/root/eth0', '192.168.4.88/root/flannel.1', '192.168.4.88/pod-x/eth0', 'n/ns/é€'),
  timeNs: fc.maxSafeNat(),
  bytes: fc.uint8Array({ maxLength: 200 }),
  direction: fc.constantFrom<Direction>('in', 'out'),
  comment: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
});

const NS = 1_000_000_000n;

describe('pcapng round trip', () => {
  it('reads back every frame as written, in either byte order', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 30 }),
        fc.constantFrom<'le' | 'be'>('le', 'be'),
        fc.nat({ max: 4_000_000_000 }),
        (frames, byteOrder, epochSeconds) => {
          const sink = new MemorySink();
          const w = new PcapngWriter(sink, { byteOrder, epochSeconds });
          for (const f of frames) w.frame(f.iface, f.timeNs, f.bytes, f.direction, ...(f.comment === undefined ? [] : [f.comment]));
          const file = readCapture(sink.bytes());
          expect(file.format).toBe('pcapng');
          expect(file.byteOrder).toBe(byteOrder);
          expect(file.sections).toEqual([{ application: 'kubewire', hardware: null, os: null, comment: null }]);
          // One IDB per distinct name, ids in order of first appearance.
          const names = [...new Set(frames.map((f) => f.iface))];
          expect(file.interfaces.map((i) => [i.id, i.name, i.tsresol, i.linktype])).toEqual(names.map((n, i) => [i, n, 9, 1]));
          expect(file.records.length).toBe(frames.length);
          file.records.forEach((r, i) => {
            const f = frames[i]!;
            expect(r.interfaceName).toBe(f.iface);
            expect(r.interfaceId).toBe(names.indexOf(f.iface));
            expect(r.timestampNs).toBe(BigInt(epochSeconds) * NS + BigInt(f.timeNs));
            expect(r.data).toEqual(f.bytes);
            expect(r.originalLength).toBe(f.bytes.length);
            expect(r.direction).toBe(f.direction);
            expect(r.flags).toBe(f.direction === 'in' ? 1 : 2);
            expect(r.comment).toBe(f.comment ?? null);
          });
        },
      ),
    );
  });

  it('keeps interface options given up front, and their first id', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { comment: 'seed 42', hardware: 'hw', os: 'Linux 6.18' });
    expect(w.addInterface('a/root/eth0', { description: 'underlay', mac: 0x7a36c754f649, snaplen: 96 })).toBe(0);
    w.frame('b/root/cni0', 5, new Uint8Array(10), 'in');
    expect(w.addInterface('a/root/eth0', { description: 'ignored' })).toBe(0);
    w.frame('a/root/eth0', 6, new Uint8Array(150).fill(7), 'out', 'long');
    const file = readCapture(sink.bytes());
    expect(file.sections[0]).toEqual({ application: 'kubewire', hardware: 'hw', os: 'Linux 6.18', comment: 'seed 42' });
    expect(file.interfaces).toEqual([
      { id: 0, section: 0, linktype: 1, snaplen: 96, name: 'a/root/eth0', description: 'underlay', mac: 0x7a36c754f649, tsresol: 9 },
      { id: 1, section: 0, linktype: 1, snaplen: 262144, name: 'b/root/cni0', description: null, mac: null, tsresol: 9 },
    ]);
    // snaplen 96 truncates the capture but keeps the original length.
    expect(file.records[1]!.data).toEqual(new Uint8Array(96).fill(7));
    expect(file.records[1]!.originalLength).toBe(150);
    expect(file.records.map((r) => r.interfaceId)).toEqual([1, 0]);
  });

  it('streams: each block reaches the sink when written', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    const afterShb = sink.length;
    expect(afterShb).toBeGreaterThan(0);
    w.frame('x/root/eth0', 1, new Uint8Array(60), 'out');
    const afterFirst = sink.length;
    expect(afterFirst).toBeGreaterThan(afterShb + 60); // IDB + EPB
    w.frame('x/root/eth0', 2, new Uint8Array(60), 'out');
    expect(sink.length - afterFirst).toBe(32 + 60 + 8 + 4); // EPB: header 28 + data + epb_flags + end + trailer
  });

  it('rejects times that are not non-negative integers of nanoseconds', () => {
    const w = new PcapngWriter(new MemorySink());
    expect(() => w.frame('a', -1, new Uint8Array(1), 'in')).toThrow(RangeError);
    expect(() => w.frame('a', 1.5, new Uint8Array(1), 'in')).toThrow(RangeError);
  });
});

describe('classic pcap round trip', () => {
  it('reads back every frame in both resolutions and byte orders', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 30 }),
        fc.constantFrom<'le' | 'be'>('le', 'be'),
        fc.constantFrom<'micros' | 'nanos'>('micros', 'nanos'),
        fc.nat({ max: 1_000_000_000 }),
        (frames, byteOrder, resolution, epochSeconds) => {
          const sink = new MemorySink();
          const w = new PcapWriter(sink, { byteOrder, resolution, epochSeconds });
          // ts_sec is a u32: epoch (<= 1e9 s) + any safe-integer time (< 9.1e6 s) fits.
          const fit = frames;
          for (const f of fit) w.frame(f.iface, f.timeNs, f.bytes, f.direction);
          const file = readCapture(sink.bytes());
          expect(file.format).toBe('pcap');
          expect(file.byteOrder).toBe(byteOrder);
          expect(file.resolution).toBe(resolution);
          expect(file.interfaces).toEqual([
            { id: 0, section: 0, linktype: 1, snaplen: 262144, name: null, description: null, mac: null, tsresol: resolution === 'nanos' ? 9 : 6 },
          ]);
          expect(file.records.length).toBe(fit.length);
          file.records.forEach((r, i) => {
            const f = fit[i]!;
            const t = BigInt(f.timeNs);
            const expected = BigInt(epochSeconds) * NS + (resolution === 'nanos' ? t : (t / 1000n) * 1000n);
            expect(r.timestampNs).toBe(expected);
            expect(r.data).toEqual(f.bytes);
            expect(r.originalLength).toBe(f.bytes.length);
            expect(r.interfaceName).toBeNull();
            expect(r.direction).toBeNull();
          });
        },
      ),
    );
  });

  it('truncates to the snaplen and keeps the original length', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { snaplen: 64 });
    w.packet(0, new Uint8Array(100).fill(1));
    const r = readCapture(sink.bytes()).records[0]!;
    expect(r.data.length).toBe(64);
    expect(r.originalLength).toBe(100);
  });

  it('refuses a time past what ts_sec can hold', () => {
    const w = new PcapWriter(new MemorySink(), { epochSeconds: 0xffffffff });
    expect(() => w.packet(1_000_000_000, new Uint8Array(1))).toThrow(RangeError);
  });
});

describe('filterCapture', () => {
  it('passes only the chosen interfaces, comment and direction intact', () => {
    const sink = new MemorySink();
    const tap = filterCapture(new PcapngWriter(sink), (name) => name.endsWith('/flannel.1'));
    tap.frame('n/root/eth0', 1, new Uint8Array([1]), 'out', 'dropped');
    tap.frame('n/root/flannel.1', 2, new Uint8Array([2]), 'in', 'kept');
    tap.frame('n/root/flannel.1', 3, new Uint8Array([3]), 'out');
    const file = readCapture(sink.bytes());
    expect(file.interfaces.map((i) => i.name)).toEqual(['n/root/flannel.1']);
    expect(file.records.map((r) => [r.timestampNs, r.data[0], r.direction, r.comment])).toEqual([
      [2n, 2, 'in', 'kept'],
      [3n, 3, 'out', null],
    ]);
  });
});

describe('FileSink', () => {
  it('writes exactly the bytes the writer produced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kwt-pcap-'));
    try {
      const path = join(dir, 'x.pcapng');
      const mem = new MemorySink();
      const tee = { write: (c: Uint8Array) => (mem.write(c), file.write(c)) };
      const file = new FileSink(path);
      const w = new PcapngWriter(tee);
      w.frame('a/root/eth0', 1, new Uint8Array([1, 2, 3]), 'in', 'hello');
      file.close();
      expect(new Uint8Array(readFileSync(path))).toEqual(mem.bytes());
      expect(() => file.write(new Uint8Array(1))).toThrow(/after close/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
