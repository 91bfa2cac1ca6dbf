/**
 * UDP datagrams (RFC 768). The checksum covers the IPv4 pseudo-header; 0 on the wire means
 * "no checksum" and a computed 0 is sent as 0xffff.
 */
import { checkRange, WireError } from './error.js';
import type { Ipv4Addr } from './ipv4-address.js';
import { IPPROTO_UDP, l4Checksum, read16, udpChecksumOnWire, write16 } from './checksum.js';

export const UDP_HEADER_LEN = 8;

const F = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6 } as const;

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** Data bytes after the 8-byte header (the length field is 8 + this). */
  payloadLength: number;
}

/** The addresses of the pseudo-header, when a checksum is to be computed. */
export interface PseudoHeader {
  src: Ipv4Addr;
  dst: Ipv4Addr;
}

export class UdpPacket {
  private constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
  ) {}

  static unchecked(bytes: Uint8Array, offset = 0): UdpPacket {
    return new UdpPacket(bytes, offset);
  }

  /** Validates the header and the length field against the bytes present (as __udp4_lib_rcv). */
  static checked(bytes: Uint8Array, offset = 0, length = bytes.length - offset): UdpPacket {
    checkRange('udp', bytes, offset, length);
    if (length < UDP_HEADER_LEN) throw new WireError('udp.header', `${length} bytes, need ${UDP_HEADER_LEN}`);
    const ulen = read16(bytes, offset + F.LENGTH);
    if (ulen < UDP_HEADER_LEN) throw new WireError('udp.length', `${ulen} is less than the header length 8`);
    if (ulen > length) throw new WireError('udp.length', `${ulen} but only ${length} bytes present`);
    return new UdpPacket(bytes, offset);
  }

  srcPort(): number {
    return read16(this.bytes, this.offset + F.SRC_PORT);
  }
  dstPort(): number {
    return read16(this.bytes, this.offset + F.DST_PORT);
  }
  /** The length field: header + data. */
  length(): number {
    return read16(this.bytes, this.offset + F.LENGTH);
  }
  checksum(): number {
    return read16(this.bytes, this.offset + F.CHECKSUM);
  }
  payloadOffset(): number {
    return this.offset + UDP_HEADER_LEN;
  }
  payloadLength(): number {
    return this.length() - UDP_HEADER_LEN;
  }
  payload(): Uint8Array {
    return this.bytes.subarray(this.offset + UDP_HEADER_LEN, this.offset + this.length());
  }
  /** True when the checksum verifies or is absent (0). */
  checksumValid(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    if (this.checksum() === 0) return true;
    return l4Checksum(this.bytes, this.offset, this.length(), src, dst, IPPROTO_UDP) === 0;
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
  /** Recomputes the checksum over header + data with the pseudo-header. */
  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr): void {
    this.setChecksum(0);
    this.setChecksum(udpChecksumOnWire(l4Checksum(this.bytes, this.offset, this.length(), src, dst, IPPROTO_UDP)));
  }
}

export function udpHeaderLength(_repr?: UdpRepr): number {
  return UDP_HEADER_LEN;
}

export function parseUdp(bytes: Uint8Array, offset = 0, length = bytes.length - offset): UdpRepr {
  const p = UdpPacket.checked(bytes, offset, length);
  return { srcPort: p.srcPort(), dstPort: p.dstPort(), payloadLength: p.payloadLength() };
}

/**
 * Writes the header at `offset`. With `pseudo`, the checksum is computed over the header and
 * the `payloadLength` bytes that must already follow it; without, it is 0 (none).
 */
export function emitUdp(repr: UdpRepr, bytes: Uint8Array, offset = 0, pseudo: PseudoHeader | null = null): number {
  write16(bytes, offset + F.SRC_PORT, repr.srcPort);
  write16(bytes, offset + F.DST_PORT, repr.dstPort);
  write16(bytes, offset + F.LENGTH, UDP_HEADER_LEN + repr.payloadLength);
  write16(bytes, offset + F.CHECKSUM, 0);
  if (pseudo) {
    const c = l4Checksum(bytes, offset, UDP_HEADER_LEN + repr.payloadLength, pseudo.src, pseudo.dst, IPPROTO_UDP);
    write16(bytes, offset + F.CHECKSUM, udpChecksumOnWire(c));
  }
  return UDP_HEADER_LEN;
}
