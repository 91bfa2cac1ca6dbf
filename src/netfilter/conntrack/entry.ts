import type { PacketBuffer } from '../../wire/packet-buffer.js';

/**
 * One conntrack tuple (nf_conntrack_tuple). For ICMP `sport` holds the echo id and `dport`
 * `type << 8 | code`, as the kernel keeps src.u.icmp.id and dst.u.icmp.{type,code}.
 */
export interface Tuple {
  readonly src: number;
  readonly dst: number;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
}

/** ct->status bits (uapi nf_conntrack_common.h ip_conntrack_status). */
export const IPS = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  SRC_NAT: 1 << 4,
  DST_NAT: 1 << 5,
  SRC_NAT_DONE: 1 << 7,
  DST_NAT_DONE: 1 << 8,
  DYING: 1 << 9,
} as const;

/** enum ip_conntrack_info. */
export const IP_CT = {
  ESTABLISHED: 0,
  RELATED: 1,
  NEW: 2,
  IS_REPLY: 3,
  ESTABLISHED_REPLY: 3,
  RELATED_REPLY: 4,
} as const;

export const CTINFO_NAMES = ['ESTABLISHED', 'RELATED', 'NEW', 'ESTABLISHED_REPLY', 'RELATED_REPLY'] as const;

/** TCP conntrack states, in the kernel's enum order (tcp_conntrack). */
export const TCP_STATES = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2'] as const;
export type TcpState = number;

/** struct nf_conn, the parts the model keeps. */
export interface CtEntry {
  readonly id: number;
  /** The original-direction tuple (as first seen, never changed). */
  readonly orig: Tuple;
  /** The reply-direction tuple; NAT rewrites it (nf_conntrack_alter_reply). */
  reply: Tuple;
  status: number;
  mark: number;
  /** Absolute expiry time (ns) once confirmed; before confirm, the pending timeout length. */
  expires: number;
  timeout: number;
  tcpState: TcpState;
  /** UDP: time after which a continuing flow counts as a stream (ct->proto.udp.stream_ts). */
  streamTs: number;
  /** The hook that created it, for the unconfirmed ct of loopback (kept on the skb). */
  readonly createdAt: number;
}

/** The marker skb->_nfct holds for NOTRACK / CT --notrack (IP_CT_UNTRACKED). */
export const UNTRACKED: object = Object.freeze({ untracked: true });

/** The packet's conntrack: an entry, 'untracked', or null (no entry: ctstate INVALID). */
export function ctOf(p: PacketBuffer): CtEntry | 'untracked' | null {
  const ct = p.ct;
  if (ct === null) return null;
  if (ct === UNTRACKED) return 'untracked';
  return ct as CtEntry;
}

export function invertTuple(t: Tuple): Tuple {
  if (t.proto === 1) {
    const type = t.dport >> 8;
    const inv = ICMP_INVERT[type];
    return { src: t.dst, dst: t.src, proto: 1, sport: t.sport, dport: ((inv ?? type) << 8) | (t.dport & 0xff) };
  }
  return { src: t.dst, dst: t.src, proto: t.proto, sport: t.dport, dport: t.sport };
}

/** icmp_pkt_to_tuple's invmap: request <-> reply types. */
export const ICMP_INVERT: Readonly<Record<number, number>> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17 };

export function tupleKey(t: Tuple): string {
  return `${t.proto}|${t.src}|${t.sport}|${t.dst}|${t.dport}`;
}

export function tupleEquals(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.proto === b.proto && a.sport === b.sport && a.dport === b.dport;
}
