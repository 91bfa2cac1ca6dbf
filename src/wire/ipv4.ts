/**
 * IPv4 headers (RFC 791). Options are kept as raw bytes, as the forwarding path never
 * interprets them. After `Ipv4Packet.checked` no accessor throws; the payload ends at
 * total_length (Ethernet padding past it is not payload).
 */
import { checkRange, WireError } from './error.js';
import { readIpv4, writeIpv4, type Ipv4Addr } from './ipv4-address.js';
import { checksumReplace16, checksumReplace32, internetChecksum, read16, write16 } from './checksum.js';

export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
/** Flag bits in the flags/fragment-offset word. */
export const IPV4_FLAG_DF = 0x4000;
export const IPV4_FLAG_MF = 0x2000;
export const IPV4_OFFSET_MASK = 0x1fff;

const F = {
  VER_IHL: 0, TOS: 1, LEN: 2, IDENT: 4, FLG_OFF: 6, TTL: 8, PROTOCOL: 9, CHECKSUM: 10, SRC: 12, DST: 16, OPTIONS: 20,
} as const;

export interface Ipv4Repr {
  /** Differentiated services code point, the upper 6 bits of the TOS byte. */
  dscp: number;
  /** Explicit congestion notification, the lower 2 bits of the TOS byte. */
  ecn: number;
  ident: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Offset of this fragment's data in bytes (a multiple of 8), as tcpdump prints it. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  src: Ipv4Addr;
  dst: Ipv4Addr;
  /** Raw option bytes (length a multiple of 4, at most 40); empty for the usual 20-byte header. */
  options: Uint8Array;
  /** Bytes after the header: total_length - header length. */
  payloadLength: number;
}

export class Ipv4Packet {
  private constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
  ) {}

  /** No validation: for writing a header into a buffer of at least its length. */
  static unchecked(bytes: Uint8Array, offset = 0): Ipv4Packet {
    return new Ipv4Packet(bytes, offset);
  }

  /**
   * Validates version, IHL and total length against the bytes available (as ip_rcv_core);
   * afterwards no accessor throws. `length` may exceed total_length (link-layer padding).
   */
  static checked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Ipv4Packet {
    checkRange('ipv4', bytes, offset, length);
    if (length < IPV4_MIN_HEADER_LEN) throw new WireError('ipv4.header', `${length} bytes, need ${IPV4_MIN_HEADER_LEN}`);
    const vi = bytes[offset]!;
    if (vi >>> 4 !== 4) throw new WireError('ipv4.version', `${vi >>> 4}, expected 4`);
    const hl = (vi & 15) * 4;
    if (hl < IPV4_MIN_HEADER_LEN) throw new WireError('ipv4.ihl', `${vi & 15}, must be at least 5`);
    if (hl > length) throw new WireError('ipv4.ihl', `header of ${hl} bytes but only ${length} present`);
    const total = read16(bytes, offset + F.LEN);
    if (total < hl) throw new WireError('ipv4.total_length', `${total} is less than the header length ${hl}`);
    if (total > length) throw new WireError('ipv4.total_length', `${total} but only ${length} bytes present`);
    return new Ipv4Packet(bytes, offset);
  }

  /**
   * For the packet an ICMP error quotes: validates version and IHL only, since the quote is
   * usually cut before total_length. Accessors do not throw; payload() ends where the bytes do.
   */
  static checkedQuote(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Ipv4Packet {
    checkRange('ipv4', bytes, offset, length);
    if (length < IPV4_MIN_HEADER_LEN) throw new WireError('ipv4.header', `${length} quoted bytes, need ${IPV4_MIN_HEADER_LEN}`);
    const vi = bytes[offset]!;
    if (vi >>> 4 !== 4) throw new WireError('ipv4.version', `${vi >>> 4}, expected 4`);
    const hl = (vi & 15) * 4;
    if (hl < IPV4_MIN_HEADER_LEN) throw new WireError('ipv4.ihl', `${vi & 15}, must be at least 5`);
    if (hl > length) throw new WireError('ipv4.ihl', `header of ${hl} bytes but only ${length} quoted`);
    return new Ipv4Packet(bytes.subarray(0, offset + length), offset);
  }

  version(): number {
    return this.bytes[this.offset]! >>> 4;
  }
  headerLength(): number {
    return (this.bytes[this.offset]! & 15) * 4;
  }
  tos(): number {
    return this.bytes[this.offset + F.TOS]!;
  }
  dscp(): number {
    return this.bytes[this.offset + F.TOS]! >>> 2;
  }
  ecn(): number {
    return this.bytes[this.offset + F.TOS]! & 3;
  }
  totalLength(): number {
    return read16(this.bytes, this.offset + F.LEN);
  }
  ident(): number {
    return read16(this.bytes, this.offset + F.IDENT);
  }
  dontFragment(): boolean {
    return (this.bytes[this.offset + F.FLG_OFF]! & 0x40) !== 0;
  }
  moreFragments(): boolean {
    return (this.bytes[this.offset + F.FLG_OFF]! & 0x20) !== 0;
  }
  /** Fragment offset in bytes. */
  fragmentOffset(): number {
    return (read16(this.bytes, this.offset + F.FLG_OFF) & IPV4_OFFSET_MASK) * 8;
  }
  /** True for any fragment but a first one: its L4 header is elsewhere (NAT skips it). */
  isLaterFragment(): boolean {
    return (read16(this.bytes, this.offset + F.FLG_OFF) & IPV4_OFFSET_MASK) !== 0;
  }
  ttl(): number {
    return this.bytes[this.offset + F.TTL]!;
  }
  protocol(): number {
    return this.bytes[this.offset + F.PROTOCOL]!;
  }
  checksum(): number {
    return read16(this.bytes, this.offset + F.CHECKSUM);
  }
  src(): Ipv4Addr {
    return readIpv4(this.bytes, this.offset + F.SRC);
  }
  dst(): Ipv4Addr {
    return readIpv4(this.bytes, this.offset + F.DST);
  }
  /** The option bytes (a view). */
  options(): Uint8Array {
    return this.bytes.subarray(this.offset + F.OPTIONS, this.offset + this.headerLength());
  }
  /** Absolute offset of the payload in `bytes`. */
  payloadOffset(): number {
    return this.offset + this.headerLength();
  }
  payloadLength(): number {
    return this.totalLength() - this.headerLength();
  }
  payload(): Uint8Array {
    return this.bytes.subarray(this.payloadOffset(), this.offset + this.totalLength());
  }
  /** True when the header checksum verifies (ip_fast_csum over the header is 0). */
  checksumValid(): boolean {
    return internetChecksum(this.bytes, this.offset, this.headerLength()) === 0;
  }

  setTtl(ttl: number): void {
    this.bytes[this.offset + F.TTL] = ttl;
  }
  setChecksum(c: number): void {
    write16(this.bytes, this.offset + F.CHECKSUM, c);
  }
  /** Recomputes the header checksum from scratch. */
  fillChecksum(): void {
    this.setChecksum(0);
    this.setChecksum(internetChecksum(this.bytes, this.offset, this.headerLength()));
  }
  /** TTL - 1 with the checksum updated incrementally, as ip_decrease_ttl. */
  decrementTtl(): void {
    const o = this.offset + F.TTL;
    const oldWord = read16(this.bytes, o);
    this.bytes[o] = this.bytes[o]! - 1;
    this.setChecksum(checksumReplace16(this.checksum(), oldWord, read16(this.bytes, o)));
  }
  /** Rewrites the source address, updating the header checksum (csum_replace4). */
  setSrc(a: Ipv4Addr): void {
    this.setChecksum(checksumReplace32(this.checksum(), this.src(), a));
    writeIpv4(this.bytes, this.offset + F.SRC, a);
  }
  /** Rewrites the destination address, updating the header checksum (csum_replace4). */
  setDst(a: Ipv4Addr): void {
    this.setChecksum(checksumReplace32(this.checksum(), this.dst(), a));
    writeIpv4(this.bytes, this.offset + F.DST, a);
  }
}

