import type { NfHookOps, NfHookState, NfVerdict } from '../netfilter/hooks.js';
import { internetChecksum, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, l4Checksum, read16, udpChecksumOnWire, write16 } from '../wire/checksum.js';
import { formatIpv4, readIpv4, writeIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import { Ipv4Packet } from '../wire/ipv4.js';
import { natSetAddress, natSetPort } from '../wire/nat.js';
import type { PacketBuffer } from '../wire/packet-buffer.js';
import type { IpvsConn } from './conn.js';
import { fwdName, IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_LOCALNODE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_NFCT } from './constants.js';
import type { Ipvs, IpvsHook, IpvsPacketInfo } from './ipvs.js';
import type { IpvsWhere } from './trace.js';

// Verdict numbers as netfilter/hooks.ts (NF_DROP, NF_ACCEPT, NF_STOLEN); only its types are imported.
const NF_DROP = 0 as NfVerdict;
const NF_ACCEPT = 1 as NfVerdict;
const NF_STOLEN = 2 as NfVerdict;

/** uapi nf_ip_hook_priorities used by ip_vs_ops4. */
const NF_IP_PRI_NAT_DST = -100;
const NF_IP_PRI_NAT_SRC = 100;

/**
 * The seam to conntrack when net.ipv4.vs.conntrack=1 (ip_vs_nfct.c). netfilter/ implements
 * it; without one, IPVS untracks the packets it handles (`packet.ct = null`).
 */
export interface IpvsConntrack {
  /** nf_ct_is_confirmed(nf_ct_get(skb)): the packet's conntrack entry is already in the table. */
  isConfirmed(packet: PacketBuffer): boolean;
  /**
   * ip_vs_update_conntrack(skb, cp, outin): when the packet's entry is unconfirmed, not dying,
   * in the original direction, and the connection is Masq and not one-packet, replace its reply
   * tuple: outin (request) -> reply source becomes daddr:dport (the real server); !outin
   * (reply) -> reply destination becomes vaddr:vport. The original tuple is left as it is.
   */
  update(packet: PacketBuffer, conn: IpvsConn, outin: boolean): void;
  /** ip_vs_notrack: the packet loses its entry and is marked untracked. */
  notrack(packet: PacketBuffer): void;
}

/**
 * What IPVS needs from the namespace beyond NfNetns: icmp_send for ip_vs_leave's port
 * unreachable and the TTL-exceeded of a forwarded request. linux/'s namespace has it.
 */
interface IcmpCapable {
  icmpSend?(offending: PacketBuffer, type: number, code: number, info?: number): void;
}

/** skb->ipvs_property: the packet was handled by IPVS; other IPVS hooks let it pass. */
const ipvsProperty = new WeakSet<PacketBuffer>();

/** ipvs_reset (skb_scrub_packet): crossing into another namespace clears the mark. */
export function ipvsReset(packet: PacketBuffer): void {
  ipvsProperty.delete(packet);
}

export function hasIpvsProperty(packet: PacketBuffer): boolean {
  return ipvsProperty.has(packet);
}

const noConntrack: IpvsConntrack = {
  isConfirmed: () => false,
  update: () => undefined,
  notrack: (p) => {
    p.ct = null;
  },
};

/**
 * The hook functions as ip_vs_core.c registers them (ip_vs_ops4), in the shape of
 * netfilter's NfHookOps. They act once the first service exists (ipvs->enable).
 *
 * | hook        | priority          | function          |
 * |-------------|-------------------|-------------------|
 * | LOCAL_IN    | NAT_SRC - 2 = 98  | ip_vs_out_hook    |
 * | LOCAL_IN    | NAT_SRC - 1 = 99  | ip_vs_in_hook     |
 * | LOCAL_OUT   | NAT_DST + 1 = -99 | ip_vs_out_hook    |
 * | LOCAL_OUT   | NAT_DST + 2 = -98 | ip_vs_in_hook     |
 * | FORWARD     | 99                | ip_vs_forward_icmp|
 * | FORWARD     | 100               | ip_vs_out_hook    |
 */
export function hookOps(ipvs: Ipvs, conntrack: IpvsConntrack = noConntrack): NfHookOps[] {
  const inHook = (hook: IpvsHook) => (p: PacketBuffer, s: NfHookState): NfVerdict => ipvsIn(ipvs, conntrack, hook, p, s);
  const outHook = (hook: IpvsHook) => (p: PacketBuffer, s: NfHookState): NfVerdict => ipvsOut(ipvs, conntrack, hook, p, s);
  return [
    { hook: 'INPUT', priority: NF_IP_PRI_NAT_SRC - 2, owner: 'ipvs', fn: outHook('LOCAL_IN') },
    { hook: 'INPUT', priority: NF_IP_PRI_NAT_SRC - 1, owner: 'ipvs', fn: inHook('LOCAL_IN') },
    { hook: 'OUTPUT', priority: NF_IP_PRI_NAT_DST + 1, owner: 'ipvs', fn: outHook('LOCAL_OUT') },
    { hook: 'OUTPUT', priority: NF_IP_PRI_NAT_DST + 2, owner: 'ipvs', fn: inHook('LOCAL_OUT') },
    // ICMP errors about IPVS connections (ip_vs_in_icmp) are not modelled: they pass.
    { hook: 'FORWARD', priority: 99, owner: 'ipvs', fn: () => NF_ACCEPT },
    { hook: 'FORWARD', priority: 100, owner: 'ipvs', fn: outHook('FORWARD') },
  ];
}

/** ip_vs_fill_iph_skb + the ports and TCP flags; undefined for what IPVS cannot read. */
export function decodePacket(p: PacketBuffer, ctConfirmed: boolean): IpvsPacketInfo | undefined {
  const net = p.network;
  if (net < 0 || net + 20 > p.end) return undefined;
  const b = p.buf;
  if (b[net]! >>> 4 !== 4) return undefined;
  const ihl = (b[net]! & 15) * 4;
  const total = read16(b, net + 2);
  const protocol = b[net + 9]!;
  const laterFragment = (read16(b, net + 6) & 0x1fff) !== 0;
  const th = net + ihl;
  let sport = 0;
  let dport = 0;
  let tcpFlags = 0;
  if (!laterFragment && (protocol === IPPROTO_TCP || protocol === IPPROTO_UDP)) {
    const need = protocol === IPPROTO_TCP ? 14 : 4;
    if (th + need > p.end) return undefined;
    sport = read16(b, th);
    dport = read16(b, th + 2);
    if (protocol === IPPROTO_TCP) tcpFlags = b[th + 13]!;
  }
  return {
    protocol, saddr: readIpv4(b, net + 12), daddr: readIpv4(b, net + 16), sport, dport, tcpFlags, length: total,
    mark: p.mark, laterFragment, ctConfirmed,
  };
}

function whereOf(s: NfHookState): IpvsWhere {
  const dev = s.inDev ?? s.outDev;
  return dev ? { node: s.netns.node, netns: s.netns.netns, dev } : { node: s.netns.node, netns: s.netns.netns };
}

function ipvsIn(ipvs: Ipvs, ct: IpvsConntrack, hook: IpvsHook, p: PacketBuffer, s: NfHookState): NfVerdict {
  if (ipvsProperty.has(p) || !ipvs.enabled) return NF_ACCEPT;
  const info = decodePacket(p, ct.isConfirmed(p));
  if (!info) return NF_ACCEPT;
  const where = whereOf(s);
  const icmp = (s.netns as unknown as IcmpCapable).icmpSend?.bind(s.netns);
  if (info.protocol === IPPROTO_ICMP) return inIcmp(ipvs, ct, p, s, icmp, where);
  const d = ipvs.inPacket(info, hook, where);
  if (d.kind === 'accept') return NF_ACCEPT;
  if (d.kind === 'drop') {
    // ip_vs_leave: "the TCP RST packet cannot be sent, instead ICMP_PORT_UNREACH is sent".
    if (d.icmpPortUnreachable) icmp?.(p, 3, 3, 0);
    return NF_DROP;
  }
  const cp = d.conn;
  const fwd = cp.flags & IP_VS_CONN_F_FWD_MASK;
  if (fwd === IP_VS_CONN_F_LOCALNODE) return NF_ACCEPT; // ip_vs_null_xmit
  if (fwd !== IP_VS_CONN_F_MASQ) {
    if (ipvs.sink) ipvs.emit({ kind: 'ipvs.drop', step: 'ip_vs_xmit', reason: `forwarding method ${fwdName(cp.flags)} is not modelled`, verdict: 'DROP', ...where });
    return NF_DROP;
  }
  return natXmit(ipvs, ct, hook, cp, p, s, icmp, where);
}

/** ip_vs_nat_xmit + ip_vs_nat_send_or_cont. */
function natXmit(
  ipvs: Ipvs, ct: IpvsConntrack, hook: IpvsHook, cp: IpvsConn, p: PacketBuffer, s: NfHookState,
  icmp: ((o: PacketBuffer, t: number, c: number, i?: number) => void) | undefined, where: IpvsWhere,
): NfVerdict {
  const ip = Ipv4Packet.unchecked(p.buf, p.network);
  const local = s.netns.isLocalAddress(cp.daddr);
  if (local && (cp.daddr >>> 24) === 127 && hook === 'LOCAL_IN') return NF_DROP; // "stopping DNAT to loopback address"
  if (!local) {
    // decrement_ttl in __ip_vs_get_out_rt.
    if (ip.ttl() <= 1) {
      icmp?.(p, 11, 0, 0);
      return NF_DROP;
    }
    ip.setTtl(ip.ttl() - 1);
  }
  rewrite(p, 'dst', cp.daddr, cp.dport);
  ip.fillChecksum(); // ip_send_check
  if (ipvs.sink) {
    const text = `DNAT ${formatIpv4(cp.vaddr)}:${cp.vport} -> ${formatIpv4(cp.daddr)}:${cp.dport}`;
    ipvs.emit({ kind: 'ipvs.nat', step: 'ip_vs_nat_xmit', conn: cp, direction: 'dnat', text, ...where });
  }
  ipvsProperty.add(p);
  if (cp.flags & IP_VS_CONN_F_NFCT) ct.update(p, cp, true);
  else ct.notrack(p);
  if (local) return NF_ACCEPT;
  s.netns.sendLocal(p); // NF_HOOK(NF_INET_LOCAL_OUT, ..., dst_output)
  return NF_STOLEN;
}

function ipvsOut(ipvs: Ipvs, ct: IpvsConntrack, hook: IpvsHook, p: PacketBuffer, s: NfHookState): NfVerdict {
  if (ipvsProperty.has(p) || !ipvs.enabled) return NF_ACCEPT;
  const info = decodePacket(p, false);
  if (!info) return NF_ACCEPT;
  if (info.protocol === IPPROTO_ICMP) return outIcmp(ipvs, ct, p, s);
  const where = whereOf(s);
  const d = ipvs.outPacket(info, hook, where);
  if (d.kind === 'accept') return NF_ACCEPT;
  // handle_response: SNAT back to the virtual service.
  const cp = d.conn;
  const ip = Ipv4Packet.unchecked(p.buf, p.network);
  rewrite(p, 'src', cp.vaddr, cp.vport);
  ip.fillChecksum();
  if (ipvs.sink) {
    const text = `SNAT ${formatIpv4(cp.daddr)}:${cp.dport} -> ${formatIpv4(cp.vaddr)}:${cp.vport}`;
    ipvs.emit({ kind: 'ipvs.nat', step: 'handle_response', conn: cp, direction: 'snat', text, ...where });
  }
  ipvsProperty.add(p);
  if (cp.flags & IP_VS_CONN_F_NFCT) ct.update(p, cp, false);
  else ct.notrack(p);
  return NF_ACCEPT;
}

/**
 * ip_vs_out_icmp + handle_response_icmp + ip_vs_nat_icmp(inout = 1): an ICMP error from a real
 * server about a Masq entry gets the VIP as its source and inside the quote (destination
 * address and port); both IP header checksums and the ICMP checksum are recomputed. The
 * quoted L4 checksum is left as it is, as the kernel leaves it.
 */
/** The error types IPVS relays and the quoted packet's offsets (ip_vs_{in,out}_icmp). */
interface IcmpQuote {
  readonly type: number;
  /** Offsets of the ICMP header, the quoted IP header and the quoted ports. */
  readonly ic: number;
  readonly cih: number;
  readonly cl4: number;
  readonly inner: { protocol: number; saddr: Ipv4Addr; sport: number; daddr: Ipv4Addr; dport: number };
}

/** Answers the quote of an unreachable / source quench / time exceeded error, else undefined. */
function icmpQuote(p: PacketBuffer): IcmpQuote | 'drop' | undefined {
  const b = p.buf;
  const net = p.network;
  const ic = net + (b[net]! & 15) * 4;
  if (ic + 8 > p.end) return 'drop';
  const type = b[ic]!;
  if (type !== 3 && type !== 4 && type !== 11) return undefined;
  const cih = ic + 8;
  if (cih + 20 > p.end || b[cih]! >>> 4 !== 4) return undefined;
  if ((read16(b, cih + 6) & 0x1fff) !== 0) return undefined;
  const cl4 = cih + (b[cih]! & 15) * 4;
  if (cl4 + 4 > p.end) return undefined;
  return {
    type, ic, cih, cl4,
    inner: { protocol: b[cih + 9]!, saddr: readIpv4(b, cih + 12), daddr: readIpv4(b, cih + 16), sport: read16(b, cl4), dport: read16(b, cl4 + 2) },
  };
}

/** The ICMP checksum over the whole message, as ip_vs_checksum_complete. */
function fillIcmpChecksum(p: PacketBuffer, ic: number): void {
  const b = p.buf;
  const len = read16(b, p.network + 2) - (ic - p.network);
  write16(b, ic + 2, 0);
  write16(b, ic + 2, internetChecksum(b, ic, Math.min(len, p.end - ic)));
}

/**
 * ip_vs_in_icmp + ip_vs_icmp_xmit + ip_vs_nat_icmp(inout = 0): an ICMP error towards the VIP
 * about a reply of a Masq entry goes on to the real server, its destination and the quoted
 * source (address and port) rewritten to the server's.
 */
function inIcmp(
  ipvs: Ipvs, ct: IpvsConntrack, p: PacketBuffer, s: NfHookState,
  icmp: ((o: PacketBuffer, t: number, c: number, i?: number) => void) | undefined, where: IpvsWhere,
): NfVerdict {
  const q = icmpQuote(p);
  if (q === 'drop') return NF_DROP;
  if (!q) return NF_ACCEPT;
  const b = p.buf;
  const net = p.network;
  const cp = ipvs.inIcmp(q.inner, read16(b, net + 2), where);
  if (!cp) return NF_ACCEPT;
  const ip = Ipv4Packet.unchecked(b, net);
  const local = s.netns.isLocalAddress(cp.daddr);
  if (!local) {
    if (ip.ttl() <= 1) {
      icmp?.(p, 11, 0, 0);
      return NF_DROP;
    }
    ip.setTtl(ip.ttl() - 1);
  }
  writeIpv4(b, net + 16, cp.daddr);
  ip.fillChecksum();
  writeIpv4(b, q.cih + 12, cp.daddr);
  Ipv4Packet.unchecked(b, q.cih).fillChecksum();
  write16(b, q.cl4, cp.dport);
  fillIcmpChecksum(p, q.ic);
  if (ipvs.sink) {
    ipvs.emit({ kind: 'ipvs.nat', step: 'ip_vs_nat_icmp', conn: cp, direction: 'dnat', text: `ICMP ${q.type}: DNAT ${formatIpv4(cp.vaddr)} -> ${formatIpv4(cp.daddr)}, quoted source -> ${formatIpv4(cp.daddr)}:${cp.dport}`, ...where });
  }
  ipvsProperty.add(p);
  if (cp.flags & IP_VS_CONN_F_NFCT) ct.update(p, cp, true);
  else ct.notrack(p);
  if (local) return NF_ACCEPT;
  s.netns.sendLocal(p);
  return NF_STOLEN;
}

function outIcmp(ipvs: Ipvs, ct: IpvsConntrack, p: PacketBuffer, s: NfHookState): NfVerdict {
  const q = icmpQuote(p);
  if (q === 'drop') return NF_DROP;
  if (!q) return NF_ACCEPT;
  const b = p.buf;
  const net = p.network;
  const { type, cih, cl4 } = q;
  const cp = ipvs.outIcmp(q.inner, read16(b, net + 2), whereOf(s));
  if (!cp) return NF_ACCEPT;
  writeIpv4(b, net + 12, cp.vaddr);
  Ipv4Packet.unchecked(b, net).fillChecksum();
  writeIpv4(b, cih + 16, cp.vaddr);
  Ipv4Packet.unchecked(b, cih).fillChecksum();
  write16(b, cl4 + 2, cp.vport);
  fillIcmpChecksum(p, q.ic);
  if (ipvs.sink) {
    ipvs.emit({ kind: 'ipvs.nat', step: 'ip_vs_nat_icmp', conn: cp, direction: 'snat', text: `ICMP ${type}: SNAT ${formatIpv4(cp.daddr)} -> ${formatIpv4(cp.vaddr)}, quoted destination -> ${formatIpv4(cp.vaddr)}:${cp.vport}`, ...whereOf(s) });
  }
  ipvsProperty.add(p);
  if (cp.flags & IP_VS_CONN_F_NFCT) ct.update(p, cp, false);
  else ct.notrack(p);
  return NF_ACCEPT;
}

/**
 * tcp/udp_{d,s}nat_handler: the port and address with an incremental L4 checksum; a UDP
 * datagram without a checksum gets a full one computed (the "full checksum calculation"
 * branch), unlike netfilter NAT which leaves 0 alone.
 */
function rewrite(p: PacketBuffer, side: 'src' | 'dst', addr: Ipv4Addr, port: number): void {
  const net = p.network;
  const b = p.buf;
  const th = net + (b[net]! & 15) * 4;
  const udpNoCsum = b[net + 9] === IPPROTO_UDP && read16(b, th + 6) === 0;
  natSetPort(p, side, port);
  natSetAddress(p, side, addr);
  if (udpNoCsum) {
    const len = read16(b, net + 2) - (th - net);
    write16(b, th + 6, 0);
    write16(b, th + 6, udpChecksumOnWire(l4Checksum(b, th, len, readIpv4(b, net + 12), readIpv4(b, net + 16), IPPROTO_UDP)));
  }
}

/**
 * For iptables' `-m ipvs` (xt_ipvs.c): the IPVS entry of a packet IPVS handled, as ipvs_mt
 * finds it (ip_vs_fill_iph_skb inverted, then conn_out_get): a request already DNATed to its
 * real server. `--ipvs` alone is `hasIpvsProperty`; `--vaddr/--vport/--vproto/--vdir/--vmethod`
 * read the entry's vaddr, vport, protocol and forwarding method.
 */
export function xtIpvsConn(ipvs: Ipvs, p: PacketBuffer): IpvsConn | undefined {
  if (!ipvsProperty.has(p)) return undefined;
  const info = decodePacket(p, false);
  if (!info || (info.protocol !== IPPROTO_TCP && info.protocol !== IPPROTO_UDP)) return undefined;
  return ipvs.conns.outGet(info.protocol, info.daddr, info.dport, info.saddr, info.sport);
}
