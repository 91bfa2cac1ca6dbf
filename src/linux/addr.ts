/**
 * IPv4 addresses on devices (struct in_ifaddr) and the routes the kernel makes for them
 * (fib_add_ifaddr / fib_del_ifaddr in net/ipv4/fib_frontend.c).
 */
import { formatIpv4, prefixMask, type Ipv4Addr } from '../wire/ipv4-address.js';
import type { RouteScope } from './fib.js';
import type { NetDevice } from './link/device.js';

export interface InAddr {
  readonly dev: NetDevice;
  /** ifa_local. */
  readonly addr: Ipv4Addr;
  readonly len: number;
  /** ifa_broadcast as given (`brd`), 0 when none. */
  readonly broadcast: Ipv4Addr;
  readonly scope: RouteScope;
  /** IFA_F_SECONDARY: another primary of the same subnet exists on the device. */
  secondary: boolean;
}

export function inAddrNetwork(a: InAddr): Ipv4Addr {
  return ((a.addr & prefixMask(a.len)) >>> 0) as Ipv4Addr;
}

export function inAddrMatches(a: InAddr, x: Ipv4Addr): boolean {
  const m = prefixMask(a.len);
  return ((a.addr & m) >>> 0) === ((x & m) >>> 0);
}

/** `ip addr` inet line (iproute2 print_addrinfo). */
export function formatInAddr(a: InAddr): string {
  let s = `    inet ${formatIpv4(a.addr)}/${a.len} `;
  if (a.broadcast) s += `brd ${formatIpv4(a.broadcast)} `;
  s += `scope ${a.scope === 'global' ? 'global' : a.scope} `;
  if (a.secondary) s += 'secondary ';
  s += a.dev.name;
  return s;
}
