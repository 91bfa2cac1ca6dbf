/**
 * In-place NAT of an IPv4 packet with incremental checksum updates (RFC 1624), as the kernel's
 * nf_nat_ipv4_manip_pkt and the l4proto manip functions (nf_nat_proto.c): the IP header
 * checksum with csum_replace4, the TCP/UDP checksum with inet_proto_csum_replace4/2 (the address
 * is in the pseudo-header), a UDP checksum of 0 left alone (none) and a result of 0 sent as
 * 0xffff (CSUM_MANGLED_0). Later fragments have no L4 header: only the IP header changes.
 *
 * The packet's `network` offset must be set; `transport` is derived from the IHL when unset.
 */
import type { PacketBuffer } from './packet-buffer.js';
import type { Ipv4Addr } from './ipv4-address.js';
import { readIpv4, writeIpv4 } from './ipv4-address.js';
import { checksumReplace16, checksumReplace32, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, read16, write16 } from './checksum.js';
import { IPV4_OFFSET_MASK } from './ipv4.js';
import { ICMP_ECHO, ICMP_ECHOREPLY } from './icmp.js';

const IP_CHECK = 10;
const IP_SRC = 12;
const IP_DST = 16;
const TCP_CHECK = 16;
const UDP_CHECK = 6;
const ICMP_CHECK = 2;
const ICMP_ID = 4;

/** Which address or port of the packet a manipulation rewrites (nf_nat_manip_type). */
export type NatSide = 'src' | 'dst';

function networkOf(pkt: PacketBuffer): number {
  if (pkt.network < pkt.head || pkt.network + 20 > pkt.end) throw new RangeError('NAT needs the network header offset set');
  return pkt.network;
}

/** Offset of the L4 header, or -1 for a later fragment (no L4 header in this packet). */
function transportOf(pkt: PacketBuffer, net: number): number {
  const b = pkt.buf;
  if ((read16(b, net + 6) & IPV4_OFFSET_MASK) !== 0) return -1;
  return pkt.transport >= 0 ? pkt.transport : net + (b[net]! & 15) * 4;
}

/** Updates the L4 checksum for a 32-bit pseudo-header change (inet_proto_csum_replace4). */
function l4AddressChanged(pkt: PacketBuffer, net: number, oldAddr: number, newAddr: number): void {
  const th = transportOf(pkt, net);
  if (th < 0) return;
  const b = pkt.buf;
  const proto = b[net + 9];
  if (proto === IPPROTO_TCP) {
    // An inner header quoted in an ICMP error may stop before the checksum (tcp_manip_pkt).
    if (th + TCP_CHECK + 2 > pkt.end) return;
    write16(b, th + TCP_CHECK, checksumReplace32(read16(b, th + TCP_CHECK), oldAddr, newAddr));
  } else if (proto === IPPROTO_UDP) {
    if (th + UDP_CHECK + 2 > pkt.end) return;
    const c = read16(b, th + UDP_CHECK);
    if (c === 0) return;
    const n = checksumReplace32(c, oldAddr, newAddr);
    write16(b, th + UDP_CHECK, n === 0 ? 0xffff : n);
  }
}

/** Rewrites the source or destination address, fixing the IP and L4 checksums. */
export function natSetAddress(pkt: PacketBuffer, side: NatSide, addr: Ipv4Addr): void {
  const net = networkOf(pkt);
  const b = pkt.buf;
  const at = net + (side === 'src' ? IP_SRC : IP_DST);
  const old = readIpv4(b, at);
  if (old === addr) return;
  l4AddressChanged(pkt, net, old, addr);
  write16(b, net + IP_CHECK, checksumReplace32(read16(b, net + IP_CHECK), old, addr));
  writeIpv4(b, at, addr);
}

/**
 * Rewrites the TCP or UDP source or destination port with the L4 checksum (ICMP echo: the
 * identifier, whichever side, as icmp_manip_pkt). Other protocols and later fragments are left alone.
 */
export function natSetPort(pkt: PacketBuffer, side: NatSide, port: number): void {
  const net = networkOf(pkt);
  const th = transportOf(pkt, net);
  if (th < 0) return;
  const b = pkt.buf;
  const proto = b[net + 9];
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
    const at = th + (side === 'src' ? 0 : 2);
    if (at + 2 > pkt.end) return;
    const old = read16(b, at);
    if (old === port) return;
    write16(b, at, port);
    if (proto === IPPROTO_TCP) {
      if (th + TCP_CHECK + 2 > pkt.end) return;
      write16(b, th + TCP_CHECK, checksumReplace16(read16(b, th + TCP_CHECK), old, port));
    } else {
      if (th + UDP_CHECK + 2 > pkt.end) return;
      const c = read16(b, th + UDP_CHECK);
      if (c === 0) return;
      const n = checksumReplace16(c, old, port);
      write16(b, th + UDP_CHECK, n === 0 ? 0xffff : n);
    }
  } else if (proto === IPPROTO_ICMP) {
    const type = b[th];
    if (type !== ICMP_ECHO && type !== ICMP_ECHOREPLY) return;
    if (th + ICMP_ID + 2 > pkt.end) return;
    const old = read16(b, th + ICMP_ID);
    if (old === port) return;
    write16(b, th + ICMP_ID, port);
    write16(b, th + ICMP_CHECK, checksumReplace16(read16(b, th + ICMP_CHECK), old, port));
  }
}

/** A NAT rewrite of any of the four tuple fields; absent fields are not changed. */
export interface NatRewrite {
  src?: Ipv4Addr;
  dst?: Ipv4Addr;
  srcPort?: number;
  dstPort?: number;
}

/** Applies a rewrite in place: ports first, then addresses, as nf_nat_ipv4_manip_pkt (L4 then IP). */
export function natRewrite(pkt: PacketBuffer, r: NatRewrite): void {
  if (r.srcPort !== undefined) natSetPort(pkt, 'src', r.srcPort);
  if (r.dstPort !== undefined) natSetPort(pkt, 'dst', r.dstPort);
  if (r.src !== undefined) natSetAddress(pkt, 'src', r.src);
  if (r.dst !== undefined) natSetAddress(pkt, 'dst', r.dst);
}

/** DNAT: destination address and port (what a KUBE-SEP DNAT or an IPVS masq forward does). */
export function natDnat(pkt: PacketBuffer, dst: Ipv4Addr, dstPort: number): void {
  natSetPort(pkt, 'dst', dstPort);
  natSetAddress(pkt, 'dst', dst);
}

/** SNAT/MASQUERADE: source address and port. */
export function natSnat(pkt: PacketBuffer, src: Ipv4Addr, srcPort: number): void {
  natSetPort(pkt, 'src', srcPort);
  natSetAddress(pkt, 'src', src);
}
