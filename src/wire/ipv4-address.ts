import { AddressParseError } from './error.js';

/**
 * An IPv4 address as an unsigned 32-bit number (as net/netip's Addr: a small immutable
 * value, comparable with ===, usable as a Map key). The brand keeps it from mixing with
 * other numbers by accident.
 */
export type Ipv4Addr = number & { readonly __brand: 'Ipv4Addr' };

export const IPV4_ANY = 0 as Ipv4Addr;
export const IPV4_BROADCAST = 0xffffffff as Ipv4Addr;

export function ipv4(a: number, b: number, c: number, d: number): Ipv4Addr {
  return (((a & 255) << 24) | ((b & 255) << 16) | ((c & 255) << 8) | (d & 255)) >>> 0 as Ipv4Addr;
}

/** Parses dotted-quad text strictly (no leading zeros, as inet_pton). */
export function parseIpv4(text: string): Ipv4Addr {
  const parts = text.split('.');
  if (parts.length !== 4) throw new AddressParseError(text, 'expected four dotted decimal octets');
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) throw new AddressParseError(text, `bad octet "${p}"`);
    const n = Number(p);
    if (n > 255) throw new AddressParseError(text, `octet ${n} is over 255`);
    v = v * 256 + n;
  }
  return v as Ipv4Addr;
}

/** Like parseIpv4 but answers undefined instead of throwing. */
export function tryParseIpv4(text: string): Ipv4Addr | undefined {
  try {
    return parseIpv4(text);
  } catch {
    return undefined;
  }
}

export function formatIpv4(a: Ipv4Addr | number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function readIpv4(bytes: Uint8Array, offset: number): Ipv4Addr {
  return (((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0) as Ipv4Addr;
}

export function writeIpv4(bytes: Uint8Array, offset: number, a: Ipv4Addr): void {
  bytes[offset] = a >>> 24;
  bytes[offset + 1] = a >>> 16;
  bytes[offset + 2] = a >>> 8;
  bytes[offset + 3] = a;
}

/** Netmask for a prefix length 0..32 as a uint32. */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** A prefix such as 10.42.0.0/16. `addr` is the address as written (host bits kept). */
export interface Ipv4Cidr {
  readonly addr: Ipv4Addr;
  readonly len: number;
}

export function parseCidr(text: string): Ipv4Cidr {
  const slash = text.indexOf('/');
  const addr = parseIpv4(slash < 0 ? text : text.slice(0, slash));
  let len = 32;
  if (slash >= 0) {
    const l = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]?)$/.test(l) || Number(l) > 32) throw new AddressParseError(text, `bad prefix length "${l}"`);
    len = Number(l);
  }
  return { addr, len };
}

/** The network address of a prefix (host bits cleared). */
export function cidrNetwork(c: Ipv4Cidr): Ipv4Addr {
  return ((c.addr & prefixMask(c.len)) >>> 0) as Ipv4Addr;
}

export function cidrBroadcast(c: Ipv4Cidr): Ipv4Addr {
  return ((c.addr | ~prefixMask(c.len)) >>> 0) as Ipv4Addr;
}

export function cidrContains(c: Ipv4Cidr, a: Ipv4Addr): boolean {
  const m = prefixMask(c.len);
  return ((a & m) >>> 0) === ((c.addr & m) >>> 0);
}

/** True when the two prefixes share any address. */
export function cidrOverlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const len = Math.min(a.len, b.len);
  const m = prefixMask(len);
  return ((a.addr & m) >>> 0) === ((b.addr & m) >>> 0);
}

export function formatCidr(c: Ipv4Cidr): string {
  return `${formatIpv4(c.addr)}/${c.len}`;
}
