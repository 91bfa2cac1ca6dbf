/**
 * Address helpers with the semantics kube-proxy gets from k8s.io/utils/net: "sloppy" parsing
 * (IPv4 octets with leading zeros are read as decimal, as Go 1.16's net.ParseIP did), and
 * canonical printing (net.IP.String, net.IPNet.String with host bits cleared). IPv4 only: a
 * string that is not IPv4 is reported as family IPv6 when it contains ':' so that the
 * family filters of the service tracker drop it the way upstream does for a v4 proxier.
 */
import {
  cidrContains,
  cidrNetwork,
  formatIpv4,
  type Ipv4Addr,
  type Ipv4Cidr,
} from '../../wire/ipv4-address.js';

export type IpFamily = 'IPv4' | 'IPv6';

/** ParseIPSloppy for IPv4: four decimal octets, leading zeros allowed. */
export function parseIpv4Sloppy(text: string): Ipv4Addr | undefined {
  // Four runs of 1-3 digits joined by dots, each at most 255 (read by char codes: this runs
  // for every endpoint of every sync).
  let v = 0;
  let octets = 0;
  let i = 0;
  const n = text.length;
  while (octets < 4) {
    let len = 0;
    let o = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      o = o * 10 + (c - 48);
      len++;
      i++;
    }
    if (len === 0 || len > 3 || o > 255) return undefined;
    v = v * 256 + o;
    octets++;
    if (octets < 4) {
      if (i >= n || text.charCodeAt(i) !== 46) return undefined;
      i++;
    }
  }
  return i === n ? (v as Ipv4Addr) : undefined;
}

/** The regex form of parseIpv4Sloppy, kept as the definition the fast one is tested against. */
export function parseIpv4SloppyReference(text: string): Ipv4Addr | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v as Ipv4Addr;
}

/** ParseCIDRSloppy for IPv4: the network (host bits cleared), as net.ParseCIDR returns it. */
export function parseCidrSloppy(text: string): Ipv4Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = parseIpv4Sloppy(text.slice(0, slash));
  const l = text.slice(slash + 1);
  if (addr === undefined || !/^[0-9]{1,3}$/.test(l) || Number(l) > 32) return undefined;
  const c: Ipv4Cidr = { addr, len: Number(l) };
  return { addr: cidrNetwork(c), len: c.len };
}

export function familyOfIp(text: string): IpFamily | undefined {
  if (parseIpv4Sloppy(text) !== undefined) return 'IPv4';
  if (text.includes(':')) return 'IPv6';
  return undefined;
}

export function familyOfCidr(text: string): IpFamily | undefined {
  if (parseCidrSloppy(text) !== undefined) return 'IPv4';
  if (text.includes(':') && text.includes('/')) return 'IPv6';
  return undefined;
}

export function ipString(a: Ipv4Addr): string {
  return formatIpv4(a);
}

export function cidrString(c: Ipv4Cidr): string {
  return `${formatIpv4(c.addr)}/${c.len}`;
}

export function contains(c: Ipv4Cidr, a: Ipv4Addr): boolean {
  return cidrContains(c, a);
}

export function isLoopback(a: Ipv4Addr): boolean {
  return a >>> 24 === 127;
}

/** net.JoinHostPort for IPv4. */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
