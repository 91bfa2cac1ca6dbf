/**
 * Builders for whole packets in a PacketBuffer, with every length and checksum filled in:
 * L3 packets (head at the IPv4 header, as the output path has them before the neighbour
 * layer), Ethernet frames, ARP, and VXLAN encapsulation that prepends the outer headers in
 * the headroom without copying the inner frame (as vxlan_xmit_one + udp_tunnel_xmit_skb).
 */
import { PacketBuffer } from './packet-buffer.js';
import type { Ipv4Addr } from './ipv4-address.js';
import { MAC_BROADCAST, type MacAddr } from './mac-address.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, l4Checksum, pseudoHeaderSum, sumWords, finishChecksum, udpChecksumOnWire, write16 } from './checksum.js';
import { WireError } from './error.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, EthernetFrame, type VlanTag } from './ethernet.js';
import { ARP_LEN, ARPOP_REQUEST, emitArp, type ArpRepr } from './arp.js';
import { emitIpv4Header, Ipv4Packet, ipv4HeaderLength, type Ipv4Repr } from './ipv4.js';
import { emitUdp, UDP_HEADER_LEN, UdpPacket } from './udp.js';
import { emitTcpHeader, tcpHeaderLength, type TcpRepr } from './tcp.js';
import { emitIcmp, icmpLength, linuxIcmpErrorQuote, type IcmpRepr } from './icmp.js';
import { emitVxlan, VXLAN_FLAG_I, VXLAN_HEADER_LEN, VXLAN_PORT_LINUX, VxlanPacket, type VxlanRepr } from './vxlan.js';

const EMPTY = new Uint8Array(0);

/** Ethernet addresses of a frame (the EtherType follows from what is inside). */
export interface EthernetAddrs {
  dst: MacAddr;
  src: MacAddr;
  vlan?: VlanTag;
}

/** IPv4 header fields; protocol and length follow from the payload. Defaults: TTL 64, rest 0. */
export interface Ipv4Params {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  ttl?: number;
  ident?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  fragmentOffset?: number;
  dscp?: number;
  ecn?: number;
  options?: Uint8Array;
}

export interface UdpParams {
  srcPort: number;
  dstPort: number;
  /** Compute the checksum (default true); false sends 0, "no checksum". */
  checksum?: boolean;
}

export type TcpParams = Omit<TcpRepr, 'payloadLength'>;

export interface BuildOptions {
  /** Free bytes in front of the packet; the default leaves room for Ethernet + VXLAN twice. */
  headroom?: number;
}

function ipRepr(ip: Ipv4Params, protocol: number, payloadLength: number): Ipv4Repr {
  return {
    dscp: ip.dscp ?? 0,
    ecn: ip.ecn ?? 0,
    ident: ip.ident ?? 0,
    dontFragment: ip.dontFragment ?? false,
    moreFragments: ip.moreFragments ?? false,
    fragmentOffset: ip.fragmentOffset ?? 0,
    ttl: ip.ttl ?? 64,
    protocol,
    src: ip.src,
    dst: ip.dst,
    options: ip.options ?? EMPTY,
    payloadLength,
  };
}

/** An IPv4 packet with `l4Length` bytes of payload left for the caller; sets `network`, `transport`. */
function allocIpv4(ip: Ipv4Params, protocol: number, l4Length: number, opts?: BuildOptions): PacketBuffer {
  const repr = ipRepr(ip, protocol, l4Length);
  const hl = ipv4HeaderLength(repr);
  const pkt = PacketBuffer.alloc(hl + l4Length, opts?.headroom ?? PacketBuffer.DEFAULT_HEADROOM);
  emitIpv4Header(repr, pkt.buf, pkt.head);
  pkt.network = pkt.head;
  pkt.transport = pkt.head + hl;
  return pkt;
}

/** An IPv4/UDP packet (no link header) with a correct checksum unless `udp.checksum` is false. */
export function buildUdp(ip: Ipv4Params, udp: UdpParams, payload: Uint8Array = EMPTY, opts?: BuildOptions): PacketBuffer {
  const pkt = allocIpv4(ip, IPPROTO_UDP, UDP_HEADER_LEN + payload.length, opts);
  pkt.buf.set(payload, pkt.transport + UDP_HEADER_LEN);
  emitUdp({ srcPort: udp.srcPort, dstPort: udp.dstPort, payloadLength: payload.length }, pkt.buf, pkt.transport,
    udp.checksum === false ? null : ip);
  return pkt;
}