export function ipv4HeaderLength(repr: Pick<Ipv4Repr, 'options'>): number {
  return IPV4_MIN_HEADER_LEN + ((repr.options.length + 3) & ~3);
}

export function parseIpv4Header(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Ipv4Repr {
  const p = Ipv4Packet.checked(bytes, offset, length);
  return {
    dscp: p.dscp(),
    ecn: p.ecn(),
    ident: p.ident(),
    dontFragment: p.dontFragment(),
    moreFragments: p.moreFragments(),
    fragmentOffset: p.fragmentOffset(),
    ttl: p.ttl(),
    protocol: p.protocol(),
    src: p.src(),
    dst: p.dst(),
    options: p.options().slice(),
    payloadLength: p.payloadLength(),
  };
}

/**
 * Writes the header at `offset` with its checksum (the payload is not touched); answers the
 * header length. Options are padded with zero (end-of-list) bytes to a multiple of 4.
 */
export function emitIpv4Header(repr: Ipv4Repr, bytes: Uint8Array, offset = 0): number {
  const hl = ipv4HeaderLength(repr);
  if (hl > IPV4_MAX_HEADER_LEN) throw new RangeError(`IPv4 options of ${repr.options.length} bytes exceed 40`);
  const total = hl + repr.payloadLength;
  if (total > 0xffff) throw new RangeError(`IPv4 total length ${total} exceeds 65535`);
  bytes[offset + F.VER_IHL] = 0x40 | (hl >>> 2);
  bytes[offset + F.TOS] = ((repr.dscp & 0x3f) << 2) | (repr.ecn & 3);
  write16(bytes, offset + F.LEN, total);
  write16(bytes, offset + F.IDENT, repr.ident);
  write16(bytes, offset + F.FLG_OFF,
    (repr.dontFragment ? IPV4_FLAG_DF : 0) | (repr.moreFragments ? IPV4_FLAG_MF : 0) | ((repr.fragmentOffset >>> 3) & IPV4_OFFSET_MASK));
  bytes[offset + F.TTL] = repr.ttl;
  bytes[offset + F.PROTOCOL] = repr.protocol;
  write16(bytes, offset + F.CHECKSUM, 0);
  writeIpv4(bytes, offset + F.SRC, repr.src);
  writeIpv4(bytes, offset + F.DST, repr.dst);
  if (hl > IPV4_MIN_HEADER_LEN) {
    bytes.set(repr.options, offset + F.OPTIONS);
    bytes.fill(0, offset + F.OPTIONS + repr.options.length, offset + hl);
  }
  write16(bytes, offset + F.CHECKSUM, internetChecksum(bytes, offset, hl));
  return hl;
}
