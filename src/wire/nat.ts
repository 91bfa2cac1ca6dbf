/**
 * In-place NAT of an IPv4 packet with incremental checksum updates (RFC 1624), as the kernel's
 * nf_nat_ipv4_manip_pkt and the l4proto manip functions (net/netfilter/nf_nat_proto.c): the IP
 * header checksum with csum_replace4, the TCP/UDP checksum with inet_proto_csum_replace4/2 (the
 * address is in the pseudo-header), a UDP checksum of 0 left alone (none) and a result of 0 sent
 * as 0xffff (CSUM_MANGLED_0). Later fragments have no L4 header: only the IP header changes.
 * ICMP query messages (echo, timestamp, info, address mask) carry their identifier in place of
 * a port (icmp_manip_pkt).
 *
 * The packet's `network` offset must be set; `transport` is derived from the IHL when unset.
 * Checked against a real router's DNAT byte for byte (test/wire/nat-kernel.test.ts).
 */
import type { PacketBuffer } from './packet-buffer.js';
import type { Ipv4Addr } from './ipv4-address.js';
import { readIpv4, writeIpv4 } from './ipv4-address.js';
import { checksumReplace16, checksumReplace32, internetChecksum, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, read16, write16 } from './checksum.js';
import { IPV4_OFFSET_MASK } from './ipv4.js';
import { ICMP_HEADER_LEN } from './icmp.js';
import { WireError } from './error.js';

const IP_CHECK = 10;
const IP_SRC = 12;
const IP_DST = 16;
const TCP_CHECK = 16;
const TCP_HEADER = 20;
const UDP_CHECK = 6;
const ICMP_CHECK = 2;
const ICMP_ID = 4;

/** ICMP types whose bytes 4..5 are an identifier that NAT rewrites (icmp_manip_pkt). */
function isIcmpQuery(type: number): boolean {
  return type === 0 || type === 8 || (type >= 13 && type <= 18);
}

/** Which address or port of the packet a manipulation rewrites (nf_nat_manip_type). */
export type NatSide = 'src' | 'dst';

/** A NAT rewrite of any of the four tuple fields; absent fields are not changed. */
export interface NatRewrite {
  src?: Ipv4Addr;
  dst?: Ipv4Addr;
  srcPort?: number;
  dstPort?: number;
}

// The workers below see one IPv4 packet inside `b`: header at `net`, L4 header at `th` (-1 for
// a later fragment), bytes present up to `end` (an ICMP error's quote ends before the quoted
// total length). Plain arguments, so the per-packet path allocates nothing.

function networkOf(pkt: PacketBuffer): number {
  const net = pkt.network;
  if (net < pkt.head || net + 20 > pkt.end) throw new RangeError('NAT needs the network header offset set');
  return net;
}

function transportOf(pkt: PacketBuffer, net: number): number {
  const b = pkt.buf;
  if ((read16(b, net + 6) & IPV4_OFFSET_MASK) !== 0) return -1;
  return pkt.transport >= 0 ? pkt.transport : net + (b[net]! & 15) * 4;
}

/** Updates the L4 checksum for a 32-bit pseudo-header change (inet_proto_csum_replace4). */
function l4AddressChanged(b: Uint8Array, net: number, th: number, end: number, oldAddr: number, newAddr: number): void {
  if (th < 0) return;
  const proto = b[net + 9];
  if (proto === IPPROTO_TCP) {
    // An inner header quoted in an ICMP error may stop before the checksum (tcp_manip_pkt).
    if (th + TCP_HEADER > end) return;
    write16(b, th + TCP_CHECK, checksumReplace32(read16(b, th + TCP_CHECK), oldAddr, newAddr));
  } else if (proto === IPPROTO_UDP) {
    if (th + UDP_CHECK + 2 > end) return;
    const c = read16(b, th + UDP_CHECK);
    if (c === 0) return;
    const n = checksumReplace32(c, oldAddr, newAddr);
    write16(b, th + UDP_CHECK, n === 0 ? 0xffff : n);
  }
}

function setAddress(b: Uint8Array, net: number, th: number, end: number, side: NatSide, addr: Ipv4Addr): void {
  const at = net + (side === 'src' ? IP_SRC : IP_DST);
  const old = readIpv4(b, at);
  if (old === addr) return;
  l4AddressChanged(b, net, th, end, old, addr);
  write16(b, net + IP_CHECK, checksumReplace32(read16(b, net + IP_CHECK), old, addr));
  writeIpv4(b, at, addr);
}