/** An IPv4/TCP packet (no link header) with the checksum filled in. */
export function buildTcp(ip: Ipv4Params, tcp: TcpParams, payload: Uint8Array = EMPTY, opts?: BuildOptions): PacketBuffer {
  const hl = tcpHeaderLength(tcp);
  const pkt = allocIpv4(ip, IPPROTO_TCP, hl + payload.length, opts);
  pkt.buf.set(payload, pkt.transport + hl);
  emitTcpHeader(tcp, payload.length, pkt.buf, pkt.transport, ip);
  return pkt;
}

/** An IPv4/ICMP packet (no link header). */
export function buildIcmp(ip: Ipv4Params, icmp: IcmpRepr, opts?: BuildOptions): PacketBuffer {
  const pkt = allocIpv4(ip, IPPROTO_ICMP, icmpLength(icmp), opts);
  emitIcmp(icmp, pkt.buf, pkt.transport);
  return pkt;
}

/** Prepends an Ethernet header in the headroom (as neigh_output + dev_hard_header); sets `mac`. */
export function pushEthernet(pkt: PacketBuffer, eth: EthernetAddrs, ethertype = ETHERTYPE_IPV4): PacketBuffer {
  const len = eth.vlan ? 18 : 14;
  const at = pkt.push(len);
  emitEthernet(eth.vlan ? { dst: eth.dst, src: eth.src, ethertype, vlan: eth.vlan } : { dst: eth.dst, src: eth.src, ethertype }, pkt.buf, at);
  pkt.mac = at;
  return pkt;
}

export function buildUdpFrame(eth: EthernetAddrs, ip: Ipv4Params, udp: UdpParams, payload: Uint8Array = EMPTY, opts?: BuildOptions): PacketBuffer {
  return pushEthernet(buildUdp(ip, udp, payload, opts), eth);
}

export function buildTcpFrame(eth: EthernetAddrs, ip: Ipv4Params, tcp: TcpParams, payload: Uint8Array = EMPTY, opts?: BuildOptions): PacketBuffer {
  return pushEthernet(buildTcp(ip, tcp, payload, opts), eth);
}

export function buildIcmpFrame(eth: EthernetAddrs, ip: Ipv4Params, icmp: IcmpRepr, opts?: BuildOptions): PacketBuffer {
  return pushEthernet(buildIcmp(ip, icmp, opts), eth);
}

/**
 * An ARP frame, 42 bytes, unpadded as Linux sends it. Ethernet addresses default to what
 * arp_create uses: source = sender MAC, destination = broadcast for a request, else the target MAC.
 */
export function buildArpFrame(arp: ArpRepr, eth?: Partial<EthernetAddrs>, opts?: BuildOptions): PacketBuffer {
  const pkt = PacketBuffer.alloc(ARP_LEN, opts?.headroom ?? PacketBuffer.DEFAULT_HEADROOM);
  emitArp(arp, pkt.buf, pkt.head);
  pkt.network = pkt.head;
  const dst = eth?.dst ?? (arp.op === ARPOP_REQUEST ? MAC_BROADCAST : arp.targetMac);
  const addrs: EthernetAddrs = { dst, src: eth?.src ?? arp.senderMac };
  if (eth?.vlan) addrs.vlan = eth.vlan;
  return pushEthernet(pkt, addrs, ETHERTYPE_ARP);
}

/**
 * Sets `mac`, `network` and `transport` from the frame at `pkt.head` (as eth_type_trans and
 * ip_rcv do). `transport` is set only for IPv4 that is not a later fragment; otherwise -1.
 * Throws WireError when the headers do not check out.
 */
export function setHeaderOffsets(pkt: PacketBuffer): PacketBuffer {
  const eth = EthernetFrame.checked(pkt.buf, pkt.head, pkt.length);
  pkt.mac = pkt.head;
  pkt.network = eth.payloadOffset();
  pkt.transport = -1;
  if (eth.ethertype() === ETHERTYPE_IPV4) {
    const ip = Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network);
    if (!ip.isLaterFragment()) pkt.transport = ip.payloadOffset();
  }
  return pkt;
}

