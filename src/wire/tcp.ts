/**
 * TCP segments (RFC 9293) with the options Linux sends: MSS, SACK-permitted, SACK blocks,
 * timestamps, window scale, NOP, EOL. `TcpSegment.checked` validates the data offset and the
 * option list's framing once; afterwards no accessor throws.
 */
import { checkRange, WireError } from './error.js';
import type { Ipv4Addr } from './ipv4-address.js';
import { IPPROTO_TCP, l4Checksum, read16, read32, write16, write32 } from './checksum.js';
import type { PseudoHeader } from './udp.js';

export const TCP_MIN_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;

/** Flag bits as a 9-bit number: byte 13, plus AE (ex-NS) from byte 12 as 0x100. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
export const TCP_AE = 0x100;

/** Option kinds (include/net/tcp.h TCPOPT_*). */
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

const F = { SRC_PORT: 0, DST_PORT: 2, SEQ: 4, ACK: 8, OFF: 12, FLAGS: 13, WINDOW: 14, CHECKSUM: 16, URGENT: 18, OPTIONS: 20 } as const;

/** One TCP option, in wire order. A known kind with a length Linux would ignore is `unknown`. */
export type TcpOption =
  | { kind: 'eol' }
  | { kind: 'nop' }
  | { kind: 'mss'; mss: number }
  | { kind: 'window-scale'; shift: number }
  | { kind: 'sack-permitted' }
  | { kind: 'sack'; blocks: Array<[left: number, right: number]> }
  | { kind: 'timestamps'; tsval: number; tsecr: number }
  | { kind: 'unknown'; type: number; data: Uint8Array };

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TCP_* bits. */
  flags: number;
  window: number;
  urgent: number;
  /** Options in wire order; emitted and padded with zeros to a multiple of 4 bytes. */
  options: TcpOption[];
  /** Data bytes after the header. */
  payloadLength: number;
}

