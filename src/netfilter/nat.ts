import type { PacketBuffer } from '../wire/packet-buffer.js';
import type { NatRange } from './module.js';
import type { ConntrackTable } from './conntrack/table.js';
import type { CtEntry, Tuple } from './conntrack/entry.js';
import { IPS, IP_CT, invertTuple, tupleEquals } from './conntrack/entry.js';
import type { NfHook } from './hooks.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, readIpv4Fields, u16 } from './packet.js';
import { natRewrite, natRewriteIcmpErrorQuote, natSetAddress, type NatRewrite } from '../wire/nat.js';
import type { Ipv4Addr } from '../wire/ipv4-address.js';

/** HOOK2MANIP: PREROUTING/OUTPUT change the destination, POSTROUTING/INPUT the source. */
export function hookManip(hook: NfHook): 'SRC' | 'DST' {
  return hook === 'POSTROUTING' || hook === 'INPUT' ? 'SRC' : 'DST';
}

export function natInitialized(ct: CtEntry, manip: 'SRC' | 'DST'): boolean {
  return (ct.status & (manip === 'SRC' ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE)) !== 0;
}

function hasPorts(proto: number): boolean {
  return proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === 132 || proto === 136;
}

/** A tiny deterministic mix for find_best_ips_proto's spread over an address range. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * nf_nat_setup_info + get_unique_tuple: choose the new tuple for `manip` within `range`,
 * keeping the current one when it is in range and unused, and alter the reply tuple.
 */
export function natSetupInfo(ct: CtEntry, range: NatRange, manip: 'SRC' | 'DST', table: ConntrackTable, now: number, rnd: () => number): void {
  if (natInitialized(ct, manip)) return;
  const curr = invertTuple(ct.reply);
  const randomAll = range.random || range.randomFully;
  let next: Tuple | undefined;
  if (manip === 'SRC' && !randomAll && inRange(curr, range, manip) && !used(curr, ct, table, now)) next = curr;
  if (!next) {
    let t = curr;
    if (range.mapIps) {
      let ip = range.minIp;
      if (range.maxIp !== range.minIp) ip = range.minIp + (mix(curr.src, range.persistent ? 0 : curr.dst) % (range.maxIp - range.minIp + 1));
      t = manip === 'SRC' ? { ...t, src: ip >>> 0 } : { ...t, dst: ip >>> 0 };
    }
    let done = false;
    if (!randomAll) {
      if (range.protoSpecified) {
        if (inRange(t, range, manip) && (range.minPort === range.maxPort || !used(t, ct, table, now))) done = true;
      } else if (!used(t, ct, table, now)) done = true;
    }
    next = done ? t : uniquePort(t, range, manip, ct, table, now, rnd);
  }
  if (!tupleEquals(next, curr)) {
    ct.reply = invertTuple(next);
    ct.status |= manip === 'SRC' ? IPS.SRC_NAT : IPS.DST_NAT;
  }
  ct.status |= manip === 'SRC' ? IPS.SRC_NAT_DONE : IPS.DST_NAT_DONE;
}

/** nf_nat_used_tuple: would `t` as an original tuple clash with another entry's reply? */
function used(t: Tuple, ct: CtEntry, table: ConntrackTable, now: number): boolean {
  return table.taken(invertTuple(t), ct, now);
}

function inRange(t: Tuple, range: NatRange, manip: 'SRC' | 'DST'): boolean {
  const a = manip === 'SRC' ? t.src : t.dst;
  if (range.mapIps && (a < range.minIp || a > range.maxIp)) return false;
  if (range.protoSpecified && hasPorts(t.proto)) {
    const port = manip === 'SRC' ? t.sport : t.dport;
    if (port < range.minPort || port > range.maxPort) return false;
  }
  return true;
}

function withPort(t: Tuple, port: number, manip: 'SRC' | 'DST'): Tuple {
  return t.proto === IPPROTO_ICMP || manip === 'SRC' ? { ...t, sport: port } : { ...t, dport: port };
}

/** nf_nat_l4proto_unique_tuple: search the port range for an unused tuple. */
function uniquePort(t: Tuple, range: NatRange, manip: 'SRC' | 'DST', ct: CtEntry, table: ConntrackTable, now: number, rnd: () => number): Tuple {
  const icmp = t.proto === IPPROTO_ICMP;
  if (!hasPorts(t.proto) && !icmp) return t;
  const key = icmp ? t.sport : manip === 'SRC' ? t.sport : t.dport;
  let min: number;
  let size: number;
  if (icmp) {
    // icmp_unique_tuple: the echo id is the "port", searched over the whole 16 bits.
    min = 0;
    size = 65536;
  } else if (!range.protoSpecified) {
    if (manip === 'DST') return t; // a dst rewrite can't change the port
    if (key < 1024) {
      if (key < 512) {
        min = 1;
        size = 511;
      } else {
        min = 600;
        size = 1024 - 600;
      }
    } else {
      min = 1024;
      size = 65536 - 1024;
    }
  } else {
    min = range.minPort;
    size = range.maxPort - range.minPort + 1;
  }
  let off = range.random || range.randomFully || manip !== 'DST' ? rnd() & 0xffff : 0;
  let attempts = Math.min(size, 128);
  for (;;) {
    for (let i = 0; i < attempts; i++, off++) {
      const c = withPort(t, min + (off % size), manip);
      if (!used(c, ct, table, now)) return c;
    }
    if (attempts >= size || attempts < 16) return withPort(t, min + (off % size), manip);
    attempts >>= 1;
    off = rnd() & 0xffff;
  }
}