/** The outer headers flannel's vxlan device (flannel.1) puts around a frame. */
export interface VxlanOuter {
  eth: EthernetAddrs;
  /** Outer IPv4: the local and remote VTEP. Linux defaults: TTL 64, DF clear, TOS 0. */
  ip: Ipv4Params;
  /** From udp_flow_src_port: a hash of the inner flow into 32768-60999. */
  srcPort: number;
  /** Default 8472, the Linux vxlan module's port. */
  dstPort?: number;
  vni: number;
  /** Default 0x08 (I). */
  flags?: number;
  /** Outer UDP checksum (default true: `udpcsum`, the kernel default for IPv4 vxlan over netlink). */
  udpChecksum?: boolean;
}

/**
 * Prepends outer Ethernet/IPv4/UDP/VXLAN in front of the inner Ethernet frame at `pkt.head`,
 * in place (only the headroom is written; the inner frame is not copied unless the headroom is
 * too small). Sets `mac`, `network`, `transport` to the outer headers.
 */
export function vxlanEncapsulate(pkt: PacketBuffer, outer: VxlanOuter): PacketBuffer {
  const innerLen = pkt.length;
  const udpLen = UDP_HEADER_LEN + VXLAN_HEADER_LEN + innerLen;
  const ip = ipRepr(outer.ip, IPPROTO_UDP, udpLen);
  const ipLen = ipv4HeaderLength(ip);
  const ethLen = outer.eth.vlan ? 18 : 14;
  const start = pkt.push(ethLen + ipLen + UDP_HEADER_LEN + VXLAN_HEADER_LEN);
  const b = pkt.buf;
  const udpAt = start + ethLen + ipLen;
  emitEthernet(outer.eth.vlan
    ? { dst: outer.eth.dst, src: outer.eth.src, ethertype: ETHERTYPE_IPV4, vlan: outer.eth.vlan }
    : { dst: outer.eth.dst, src: outer.eth.src, ethertype: ETHERTYPE_IPV4 }, b, start);
  emitIpv4Header(ip, b, start + ethLen);
  emitVxlan({ flags: outer.flags ?? VXLAN_FLAG_I, vni: outer.vni }, b, udpAt + UDP_HEADER_LEN);
  emitUdp({ srcPort: outer.srcPort, dstPort: outer.dstPort ?? VXLAN_PORT_LINUX, payloadLength: udpLen - UDP_HEADER_LEN }, b, udpAt, null);
  if (outer.udpChecksum !== false) {
    write16(b, udpAt + 6, udpChecksumOnWire(l4Checksum(b, udpAt, udpLen, ip.src, ip.dst, IPPROTO_UDP)));
  }
  pkt.mac = start;
  pkt.network = start + ethLen;
  pkt.transport = udpAt;
  return pkt;
}

export interface VxlanDecapOptions {
  /** Where the packet starts: at the outer Ethernet header (default) or at `pkt.transport` (UDP). */
  from?: 'ethernet' | 'udp';
  /** Verify the outer UDP checksum (when not 0) and throw WireError('udp.checksum') if wrong. */
  verifyChecksum?: boolean;
}

/**
 * Strips outer Ethernet/IPv4/UDP/VXLAN (as vxlan_rcv: the I flag must be set), leaving
 * `pkt.head` at the inner Ethernet header with `mac`/`network` set for it and `transport` -1.
 * Link-layer padding after the outer UDP datagram is trimmed. Answers the VXLAN header.
 * Throws WireError naming the field when the outer headers do not check out; the packet is
 * left unchanged then.
 */
