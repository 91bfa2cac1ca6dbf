import { describe, expect, it } from 'vitest';
import {
  buildTcpFrame, emitTcp, linuxEstablishedOptions, linuxSynAckOptions, linuxSynOptions, parseIpv4, parseIpv4Header, parseMac,
  parseTcp, tcpHeaderLength, tcpOptionBytes, TcpSegment, WireError,
  TCP_ACK, TCP_AE, TCP_CWR, TCP_ECE, TCP_FIN, TCP_RST, TCP_SYN,
} from '../../src/wire/index.js';
import type { TcpRepr } from '../../src/wire/index.js';
import { a5, captured, hex, toHex } from './fixtures.js';

const A_MAC = parseMac('02:00:00:00:00:0a');
const B_MAC = parseMac('02:00:00:00:00:0b');
const A_IP = parseIpv4('10.200.0.1');
const B_IP = parseIpv4('10.200.0.2');

describe('tcp', () => {
  const syn = captured('Flags [S], seq 2646860117');
  const synack = captured('Flags [S.]');
  const ack = captured('Flags [.], ack 1,');
  const rst = captured('Flags [R.]');

  it('deconstructs a captured Linux SYN', () => {
    const s = TcpSegment.checked(syn, 34);
    expect(s.srcPort()).toBe(51160);
    expect(s.dstPort()).toBe(8080);
    expect(s.seq()).toBe(2646860117);
    expect(s.ack()).toBe(0);
    expect(s.headerLength()).toBe(40);
    expect(s.flags()).toBe(TCP_SYN);
    expect(s.syn()).toBe(true);
    expect(s.window()).toBe(64240);
    expect(s.mss()).toBe(1460);
    expect(s.sackPermitted()).toBe(true);
    expect(s.tsval()).toBe(843323577);
    expect(s.tsecr()).toBe(0);
    expect(s.windowScale()).toBe(10);
    expect(s.checksumValid(A_IP, B_IP)).toBe(true);
    expect(s.options()).toEqual([
      { kind: 'mss', mss: 1460 },
      { kind: 'sack-permitted' },
      { kind: 'timestamps', tsval: 843323577, tsecr: 0 },
      { kind: 'nop' },
      { kind: 'window-scale', shift: 10 },
    ]);
  });

  it('the Linux SYN option helper produces the captured option bytes', () => {
    const opts = linuxSynOptions({ mss: 1460, timestamps: { tsval: 843323577, tsecr: 0 }, windowScale: 10 });
    expect(toHex(tcpOptionBytes(opts))).toBe(toHex(syn.subarray(54, 74)));
  });

  it('the Linux SYN option bytes are MSS, SACK_PERM, TS, NOP, WScale (20 bytes)', () => {
    const opts = linuxSynOptions({ mss: 1460, timestamps: { tsval: 0x01020304, tsecr: 0x0a0b0c0d }, windowScale: 7 });
    expect(toHex(tcpOptionBytes(opts))).toBe('020405b4' + '0402080a' + '01020304' + '0a0b0c0d' + '01030307');
  });

  it('the SYN-ACK order follows what the SYN offered (tcp_options_write)', () => {
    const full = linuxSynAckOptions({ mss: 1460, timestamps: { tsval: 4240847582, tsecr: 843323577 }, windowScale: 10 });
    expect(toHex(tcpOptionBytes(full))).toBe(toHex(synack.subarray(54, 74)));
    // No timestamps: MSS, NOP NOP SACK_PERM, NOP WScale.
    expect(toHex(tcpOptionBytes(linuxSynAckOptions({ mss: 1410, windowScale: 7 })))).toBe('02040582' + '01010402' + '01030307');
    // Timestamps without SACK: MSS, NOP NOP TS.
    expect(toHex(tcpOptionBytes(linuxSynAckOptions({ mss: 1460, sackPermitted: false, timestamps: { tsval: 1, tsecr: 2 } }))))
      .toBe('020405b4' + '0101080a' + '00000001' + '00000002');
    // Neither: MSS alone.
    expect(toHex(tcpOptionBytes(linuxSynOptions({ mss: 1460, sackPermitted: false })))).toBe('020405b4');
  });

  it('established segments carry NOP NOP TS, then NOP NOP SACK', () => {
    const opts = linuxEstablishedOptions({ timestamps: { tsval: 843323577, tsecr: 4240847582 } });
    expect(toHex(tcpOptionBytes(opts))).toBe(toHex(ack.subarray(54, 66)));
    const sack = linuxEstablishedOptions({ timestamps: { tsval: 1, tsecr: 2 }, sackBlocks: [[10, 20], [30, 40], [50, 60], [70, 80]] });
    expect(sack.at(-1)).toEqual({ kind: 'sack', blocks: [[10, 20], [30, 40], [50, 60]] });
    expect(tcpOptionBytes(sack).length).toBe(12 + 4 + 24);
  });

  it('rebuilds the captured SYN, SYN-ACK, ACK and RST frames byte for byte', () => {
    for (const [frame, from, to, fromMac, toMac] of [
      [syn, A_IP, B_IP, A_MAC, B_MAC], [synack, B_IP, A_IP, B_MAC, A_MAC], [ack, A_IP, B_IP, A_MAC, B_MAC], [rst, B_IP, A_IP, B_MAC, A_MAC],
    ] as const) {
      const ip = parseIpv4Header(frame, 14);
      const { payloadLength: _, ...tcp } = parseTcp(frame, 34, ip.payloadLength);
      const f = buildTcpFrame({ dst: toMac, src: fromMac }, { src: from, dst: to, ident: ip.ident, dontFragment: ip.dontFragment }, tcp);
      expect(toHex(f.data())).toBe(toHex(frame));
    }
  });

  it('constructs into a 0xa5 buffer with the flags Linux sets', () => {
    const r = parseTcp(rst, 34);
    expect(r.flags).toBe(TCP_RST | TCP_ACK);
    expect(r.options).toEqual([]);
    const b = a5(22);
    expect(emitTcp(r, b, 1)).toBe(20);
    expect(b[21]).toBe(0xa5);
  });

  it('round-trips ECE, CWR and AE', () => {
    const r: TcpRepr = { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TCP_SYN | TCP_ECE | TCP_CWR | TCP_AE, window: 5, urgent: 0, options: [], payloadLength: 0 };
    const b = new Uint8Array(20);
    emitTcp(r, b);
    expect(toHex(b.subarray(12, 14))).toBe('51c2');
    expect(parseTcp(b)).toEqual(r);
    expect(TcpSegment.checked(b).fin()).toBe(false);
    expect(TCP_FIN).toBe(1);
  });

  it('pads odd option lists with zeros and parses EOL', () => {
    const r: TcpRepr = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_SYN, window: 0, urgent: 0, options: [{ kind: 'mss', mss: 536 }, { kind: 'nop' }, { kind: 'eol' }], payloadLength: 0 };
    expect(tcpHeaderLength(r)).toBe(28);
    const b = a5(28);
    emitTcp(r, b);
    expect(toHex(b.subarray(20))).toBe('0204021801000000');
    expect(parseTcp(b)).toEqual(r);
  });

  it('keeps unknown options and known kinds with odd lengths as unknown', () => {
    const b = new Uint8Array(28);
    b[12] = 0x70;
    b.set(hex('1e0401020303ff00'), 20); // kind 30 of length 4, window scale, EOL
    const r = parseTcp(b);
    expect(r.options[0]).toEqual({ kind: 'unknown', type: 30, data: hex('0102') });
    expect(r.options[1]).toEqual({ kind: 'window-scale', shift: 0xff });
    const w = new Uint8Array(24);
    w[12] = 0x60;
    w.set(hex('02030000'), 20); // MSS with length 3: Linux ignores it
    expect(parseTcp(w).options[0]).toEqual({ kind: 'unknown', type: 2, data: hex('00') });
    expect(TcpSegment.checked(w).mss()).toBe(-1);
  });

  it('names the field of a bad header', () => {
    const b = syn.slice(34);
    const field = (f: (c: Uint8Array) => void, n = b.length): string => {
      const c = b.slice(0, n);
      f(c);
      try {
        parseTcp(c);
        return 'none';
      } catch (e) {
        expect(e).toBeInstanceOf(WireError);
        return (e as WireError).field;
      }
    };
    expect(field(() => {}, 19)).toBe('tcp.header');
    expect(field((c) => (c[12] = 0x40))).toBe('tcp.data_offset');
    expect(field(() => {}, 39)).toBe('tcp.data_offset');
    expect(field((c) => (c[21] = 1))).toBe('tcp.options'); // MSS length 1
    expect(field((c) => (c[38] = 4))).toBe('tcp.options'); // window scale overruns
    expect(field((c) => (c[36] = 9))).toBe('tcp.options'); // kind 9 swallows 3 bytes, leaving a kind without length
  });
});