/** Wire length of one option. */
export function tcpOptionLength(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'window-scale':
      return 3;
    case 'sack-permitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamps':
      return 10;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Unpadded byte length of an option list. */
export function tcpOptionsLength(options: readonly TcpOption[]): number {
  let n = 0;
  for (const o of options) n += tcpOptionLength(o);
  return n;
}

/** Writes options at `offset`; answers the bytes written (unpadded). */
export function emitTcpOptions(options: readonly TcpOption[], bytes: Uint8Array, offset: number): number {
  let i = offset;
  for (const o of options) {
    switch (o.kind) {
      case 'eol':
        bytes[i++] = TCPOPT_EOL;
        break;
      case 'nop':
        bytes[i++] = TCPOPT_NOP;
        break;
      case 'mss':
        bytes[i] = TCPOPT_MSS;
        bytes[i + 1] = 4;
        write16(bytes, i + 2, o.mss);
        i += 4;
        break;
      case 'window-scale':
        bytes[i] = TCPOPT_WINDOW;
        bytes[i + 1] = 3;
        bytes[i + 2] = o.shift;
        i += 3;
        break;
      case 'sack-permitted':
        bytes[i] = TCPOPT_SACK_PERM;
        bytes[i + 1] = 2;
        i += 2;
        break;
      case 'sack':
        bytes[i] = TCPOPT_SACK;
        bytes[i + 1] = 2 + 8 * o.blocks.length;
        i += 2;
        for (const [l, r] of o.blocks) {
          write32(bytes, i, l);
          write32(bytes, i + 4, r);
          i += 8;
        }
        break;
      case 'timestamps':
        bytes[i] = TCPOPT_TIMESTAMP;
        bytes[i + 1] = 10;
        write32(bytes, i + 2, o.tsval);
        write32(bytes, i + 6, o.tsecr);
        i += 10;
        break;
      case 'unknown':
        bytes[i] = o.type;
        bytes[i + 1] = 2 + o.data.length;
        bytes.set(o.data, i + 2);
        i += 2 + o.data.length;
        break;
    }
  }
  return i - offset;
}

/** The option bytes of a list, padded to a multiple of 4 (what goes after the fixed header). */
export function tcpOptionBytes(options: readonly TcpOption[]): Uint8Array {
  const b = new Uint8Array((tcpOptionsLength(options) + 3) & ~3);
  emitTcpOptions(options, b, 0);
  return b;
}

/**
 * Validates option framing in `bytes[start, end)`: every option but EOL/NOP has a length of
 * at least 2 that fits. Answers normally or throws WireError('tcp.options').
 */
function checkOptions(bytes: Uint8Array, start: number, end: number): void {
  let i = start;
  while (i < end) {
    const kind = bytes[i]!;
    if (kind === TCPOPT_EOL) return;
    if (kind === TCPOPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) throw new WireError('tcp.options', `option ${kind} at byte ${i - start + 20} has no length byte`);
    const len = bytes[i + 1]!;
    if (len < 2) throw new WireError('tcp.options', `option ${kind} at byte ${i - start + 20} has length ${len}`);
    if (i + len > end) throw new WireError('tcp.options', `option ${kind} at byte ${i - start + 20} of length ${len} overruns the header`);
    i += len;
  }
}

/** Decodes one option at `i` (framing already checked). */
function decodeOption(bytes: Uint8Array, i: number): TcpOption {
  const kind = bytes[i]!;
  if (kind === TCPOPT_EOL) return { kind: 'eol' };
  if (kind === TCPOPT_NOP) return { kind: 'nop' };
  const len = bytes[i + 1]!;
  switch (kind) {
    case TCPOPT_MSS:
      if (len === 4) return { kind: 'mss', mss: read16(bytes, i + 2) };
      break;
    case TCPOPT_WINDOW:
      if (len === 3) return { kind: 'window-scale', shift: bytes[i + 2]! };
      break;
    case TCPOPT_SACK_PERM:
      if (len === 2) return { kind: 'sack-permitted' };
      break;
    case TCPOPT_SACK:
      if (len >= 10 && (len - 2) % 8 === 0) {
        const blocks: Array<[number, number]> = [];
        for (let j = i + 2; j < i + len; j += 8) blocks.push([read32(bytes, j), read32(bytes, j + 4)]);
        return { kind: 'sack', blocks };
      }
      break;
    case TCPOPT_TIMESTAMP:
      if (len === 10) return { kind: 'timestamps', tsval: read32(bytes, i + 2), tsecr: read32(bytes, i + 6) };
      break;
  }
  return { kind: 'unknown', type: kind, data: bytes.slice(i + 2, i + len) };
}

export class TcpSegment {
  private constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
    /** Segment length (header + data), from the IP payload length. */
    readonly length: number,
  ) {}

  static unchecked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): TcpSegment {
    return new TcpSegment(bytes, offset, length);
  }

  /**
   * `length` is the segment's length (the IP payload length). Validates the data offset
   * against it and the option framing.
   */
  static checked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): TcpSegment {
    checkRange('tcp', bytes, offset, length);
    if (length < TCP_MIN_HEADER_LEN) throw new WireError('tcp.header', `${length} bytes, need ${TCP_MIN_HEADER_LEN}`);
    const doff = bytes[offset + F.OFF]! >>> 4;
    if (doff < 5) throw new WireError('tcp.data_offset', `${doff}, must be at least 5`);
    if (doff * 4 > length) throw new WireError('tcp.data_offset', `header of ${doff * 4} bytes but only ${length} present`);
    checkOptions(bytes, offset + F.OPTIONS, offset + doff * 4);
    return new TcpSegment(bytes, offset, length);
  }

  srcPort(): number {
    return read16(this.bytes, this.offset + F.SRC_PORT);
  }
  dstPort(): number {
    return read16(this.bytes, this.offset + F.DST_PORT);
  }
  seq(): number {
    return read32(this.bytes, this.offset + F.SEQ);
  }
  ack(): number {
    return read32(this.bytes, this.offset + F.ACK);
  }
  headerLength(): number {
    return (this.bytes[this.offset + F.OFF]! >>> 4) * 4;
  }
  /** TCP_* bits, AE included. */
  flags(): number {
    return ((this.bytes[this.offset + F.OFF]! & 1) << 8) | this.bytes[this.offset + F.FLAGS]!;
  }
  syn(): boolean {
    return (this.bytes[this.offset + F.FLAGS]! & TCP_SYN) !== 0;
  }
  fin(): boolean {
    return (this.bytes[this.offset + F.FLAGS]! & TCP_FIN) !== 0;
  }
  rst(): boolean {
    return (this.bytes[this.offset + F.FLAGS]! & TCP_RST) !== 0;
  }
  ackFlag(): boolean {
    return (this.bytes[this.offset + F.FLAGS]! & TCP_ACK) !== 0;
  }
  window(): number {
    return read16(this.bytes, this.offset + F.WINDOW);
  }
  checksum(): number {
    return read16(this.bytes, this.offset + F.CHECKSUM);
  }
  urgent(): number {
    return read16(this.bytes, this.offset + F.URGENT);
  }
  /** The raw option bytes (a view). */
  optionBytes(): Uint8Array {
    return this.bytes.subarray(this.offset + F.OPTIONS, this.offset + this.headerLength());
  }
  /** The decoded options, in wire order, up to and including an EOL. */
  options(): TcpOption[] {
    const out: TcpOption[] = [];
    const end = this.offset + this.headerLength();
    let i = this.offset + F.OPTIONS;
    while (i < end) {
      const o = decodeOption(this.bytes, i);
      out.push(o);
      if (o.kind === 'eol') break;
      i += o.kind === 'nop' ? 1 : this.bytes[i + 1]!;
    }
    return out;
  }
  /** The offset of the first option of `kind` with length `len`, or -1 (no allocation). */
  private findOption(kind: number, len: number): number {
    const end = this.offset + this.headerLength();
    let i = this.offset + F.OPTIONS;
    while (i < end) {
      const k = this.bytes[i]!;
      if (k === TCPOPT_EOL) return -1;
      if (k === TCPOPT_NOP) {
        i++;
        continue;
      }
      const l = this.bytes[i + 1]!;
      if (k === kind && l === len) return i;
      i += l;
    }
    return -1;
  }
  /** The MSS option's value, or -1 when absent. */
  mss(): number {
    const i = this.findOption(TCPOPT_MSS, 4);
    return i < 0 ? -1 : read16(this.bytes, i + 2);
  }
  /** The window scale shift, or -1 when absent. */
  windowScale(): number {
    const i = this.findOption(TCPOPT_WINDOW, 3);
    return i < 0 ? -1 : this.bytes[i + 2]!;
  }
  sackPermitted(): boolean {
    return this.findOption(TCPOPT_SACK_PERM, 2) >= 0;
  }
  /** TSval, or -1 when there is no timestamps option. */
  tsval(): number {
    const i = this.findOption(TCPOPT_TIMESTAMP, 10);
    return i < 0 ? -1 : read32(this.bytes, i + 2);
  }
  /** TSecr, or -1 when there is no timestamps option. */
  tsecr(): number {
    const i = this.findOption(TCPOPT_TIMESTAMP, 10);
    return i < 0 ? -1 : read32(this.bytes, i + 6);
  }
  payloadOffset(): number {
    return this.offset + this.headerLength();
  }
  payloadLength(): number {
    return this.length - this.headerLength();
  }
  payload(): Uint8Array {
    return this.bytes.subarray(this.payloadOffset(), this.offset + this.length);
  }
  checksumValid(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    return l4Checksum(this.bytes, this.offset, this.length, src, dst, IPPROTO_TCP) === 0;
  }

  setSrcPort(p: number): void {
    write16(this.bytes, this.offset + F.SRC_PORT, p);
  }
  setDstPort(p: number): void {
    write16(this.bytes, this.offset + F.DST_PORT, p);
  }
  setChecksum(c: number): void {
    write16(this.bytes, this.offset + F.CHECKSUM, c);
  }
  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr): void {
    this.setChecksum(0);
    this.setChecksum(l4Checksum(this.bytes, this.offset, this.length, src, dst, IPPROTO_TCP));
  }
}