export function vxlanDecapsulate(pkt: PacketBuffer, opts?: VxlanDecapOptions): VxlanRepr {
  const b = pkt.buf;
  let udpAt: number;
  let udpAvail: number;
  let src = 0;
  let dst = 0;
  let haveAddrs = false;
  if ((opts?.from ?? 'ethernet') === 'ethernet') {
    const eth = EthernetFrame.checked(b, pkt.head, pkt.length);
    const type = eth.ethertype();
    if (type !== ETHERTYPE_IPV4) throw new WireError('ethernet.ethertype', `0x${type.toString(16)}, expected IPv4 for VXLAN`);
    const ip = Ipv4Packet.checked(b, eth.payloadOffset(), pkt.end - eth.payloadOffset());
    if (ip.protocol() !== IPPROTO_UDP) throw new WireError('ipv4.protocol', `${ip.protocol()}, expected 17 (UDP) for VXLAN`);
    if (ip.isLaterFragment() || ip.moreFragments()) throw new WireError('ipv4.fragment', 'a fragment cannot be decapsulated');
    udpAt = ip.payloadOffset();
    udpAvail = ip.payloadLength();
    src = ip.src();
    dst = ip.dst();
    haveAddrs = true;
  } else {
    if (pkt.transport < pkt.head || pkt.transport > pkt.end) throw new WireError('udp.header', 'transport offset is not set');
    udpAt = pkt.transport;
    udpAvail = pkt.end - udpAt;
  }
  const udp = UdpPacket.checked(b, udpAt, udpAvail);
  const ulen = udp.length();
  const vx = VxlanPacket.checked(b, udp.payloadOffset(), ulen - UDP_HEADER_LEN);
  if (!vx.vniValid()) throw new WireError('vxlan.flags', `0x${vx.flags().toString(16)}, the I flag is not set`);
  const inner = EthernetFrame.checked(b, vx.payloadOffset(), ulen - UDP_HEADER_LEN - VXLAN_HEADER_LEN);
  if (opts?.verifyChecksum && haveAddrs && udp.checksum() !== 0) {
    if (finishChecksum(sumWords(b, udpAt, ulen, pseudoHeaderSum(src, dst, IPPROTO_UDP, ulen))) !== 0) {
      throw new WireError('udp.checksum', `0x${udp.checksum().toString(16)} does not verify`);
    }
  }
  const repr: VxlanRepr = { flags: vx.flags(), vni: vx.vni() };
  pkt.end = udpAt + ulen;
  pkt.head = vx.payloadOffset();
  pkt.mac = pkt.head;
  pkt.network = inner.payloadOffset();
  pkt.transport = -1;
  return repr;
}

/** What icmp_send needs beyond the offending packet. */
export interface IcmpErrorParams {
  /** The error's source (the offending packet's destination if it was ours, else the route's choice). */
  src: Ipv4Addr;
  type: number;
  code: number;
  /**
   * icmp_send's `info`, bytes 4..7: the next-hop MTU for fragmentation needed, the gateway
   * for a redirect, the pointer << 24 for a parameter problem; 0 otherwise.
   */
  info?: number;
  /** From the netns IP ID generator (the error goes out with DF clear). */
  ident: number;
  /** net.ipv4.ip_default_ttl (64). */
  ttl?: number;
  /** MTU of the route back to the sender: the quote shrinks below 576 with it. */
  routeMtu?: number;
  /** IP options echoed back (ip_options_echo); they also shrink the quote. */
  options?: Uint8Array;
}

/**
 * The ICMP error Linux's __icmp_send builds about `offending` (its bytes from the IPv4
 * header): TOS = the original's TOS bits | 0xc0 (IPTOS_PREC_INTERNETCONTROL), DF clear, TTL
 * 64, destination = the offending source, the quote of linuxIcmpErrorQuote. Answers an L3
 * packet (head at the IP header), or null where Linux sends nothing for want of room. Whether
 * an error is sent at all (not about an error, a later fragment, a broadcast) is the caller's.
 */
export function buildIcmpError(offending: Uint8Array, p: IcmpErrorParams, opts?: BuildOptions): PacketBuffer | null {
  const ip = Ipv4Packet.checkedQuote(offending);
  const options = p.options ?? EMPTY;
  const quote = linuxIcmpErrorQuote(offending, p.routeMtu ?? 1500, options.length);
  if (quote === null) return null;
  const info = (p.info ?? 0) >>> 0;
  const repr: IcmpRepr = { kind: 'other', type: p.type, code: p.code, rest: info, data: quote };
  const tos = (ip.tos() & 0x1e) | 0xc0;
  return buildIcmp({ src: p.src, dst: ip.src(), ident: p.ident, ttl: p.ttl ?? 64, dscp: tos >>> 2, ecn: tos & 3, options }, repr, opts);
}
