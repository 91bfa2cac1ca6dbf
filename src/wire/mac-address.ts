import { AddressParseError } from './error.js';

/**
 * A 48-bit MAC address held in a number (exact in a double), comparable with === and usable
 * as a Map key, as the FDB needs.
 */
export type MacAddr = number & { readonly __brand: 'MacAddr' };

export const MAC_ZERO = 0 as MacAddr;
export const MAC_BROADCAST = 0xffffffffffff as MacAddr;

export function parseMac(text: string): MacAddr {
  const parts = text.split(':');
  if (parts.length !== 6) throw new AddressParseError(text, 'expected six colon-separated hex octets');
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) throw new AddressParseError(text, `bad octet "${p}"`);
    v = v * 256 + parseInt(p, 16);
  }
  return v as MacAddr;
}

/** Lower-case, zero-padded, as iproute2 prints (`62:6d:e7:6f:f3:e9`). */
export function formatMac(m: MacAddr | number): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const o = Math.floor(m / 2 ** (8 * i)) % 256;
    s += (o < 16 ? '0' : '') + o.toString(16) + (i ? ':' : '');
  }
  return s;
}

export function readMac(bytes: Uint8Array, offset: number): MacAddr {
  const hi = (bytes[offset]! << 8) | bytes[offset + 1]!;
  const lo = ((bytes[offset + 2]! << 24) | (bytes[offset + 3]! << 16) | (bytes[offset + 4]! << 8) | bytes[offset + 5]!) >>> 0;
  return (hi * 0x100000000 + lo) as MacAddr;
}

export function writeMac(bytes: Uint8Array, offset: number, m: MacAddr): void {
  const hi = Math.floor(m / 0x100000000);
  const lo = m >>> 0;
  bytes[offset] = hi >>> 8;
  bytes[offset + 1] = hi;
  bytes[offset + 2] = lo >>> 24;
  bytes[offset + 3] = lo >>> 16;
  bytes[offset + 4] = lo >>> 8;
  bytes[offset + 5] = lo;
}

/** Group bit (I/G): broadcast and multicast frames are flooded by a bridge. */
export function isMulticastMac(m: MacAddr): boolean {
  return (Math.floor(m / 0x10000000000) & 1) === 1;
}

/**
 * A random locally administered unicast MAC, as the kernel's eth_random_addr:
 * 6 random bytes, multicast bit cleared, local bit set.
 */
export function randomMac(nextByte: () => number): MacAddr {
  const b = new Uint8Array(6);
  for (let i = 0; i < 6; i++) b[i] = nextByte() & 255;
  b[0] = (b[0]! & 0xfe) | 0x02;
  return readMac(b, 0);
}
