import type { PacketBuffer } from '../wire/packet-buffer.js';
import type { Ipv4Addr } from '../wire/ipv4-address.js';

/**
 * IPv4/TCP/UDP/ICMP field access for netfilter, straight on `packet.buf` at
 * `packet.network` / `packet.transport`. Kept local so netfilter does not wait on the
 * wire/ header views; every accessor is bounds-checked by the caller through `l4Len`.
 */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;

export function u16(b: Uint8Array, o: number): number {
  return ((b[o]! << 8) | b[o + 1]!) >>> 0;
}
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}

/** The IPv4 header fields a rule or conntrack reads, decoded once per hook call. */
export interface Ipv4Fields {
  readonly ihl: number;
  readonly totalLength: number;
  readonly tos: number;
  readonly ttl: number;
  readonly id: number;
  readonly df: boolean;
  readonly proto: number;
  readonly src: Ipv4Addr;
  readonly dst: Ipv4Addr;
  /** Fragment offset in 8-byte units; non-zero = not the first fragment (`-f`). */
  readonly fragOffset: number;
  readonly moreFragments: boolean;
  /** Absolute offset of the transport header, or -1 when truncated. */
  readonly l4: number;
  /** Bytes of transport header + payload actually present. */
  readonly l4Len: number;
}

/** The total length field when readIpv4Fields would decode the header, else -1 (no object made). */
export function ipv4TotalLength(p: PacketBuffer): number {
  const b = p.buf;
  const o = p.network;
  if (o < 0 || o + 20 > p.end) return -1;
  const vihl = b[o]!;
  if (vihl >> 4 !== 4) return -1;
  const ihl = (vihl & 15) * 4;
  if (ihl < 20 || o + ihl > p.end) return -1;
  return u16(b, o + 2);
}

/** Decodes the IPv4 header at packet.network; undefined when it is not a well-formed IPv4 header. */
export function readIpv4Fields(p: PacketBuffer): Ipv4Fields | undefined {
  const b = p.buf;
  const o = p.network;
  if (o < 0 || o + 20 > p.end) return undefined;
  const vihl = b[o]!;
  if (vihl >> 4 !== 4) return undefined;
  const ihl = (vihl & 15) * 4;
  if (ihl < 20 || o + ihl > p.end) return undefined;
  const totalLength = u16(b, o + 2);
  const frag = u16(b, o + 6);
  const end = Math.min(p.end, o + Math.max(totalLength, ihl));
  return {
    ihl,
    totalLength,
    tos: b[o + 1]!,
    ttl: b[o + 8]!,
    id: u16(b, o + 4),
    df: (frag & 0x4000) !== 0,
    proto: b[o + 9]!,
    src: u32(b, o + 12) as Ipv4Addr,
    dst: u32(b, o + 16) as Ipv4Addr,
    fragOffset: frag & 0x1fff,
    moreFragments: (frag & 0x2000) !== 0,
    l4: o + ihl,
    l4Len: end - (o + ihl),
  };
}

/** Internet checksum (RFC 1071) over b[start, end), folded, not complemented. */
export function sum16(b: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < end) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

export function ipv4HeaderChecksum(b: Uint8Array, o: number, ihl: number): number {
  const saved = u16(b, o + 10);
  put16(b, o + 10, 0);
  const c = ~sum16(b, o, o + ihl) & 0xffff;
  put16(b, o + 10, saved);
  return c;
}

/**
 * Recomputes the IPv4 header checksum and the TCP/UDP/ICMP checksum after NAT. A full
 * recompute gives the same bytes as the kernel's incremental update (RFC 1624) whenever the
 * checksum was valid before; a UDP checksum of zero (none) stays zero, as udp_manip_pkt.
 */
export function fixChecksums(p: PacketBuffer, udpNoChecksumStays = true): void {
  const f = readIpv4Fields(p);
  if (!f) return;
  const b = p.buf;
  put16(b, p.network + 10, ipv4HeaderChecksum(b, p.network, f.ihl));
  if (f.fragOffset !== 0) return;
  fixL4Checksum(b, f.l4, f.l4 + f.l4Len, f.proto, f.src, f.dst, udpNoChecksumStays);
}

export function fixL4Checksum(b: Uint8Array, l4: number, end: number, proto: number, src: number, dst: number, udpNoChecksumStays = true): void {
  const len = end - l4;
  if (proto === IPPROTO_TCP && len >= 20) {
    put16(b, l4 + 16, 0);
    put16(b, l4 + 16, ~sum16(b, l4, end, pseudo(src, dst, proto, len)) & 0xffff);
  } else if (proto === IPPROTO_UDP && len >= 8) {
    if (udpNoChecksumStays && u16(b, l4 + 6) === 0) return;
    put16(b, l4 + 6, 0);
    let c = ~sum16(b, l4, end, pseudo(src, dst, proto, len)) & 0xffff;
    if (c === 0) c = 0xffff;
    put16(b, l4 + 6, c);
  } else if (proto === IPPROTO_ICMP && len >= 8) {
    put16(b, l4 + 2, 0);
    put16(b, l4 + 2, ~sum16(b, l4, end) & 0xffff);
  }
}

function pseudo(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}