export function tcpHeaderLength(repr: Pick<TcpRepr, 'options'>): number {
  return TCP_MIN_HEADER_LEN + ((tcpOptionsLength(repr.options) + 3) & ~3);
}

export function parseTcp(bytes: Uint8Array, offset = 0, length = bytes.length - offset): TcpRepr {
  const s = TcpSegment.checked(bytes, offset, length);
  return {
    srcPort: s.srcPort(),
    dstPort: s.dstPort(),
    seq: s.seq(),
    ack: s.ack(),
    flags: s.flags(),
    window: s.window(),
    urgent: s.urgent(),
    options: s.options(),
    payloadLength: s.payloadLength(),
  };
}

/**
 * Writes the header at `offset`; answers its length. With `pseudo`, the checksum is computed
 * over the header and the `payloadLength` bytes that must already follow it.
 */
export function emitTcp(repr: TcpRepr, bytes: Uint8Array, offset = 0, pseudo: PseudoHeader | null = null): number {
  return emitTcpHeader(repr, repr.payloadLength, bytes, offset, pseudo);
}

/** emitTcp with the payload length given apart, for builders that have the fields without it. */
export function emitTcpHeader(repr: Omit<TcpRepr, 'payloadLength'>, payloadLength: number, bytes: Uint8Array, offset = 0, pseudo: PseudoHeader | null = null): number {
  const hl = tcpHeaderLength(repr);
  if (hl > TCP_MAX_HEADER_LEN) throw new RangeError(`TCP options of ${tcpOptionsLength(repr.options)} bytes exceed 40`);
  write16(bytes, offset + F.SRC_PORT, repr.srcPort);
  write16(bytes, offset + F.DST_PORT, repr.dstPort);
  write32(bytes, offset + F.SEQ, repr.seq);
  write32(bytes, offset + F.ACK, repr.ack);
  bytes[offset + F.OFF] = ((hl >>> 2) << 4) | ((repr.flags >>> 8) & 1);
  bytes[offset + F.FLAGS] = repr.flags & 0xff;
  write16(bytes, offset + F.WINDOW, repr.window);
  write16(bytes, offset + F.CHECKSUM, 0);
  write16(bytes, offset + F.URGENT, repr.urgent);
  const n = emitTcpOptions(repr.options, bytes, offset + F.OPTIONS);
  bytes.fill(0, offset + F.OPTIONS + n, offset + hl);
  if (pseudo) {
    write16(bytes, offset + F.CHECKSUM, l4Checksum(bytes, offset, hl + payloadLength, pseudo.src, pseudo.dst, IPPROTO_TCP));
  }
  return hl;
}