function setPort(b: Uint8Array, net: number, th: number, end: number, side: NatSide, port: number): void {
  if (th < 0) return;
  const proto = b[net + 9];
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    const at = th + (side === 'src' ? 0 : 2);
    if (at + 2 > end) return;
    const old = read16(b, at);
    if (old === port) return;
    write16(b, at, port);
    if (proto === IPPROTO_TCP) {
      if (th + TCP_HEADER > end) return;
      write16(b, th + TCP_CHECK, checksumReplace16(read16(b, th + TCP_CHECK), old, port));
    } else {
      if (th + UDP_CHECK + 2 > end) return;
      const c = read16(b, th + UDP_CHECK);
      if (c === 0) return;
      const n = checksumReplace16(c, old, port);
      write16(b, th + UDP_CHECK, n === 0 ? 0xffff : n);
    }
  } else if (proto === IPPROTO_ICMP) {
    if (th + ICMP_ID + 2 > end || !isIcmpQuery(b[th]!)) return;
    const old = read16(b, th + ICMP_ID);
    if (old === port) return;
    write16(b, th + ICMP_ID, port);
    write16(b, th + ICMP_CHECK, checksumReplace16(read16(b, th + ICMP_CHECK), old, port));
  }
}

function rewrite(b: Uint8Array, net: number, th: number, end: number, r: NatRewrite): void {
  if (r.srcPort !== undefined) setPort(b, net, th, end, 'src', r.srcPort);
  if (r.dstPort !== undefined) setPort(b, net, th, end, 'dst', r.dstPort);
  if (r.src !== undefined) setAddress(b, net, th, end, 'src', r.src);
  if (r.dst !== undefined) setAddress(b, net, th, end, 'dst', r.dst);
}

/** Rewrites the source or destination address, fixing the IP and L4 checksums. */
export function natSetAddress(pkt: PacketBuffer, side: NatSide, addr: Ipv4Addr): void {
  const net = networkOf(pkt);
  setAddress(pkt.buf, net, transportOf(pkt, net), pkt.end, side, addr);
}

/**
 * Rewrites the TCP or UDP source or destination port with the L4 checksum (ICMP queries: the
 * identifier, whichever side, as icmp_manip_pkt). ICMP errors, other protocols and later
 * fragments are left alone.
 */
export function natSetPort(pkt: PacketBuffer, side: NatSide, port: number): void {
  const net = networkOf(pkt);
  setPort(pkt.buf, net, transportOf(pkt, net), pkt.end, side, port);
}

/** Applies a rewrite in place: ports first, then addresses, as nf_nat_ipv4_manip_pkt (L4 then IP). */
export function natRewrite(pkt: PacketBuffer, r: NatRewrite): void {
  const net = networkOf(pkt);
  rewrite(pkt.buf, net, transportOf(pkt, net), pkt.end, r);
}

/** DNAT: destination address and port (what a KUBE-SEP DNAT or an IPVS masq forward does). */
export function natDnat(pkt: PacketBuffer, dst: Ipv4Addr, dstPort: number): void {
  const net = networkOf(pkt);
  const th = transportOf(pkt, net);
  setPort(pkt.buf, net, th, pkt.end, 'dst', dstPort);
  setAddress(pkt.buf, net, th, pkt.end, 'dst', dst);
}

/** SNAT/MASQUERADE: source address and port. */
export function natSnat(pkt: PacketBuffer, src: Ipv4Addr, srcPort: number): void {
  const net = networkOf(pkt);
  const th = transportOf(pkt, net);
  setPort(pkt.buf, net, th, pkt.end, 'src', srcPort);
  setAddress(pkt.buf, net, th, pkt.end, 'src', src);
}

/**
 * Rewrites the packet quoted inside an ICMP error (`pkt` is the error; `inner` names fields
 * of the quoted packet), as nf_nat_icmp_reply_translation does for errors related to a NATed
 * connection: the quoted IP checksum and, when the quote holds it, the quoted L4 checksum are
 * updated incrementally, then the ICMP checksum is recomputed over the whole message. The
 * outer header is the caller's (natRewrite on `pkt` itself). Throws WireError when the
 * message is not an ICMP error with a quoted IPv4 header.
 */
export function natRewriteIcmpErrorQuote(pkt: PacketBuffer, inner: NatRewrite): void {
  const net = networkOf(pkt);
  const th = transportOf(pkt, net);
  const b = pkt.buf;
  if (th < 0 || b[net + 9] !== IPPROTO_ICMP) throw new WireError('ipv4.protocol', 'not an ICMP message');
  const ipEnd = Math.min(pkt.end, net + read16(b, net + 2));
  if (th + ICMP_HEADER_LEN + 20 > ipEnd) throw new WireError('icmp.quote', 'no quoted IPv4 header');
  const type = b[th]!;
  if (type !== 3 && type !== 4 && type !== 5 && type !== 11 && type !== 12) throw new WireError('icmp.type', `${type} is not an error`);
  const qnet = th + ICMP_HEADER_LEN;
  const vi = b[qnet]!;
  const qhl = (vi & 15) * 4;
  if (vi >>> 4 !== 4 || qhl < 20 || qnet + qhl > ipEnd) throw new WireError('icmp.quote', 'quoted IPv4 header is not valid');
  const later = (read16(b, qnet + 6) & IPV4_OFFSET_MASK) !== 0;
  rewrite(b, qnet, later ? -1 : qnet + qhl, ipEnd, inner);
  write16(b, th + ICMP_CHECK, 0);
  write16(b, th + ICMP_CHECK, internetChecksum(b, th, ipEnd - th));
}
