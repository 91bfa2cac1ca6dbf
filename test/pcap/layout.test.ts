// Byte-for-byte checks of small files against the layouts of linux-path.md §6.3 (classic
// pcap) and §6.4 (pcapng), written out by hand field by field.
import { describe, expect, it } from 'vitest';
import { MemorySink, PcapWriter, PcapngWriter } from '../../src/pcap/index.js';

function hex(s: string): Uint8Array {
  const clean = s.replace(/#.*$/gm, '').replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

const DATA = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01]);
const T = 1_000_000_001; // 1 s + 1 ns

describe('pcapng layout (§6.4)', () => {
  it('writes SHB, IDB and EPB exactly', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.frame('a/b/c', T, DATA, 'in', 'x');
    expect(sink.bytes()).toEqual(
      hex(`
        0a0d0d0a 2c000000          # SHB, total length 44
        4d3c2b1a 0100 0000         # byte-order magic, version 1.0
        ffffffffffffffff           # section length -1 (unknown)
        0400 0800 6b756265 77697265 # shb_userappl "kubewire"
        0000 0000                  # opt_endofopt
        2c000000                   # total length again
        01000000 2c000000          # IDB, total length 44
        0100 0000 00000400         # linktype 1, reserved, snaplen 262144
        0200 0500 612f622f 63000000 # if_name "a/b/c" + 3 bytes padding
        0900 0100 09000000         # if_tsresol 9 (ns) + padding
        0000 0000
        2c000000
        06000000 3c000000          # EPB, total length 60
        00000000                   # interface id 0
        00000000 01ca9a3b          # timestamp high, low: 1000000001 ns
        05000000 05000000          # captured, original length
        deadbeef 01000000          # data padded to 4
        0100 0100 78000000         # opt_comment "x"
        0200 0400 01000000         # epb_flags: inbound
        0000 0000
        3c000000
      `),
    );
  });

  it('writes big-endian sections with the same structure', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { byteOrder: 'be', application: 'k' });
    w.frame('a', 0x1_0000_0002, new Uint8Array([9, 9, 9, 9]), 'out');
    expect(sink.bytes()).toEqual(
      hex(`
        0a0d0d0a 00000028 1a2b3c4d 0001 0000 ffffffffffffffff
        0004 0001 6b000000 00000000 00000028
        00000001 00000028 0001 0000 00040000
        0002 0001 61000000 0009 0001 09000000 00000000 00000028
        00000006 00000030 00000000
        00000001 00000002          # timestamp 2^32 + 2
        00000004 00000004 09090909
        0002 0004 00000002         # epb_flags: outbound
        00000000 00000030
      `),
    );
  });
});

describe('classic pcap layout (§6.3)', () => {
  it('nanosecond magic, little-endian', () => {
    const sink = new MemorySink();
    new PcapWriter(sink, { resolution: 'nanos' }).packet(T, DATA);
    expect(sink.bytes()).toEqual(
      hex(`
        4d3cb2a1 0200 0400         # ns magic, version 2.4
        00000000 00000000          # thiszone, sigfigs
        00000400 01000000          # snaplen 262144, linktype 1 EN10MB
        01000000 01000000          # ts_sec 1, ts_nsec 1
        05000000 05000000          # incl_len, orig_len
        deadbeef01                 # data, no padding
      `),
    );
  });

  it('microsecond magic, big-endian, truncating nanoseconds', () => {
    const sink = new MemorySink();
    new PcapWriter(sink, { byteOrder: 'be', epochSeconds: 1_767_225_600 }).packet(2_000_001_999, DATA);
    expect(sink.bytes()).toEqual(
      hex(`
        a1b2c3d4 0002 0004 00000000 00000000 00040000 00000001
        6955b902 00000001          # ts_sec 1767225600 + 2, ts_usec 1
        00000005 00000005 deadbeef01
      `),
    );
  });
});