/**
 * What nf_nat_ipv4_manip_pkt changes for `manip` toward `target`: the address and the port
 * (ICMP queries: the identifier, which the tuple keeps in `sport` for both directions).
 */
function rewriteFor(target: Tuple, proto: number, manip: 'SRC' | 'DST'): NatRewrite {
  const ports = hasPorts(proto);
  if (manip === 'SRC') {
    const r: NatRewrite = { src: target.src as Ipv4Addr };
    if (ports) r.srcPort = target.sport;
    else if (proto === IPPROTO_ICMP && target.proto === IPPROTO_ICMP) r.srcPort = target.sport;
    return r;
  }
  const r: NatRewrite = { dst: target.dst as Ipv4Addr };
  if (ports) r.dstPort = target.dport;
  else if (proto === IPPROTO_ICMP && target.proto === IPPROTO_ICMP) r.dstPort = target.sport;
  return r;
}

/** nf_nat_packet: apply the stored binding for this hook and direction. */
export function natPacket(p: PacketBuffer, ct: CtEntry, hook: NfHook, describe: boolean): { from: string; to: string } | null | true {
  const manip = hookManip(hook);
  const reply = p.ctinfo >= IP_CT.IS_REPLY;
  let bit = manip === 'SRC' ? IPS.SRC_NAT : IPS.DST_NAT;
  if (reply) bit = bit === IPS.SRC_NAT ? IPS.DST_NAT : IPS.SRC_NAT;
  if (!(ct.status & bit)) return null;
  const f = readIpv4Fields(p);
  if (!f) return null;
  const target = invertTuple(reply ? ct.orig : ct.reply);
  const before = describe ? endpoint(f.src, f.dst, p, f.l4, f.proto, manip, f.fragOffset === 0 ? f.l4Len : 0) : '';
  // Incremental checksum updates (RFC 1624) as the kernel: a bad checksum stays bad.
  natRewrite(p, rewriteFor(target, f.proto, manip));
  if (!describe) return true;
  const g = readIpv4Fields(p)!;
  return { from: before, to: endpoint(g.src, g.dst, p, g.l4, g.proto, manip, g.fragOffset === 0 ? g.l4Len : 0) };
}

function endpoint(src: number, dst: number, p: PacketBuffer, l4: number, proto: number, manip: 'SRC' | 'DST', avail: number): string {
  const a = manip === 'SRC' ? src : dst;
  const ip = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  if (hasPorts(proto) && avail >= 4) return `${ip}:${u16(p.buf, manip === 'SRC' ? l4 : l4 + 2)}`;
  return ip;
}

/**
 * nf_nat_icmp_reply_translation: an ICMP error RELATED to a NATed flow gets its embedded
 * header put back as the peer sent it (the opposite manip) and its outer header translated.
 */
export function natIcmpReply(p: PacketBuffer, ct: CtEntry, hook: NfHook): boolean {
  const manip = hookManip(hook);
  const reply = p.ctinfo >= IP_CT.IS_REPLY;
  let bit = manip === 'SRC' ? IPS.SRC_NAT : IPS.DST_NAT;
  if (reply) bit = bit === IPS.SRC_NAT ? IPS.DST_NAT : IPS.SRC_NAT;
  if (!(ct.status & bit)) return true;
  const f = readIpv4Fields(p);
  if (!f || f.l4Len < 28) return false;
  const b = p.buf;
  const inner = f.l4 + 8;
  const other = reply ? ct.orig : ct.reply;
  // The quoted packet gets the opposite manip (it travelled the other way), then the outer
  // header is made to look like the reply to an incoming packet.
  const innerProto = b[inner + 9]!;
  try {
    natRewriteIcmpErrorQuote(p, rewriteFor(other, innerProto, manip === 'SRC' ? 'DST' : 'SRC'));
  } catch {
    return false;
  }
  const target = invertTuple(other);
  natSetAddress(p, manip === 'SRC' ? 'src' : 'dst', (manip === 'SRC' ? target.src : target.dst) as Ipv4Addr);
  return true;
}
