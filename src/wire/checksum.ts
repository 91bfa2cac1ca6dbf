/**
 * The internet checksum (RFC 1071) and its incremental update (RFC 1624), shared by IPv4,
 * ICMP, UDP and TCP. Sums are kept as plain numbers and folded to 16 bits only at the end,
 * so callers can chain them (pseudo-header sum + header + payload) without allocating.
 */
import type { Ipv4Addr } from './ipv4-address.js';

/** IP protocol numbers used here (IANA; the kernel's IPPROTO_*). */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/**
 * Adds the big-endian 16-bit words of `bytes[offset, offset+length)` to `initial`; an odd
 * final byte is padded with a zero byte, as RFC 1071 says. The result is not folded (it may
 * be partly folded: only its value modulo 0xffff, the ones' complement sum, is defined).
 */
export function sumWords(bytes: Uint8Array, offset: number, length: number, initial = 0): number {
  if (length < 64 || !LITTLE_ENDIAN) return sumBytewise(bytes, offset, length, initial);
  // Long runs are read as native 32-bit words from a 4-byte-aligned start. The ones'
  // complement sum does not depend on byte order (RFC 1071 section 2(B)): a run read in
  // little-endian order sums to the byte-swapped value, and a run that starts at an odd
  // position of the packet's word grid sums to the byte-swapped value too.
  const lead = (4 - ((bytes.byteOffset + offset) & 3)) & 3;
  let s = sumBytewise(bytes, offset, lead, initial);
  const start = offset + lead;
  const words = (length - lead) >>> 2;
  const w = new Uint32Array(bytes.buffer, bytes.byteOffset + start, words);
  let n = 0;
  let i = 0;
  for (; i + 4 <= words; i += 4) {
    const a = w[i]!;
    const b = w[i + 1]!;
    const c = w[i + 2]!;
    const d = w[i + 3]!;
    n += (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16) + (c & 0xffff) + (c >>> 16) + (d & 0xffff) + (d >>> 16);
  }
  for (; i < words; i++) {
    const a = w[i]!;
    n += (a & 0xffff) + (a >>> 16);
  }
  const odd = (lead & 1) === 1;
  s += odd ? foldSum(n) : swap16(foldSum(n));
  const tailAt = start + words * 4;
  const tail = foldSum(sumBytewise(bytes, tailAt, offset + length - tailAt, 0));
  return s + (odd ? swap16(tail) : tail);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swap16(x: number): number {
  return ((x & 0xff) << 8) | (x >>> 8);
}

function sumBytewise(bytes: Uint8Array, offset: number, length: number, initial: number): number {
  let s = initial;
  const end = offset + length;
  const even = offset + (length & ~1);
  let i = offset;
  for (; i + 8 <= even; i += 8) {
    s += ((bytes[i]! << 8) | bytes[i + 1]!) + ((bytes[i + 2]! << 8) | bytes[i + 3]!)
      + ((bytes[i + 4]! << 8) | bytes[i + 5]!) + ((bytes[i + 6]! << 8) | bytes[i + 7]!);
  }
  for (; i < even; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (even < end) s += bytes[even]! << 8;
  return s;
}

/** Folds a sum to 16 bits with end-around carry (ones' complement addition). */
export function foldSum(sum: number): number {
  // A sum of up to 2^37 words is exact in a double; one division brings it under 2^32.
  let s = (sum % 0x10000) + Math.floor(sum / 0x10000);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The checksum field value: ones' complement of the folded sum. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/** The internet checksum of a byte range (the value to store in the field, field zeroed). */
export function internetChecksum(bytes: Uint8Array, offset = 0, length = bytes.length - offset, initial = 0): number {
  return finishChecksum(sumWords(bytes, offset, length, initial));
}

/**
 * Sum of the IPv4 pseudo-header used by UDP and TCP: source, destination, zero, protocol,
 * and the L4 length (header + data).
 */
export function pseudoHeaderSum(src: Ipv4Addr | number, dst: Ipv4Addr | number, protocol: number, l4Length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + l4Length;
}

/**
 * The UDP or TCP checksum over `bytes[offset, offset+length)` (checksum field must hold 0)
 * with the pseudo-header. For UDP the caller maps a 0 result to 0xffff (see udpChecksumOnWire).
 */
export function l4Checksum(bytes: Uint8Array, offset: number, length: number, src: Ipv4Addr | number, dst: Ipv4Addr | number, protocol: number): number {
  return finishChecksum(sumWords(bytes, offset, length, pseudoHeaderSum(src, dst, protocol, length)));
}

/** A computed UDP checksum of 0 is transmitted as 0xffff, since 0 means "none" (RFC 768). */
export function udpChecksumOnWire(computed: number): number {
  return computed === 0 ? 0xffff : computed;
}

/**
 * RFC 1624 eqn. 3: the checksum after one 16-bit word of the summed data changes from
 * `oldWord` to `newWord`: HC' = ~(~HC + ~m + m'). As the kernel's csum_replace2.
 */
export function checksumReplace16(check: number, oldWord: number, newWord: number): number {
  const s = (~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(s) & 0xffff;
}

/** RFC 1624 for a 32-bit field (an IPv4 address, a sequence number), as csum_replace4. */
export function checksumReplace32(check: number, oldValue: number, newValue: number): number {
  const s = (~check & 0xffff)
    + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff)
    + ((newValue >>> 16) & 0xffff) + (newValue & 0xffff);
  return ~foldSum(s) & 0xffff;
}

/** Reads a big-endian 16-bit value. */
export function read16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

/** Writes a big-endian 16-bit value. */
export function write16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

/** Reads a big-endian unsigned 32-bit value. */
export function read32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Writes a big-endian 32-bit value. */
export function write32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
