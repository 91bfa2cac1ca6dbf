import type { PacketBuffer } from '../../wire/packet-buffer.js';
import type { ConntrackTable } from './table.js';
import type { CtEntry, Tuple } from './entry.js';
import { IPS, IP_CT, UNTRACKED, invertTuple } from './entry.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, readIpv4Fields, u16, type Ipv4Fields } from '../packet.js';
import { sIG, sIV, sNO, sSS, sCL, sTW, tcpError, tcpFlagIndex, tcpTransition, TCP_SYN_SET, sES, sSR } from './tcp.js';

const S = 1_000_000_000;

/** ICMP types conntrack treats as errors about another flow (icmp_error_message). */
const ICMP_ERRORS = new Set([3, 4, 5, 11, 12]);
/** ICMP types that may start a flow (icmp_new valid_new). */
const ICMP_NEW = new Set([8, 13, 15, 17]);

/** nf_ct_get_tuple for the packet at `l4` (ports, or ICMP id/type/code); undefined if truncated. */
export function tupleAt(b: Uint8Array, src: number, dst: number, proto: number, l4: number, avail: number): Tuple | undefined {
  if (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === 132 || proto === 136) {
    if (avail < 4) return undefined;
    return { src, dst, proto, sport: u16(b, l4), dport: u16(b, l4 + 2) };
  }
  if (proto === IPPROTO_ICMP) {
    if (avail < 8) return undefined;
    return { src, dst, proto, sport: u16(b, l4 + 4), dport: (b[l4]! << 8) | b[l4 + 1]! };
  }
  return { src, dst, proto, sport: 0, dport: 0 };
}

export type CtEvent = (action: 'new' | 'lookup' | 'related' | 'invalid' | 'full-drop' | 'early-drop' | 'clash-drop' | 'confirm', e: CtEntry | null, ctinfo: number) => void;

/**
 * nf_conntrack_in (PREROUTING and OUTPUT at NF_IP_PRI_CONNTRACK): attaches the entry and
 * ctinfo to the packet, creating an unconfirmed entry for a new flow. Answers false when the
 * packet must be dropped (table full).
 */
export function conntrackIn(p: PacketBuffer, table: ConntrackTable, now: number, ev: CtEvent | null): boolean {
  if (p.ct !== null) return true; // seen before (loopback) or untracked
  const f = readIpv4Fields(p);
  if (!f || f.fragOffset !== 0 || f.moreFragments) return true; // no tuple: INVALID
  const b = p.buf;
  if (f.proto === IPPROTO_ICMP && f.l4Len >= 8 && ICMP_ERRORS.has(b[f.l4]!)) return icmpError(p, f, table, now, ev);
  const tcpFlags = f.proto === IPPROTO_TCP && f.l4Len >= 14 ? b[f.l4 + 13]! : 0;
  if (f.proto === IPPROTO_TCP && tcpError(tcpFlags, f.l4Len, f.l4Len >= 13 ? (b[f.l4 + 12]! >> 4) * 4 : 0) !== null) {
    ev?.('invalid', null, 0);
    return true;
  }
  const t = tupleAt(b, f.src, f.dst, f.proto, f.l4, f.l4Len);
  if (!t) return true;
  let found = table.find(t, now);
  let entry: CtEntry;
  let reply: boolean;
  if (found && f.proto === IPPROTO_TCP && !found.reply && tcpFlagIndex(tcpFlags) === TCP_SYN_SET && (found.entry.tcpState === sTW || found.entry.tcpState === sCL)) {
    // A SYN reopening a closed connection: the old entry goes, a new one starts (-NF_REPEAT).
    table.remove(found.entry);
    found = undefined;
  }
  if (found) {
    entry = found.entry;
    reply = found.reply;
  } else {
    if (!validNew(f, b, tcpFlags)) {
      ev?.('invalid', null, 0);
      return true;
    }
    const e = table.create(t, now, ev);
    if (!e) {
      ev?.('full-drop', null, 0);
      return false;
    }
    entry = e;
    reply = false;
    if (f.proto === IPPROTO_TCP) entry.tcpState = sNO;
  }
  const ctinfo = reply ? IP_CT.ESTABLISHED_REPLY : entry.status & IPS.SEEN_REPLY ? IP_CT.ESTABLISHED : IP_CT.NEW;
  if (!protoPacket(entry, reply, f, b, tcpFlags, table, now)) {
    ev?.('invalid', entry, ctinfo);
    return true;
  }
  if (reply) entry.status |= IPS.SEEN_REPLY;
  p.ct = entry;
  p.ctinfo = ctinfo;
  ev?.(found ? 'lookup' : 'new', entry, ctinfo);
  return true;
}