/**
 * What Linux puts in a SYN's or SYN-ACK's options, in tcp_options_write order (net/ipv4/
 * tcp_output.c): MSS; then with timestamps either SACK_PERM+TS packed into one word or
 * NOP,NOP,TS; SACK_PERM alone as NOP,NOP,SACK_PERM when timestamps are off; then NOP,WScale.
 * A default SYN (all on) is 20 bytes: 02 04 mss 04 02 08 0a tsval tsecr 01 03 03 ws.
 * A SYN-ACK uses the same writer with what the peer's SYN allowed (tsecr = the peer's tsval).
 */
export function linuxSynOptions(p: {
  mss: number;
  sackPermitted?: boolean;
  /** Omit when net.ipv4.tcp_timestamps=0 or the peer did not offer them (SYN-ACK). */
  timestamps?: { tsval: number; tsecr: number } | null;
  /** Omit when window scaling is off. */
  windowScale?: number | null;
}): TcpOption[] {
  const out: TcpOption[] = [{ kind: 'mss', mss: p.mss }];
  const sack = p.sackPermitted ?? true;
  if (p.timestamps) {
    if (sack) out.push({ kind: 'sack-permitted' });
    else out.push({ kind: 'nop' }, { kind: 'nop' });
    out.push({ kind: 'timestamps', tsval: p.timestamps.tsval, tsecr: p.timestamps.tsecr });
  } else if (sack) {
    out.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack-permitted' });
  }
  if (p.windowScale !== undefined && p.windowScale !== null) out.push({ kind: 'nop' }, { kind: 'window-scale', shift: p.windowScale });
  return out;
}

/** A SYN-ACK's options: the same writer as the SYN (tcp_synack_options feeds tcp_options_write). */
export const linuxSynAckOptions = linuxSynOptions;

/**
 * Options on an established connection's segment, as tcp_established_options + tcp_options_write:
 * NOP,NOP,TS when timestamps are on, then NOP,NOP,SACK with up to 4 blocks (3 with timestamps).
 */
export function linuxEstablishedOptions(p: {
  timestamps?: { tsval: number; tsecr: number } | null;
  sackBlocks?: ReadonlyArray<readonly [number, number]>;
}): TcpOption[] {
  const out: TcpOption[] = [];
  if (p.timestamps) out.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'timestamps', tsval: p.timestamps.tsval, tsecr: p.timestamps.tsecr });
  const blocks = p.sackBlocks ?? [];
  if (blocks.length > 0) {
    const max = p.timestamps ? 3 : 4;
    out.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: blocks.slice(0, max).map(([l, r]) => [l, r] as [number, number]) });
  }
  return out;
}