function validNew(f: Ipv4Fields, b: Uint8Array, tcpFlags: number): boolean {
  if (f.proto === IPPROTO_TCP) return f.l4Len >= 20 && tcpTransition(false, tcpFlagIndex(tcpFlags), sNO) < sIV;
  if (f.proto === IPPROTO_ICMP) return ICMP_NEW.has(b[f.l4]!) && b[f.l4 + 1] === 0;
  return true;
}

/** The l4proto ->packet() step: state tracking and timeout refresh; false = invalid. */
function protoPacket(e: CtEntry, reply: boolean, f: Ipv4Fields, b: Uint8Array, tcpFlags: number, table: ConntrackTable, now: number): boolean {
  const cfg = table.config;
  if (f.proto === IPPROTO_TCP) {
    if (f.l4Len < 20) return false;
    const index = tcpFlagIndex(tcpFlags);
    const old = e.tcpState;
    const next = tcpTransition(reply, index, old);
    if (next === sIV) return false;
    if (next === sIG) return true; // tcp_packet: ignored, state and timer unchanged
    if (!(e.status & IPS.SEEN_REPLY)) {
      if (tcpFlags & 0x04) {
        // Only reply is a RST: no connection; the entry dies now.
        e.tcpState = next;
        table.remove(e);
        return true;
      }
    } else if (!(e.status & IPS.ASSURED) && (old === sSR || old === sES) && next === sES) {
      e.status |= IPS.ASSURED;
    }
    e.tcpState = next;
    table.refresh(e, table.tcpTimeout(next), now);
    return true;
  }
  if (f.proto === IPPROTO_UDP) {
    if (e.status & IPS.SEEN_REPLY) {
      let extra = cfg.udpTimeout * S;
      let stream = false;
      if (now > e.streamTs) {
        extra = cfg.udpTimeoutStream * S;
        stream = (e.status & IPS.ASSURED) === 0;
      }
      table.refresh(e, extra, now);
      if (stream) e.status |= IPS.ASSURED;
    } else table.refresh(e, cfg.udpTimeout * S, now);
    return true;
  }
  if (f.proto === IPPROTO_ICMP) {
    table.refresh(e, cfg.icmpTimeout * S, now);
    return true;
  }
  table.refresh(e, cfg.genericTimeout * S, now);
  return true;
}

/** nf_conntrack_inet_error: an ICMP error is RELATED to the flow of the header it carries. */
function icmpError(p: PacketBuffer, f: Ipv4Fields, table: ConntrackTable, now: number, ev: CtEvent | null): boolean {
  const b = p.buf;
  const inner = f.l4 + 8;
  const avail = f.l4Len - 8;
  if (avail < 20 || b[inner]! >> 4 !== 4) {
    ev?.('invalid', null, 0);
    return true;
  }
  const ihl = (b[inner]! & 15) * 4;
  const it = tupleAt(b, u16(b, inner + 12) * 0x10000 + u16(b, inner + 14), u16(b, inner + 16) * 0x10000 + u16(b, inner + 18), b[inner + 9]!, inner + ihl, avail - ihl);
  if (!it) {
    ev?.('invalid', null, 0);
    return true;
  }
  const found = table.find(invertTuple(it), now);
  if (!found) {
    ev?.('invalid', null, 0);
    return true;
  }
  p.ct = found.entry;
  p.ctinfo = found.reply ? IP_CT.RELATED_REPLY : IP_CT.RELATED;
  ev?.('related', found.entry, p.ctinfo);
  return true;
}

/** ipv4_confirm (POSTROUTING and INPUT at NF_IP_PRI_CONNTRACK_CONFIRM). */
export function conntrackConfirm(p: PacketBuffer, table: ConntrackTable, now: number, ev: CtEvent | null): boolean {
  const ct = p.ct;
  if (ct === null || ct === UNTRACKED || p.ctinfo === IP_CT.RELATED_REPLY) return true;
  const e = ct as CtEntry;
  if (e.status & IPS.CONFIRMED) return true;
  if (!table.confirm(e, now)) {
    ev?.('clash-drop', e, p.ctinfo);
    return false;
  }
  if (!(e.status & IPS.DYING)) ev?.('confirm', e, p.ctinfo);
  return true;
}

export { sSS };
