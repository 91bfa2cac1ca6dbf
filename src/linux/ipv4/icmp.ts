/**
 * ICMP (net/ipv4/icmp.c): icmp_send for errors about a packet (never about an ICMP error,
 * a non-first fragment, or a broadcast/multicast; source = the offending packet's
 * destination if it was ours, else the output route's choice; TOS 0xc0; quote as much of
 * the original as fits in 576 bytes; DF clear), echo replies (icmp_echo), and handing
 * echo replies and errors to the socket layer. Rate limits: the per-destination token bucket
 * (icmpv4_xrlim_allow: icmp_ratelimit 1000 ms, burst 6, for the types in icmp_ratemask, not
 * for errors to this host) is modelled; the global icmp_msgs_per_sec limit is not.
 */
import { internetChecksum } from '../../wire/checksum.js';
import { formatIpv4, readIpv4, writeIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { PacketBuffer, tracePacketId } from '../../wire/packet-buffer.js';
import { emitIpv4Header } from '../../wire/ipv4.js';
import type { NetDevice } from '../link/device.js';
import type { Netns } from '../netns.js';
import { ipLocalOut, routeOutput } from './output.js';

const ICMP_ERRORS = new Set([3, 4, 5, 11, 12]);

/** net.ipv4.icmp_ratemask default 6168: destination unreachable, source quench, time exceeded, parameter problem. */
const RATEMASK = 0x1818;
const RATELIMIT_NS = 1e9;
const BURST = 6;

/** inet_peer_xrlim_allow: a new peer starts with a full bucket (rate_last 60 s in the past). */
function xrlimAllow(netns: Netns, dst: Ipv4Addr): boolean {
  const now = netns.clock.now;
  let peer = netns.icmpPeers.get(dst);
  if (peer === undefined) {
    peer = { tokens: 0, last: now - 60e9 };
    netns.icmpPeers.set(dst, peer);
  }
  let token = peer.tokens + (now - peer.last);
  peer.last = now;
  if (token > BURST * RATELIMIT_NS) token = BURST * RATELIMIT_NS;
  let ok = false;
  if (token >= RATELIMIT_NS) {
    token -= RATELIMIT_NS;
    ok = true;
  }
  peer.tokens = token;
  return ok;
}

/**
 * The 20-byte IPv4 header of an ICMP message the kernel builds (icmp_push_reply): no DF, the
 * next IP ID towards `dst`, the namespace's default TTL, protocol 1, header checksum.
 */
function writeIcmpIpHeader(netns: Netns, q: Uint8Array, o: number, tos: number, tot: number, src: Ipv4Addr, dst: Ipv4Addr): void {
  const ident = netns.selectIdent(dst, 1);
  emitIpv4Header({ dscp: tos >>> 2, ecn: tos & 3, ident, dontFragment: false, moreFragments: false, fragmentOffset: 0, ttl: netns.sysctl_.defaultTtl, protocol: 1, src, dst, options: NO_OPTIONS, payloadLength: tot - 20 }, q, o);
}

const NO_OPTIONS = new Uint8Array(0);

/** icmp_send: `off` has its IPv4 header at `off.head`. */
export function icmpSend(netns: Netns, off: PacketBuffer, type: number, code: number, info: number): void {
  const b = off.buf;
  const ip = off.head;
  if (off.end - ip < 20) return;
  const ihl = (b[ip]! & 15) * 4;
  const saddr = readIpv4(b, ip + 12);
  const daddr = readIpv4(b, ip + 16);
  if (((b[ip + 6]! & 0x1f) << 8 | b[ip + 7]!) !== 0) return; // only the first fragment
  if (saddr === 0 || saddr >>> 28 === 0xe || saddr === 0xffffffff) return;
  if (daddr === 0xffffffff || daddr >>> 28 === 0xe || netns.addressType(daddr) === 'BROADCAST') return;
  if (b[ip + 9] === 1 && off.end - ip >= ihl + 1 && ICMP_ERRORS.has(b[ip + ihl]!)) return; // no error about an error
  const local = netns.isLocalAddress(daddr);
  const rt = routeOutput(netns, saddr, local ? { src: daddr } : {});
  if (typeof rt === 'string') return;
  if (rt.type !== 'local' && RATEMASK & (1 << type) && !xrlimAllow(netns, saddr)) {
    netns.trace?.record({ kind: 'linux.drop', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: rt.dev.name, step: 'icmp_send', reason: 'ICMP_RATELIMIT', packet: tracePacketId(off) });
    return;
  }
  const src: Ipv4Addr = local ? daddr : rt.src;
  const quoted = Math.min(off.end - ip, 576 - 20 - 8);
  const p = PacketBuffer.alloc(20 + 8 + quoted);
  const o = p.head;
  const q = p.buf;
  writeIcmpIpHeader(netns, q, o, (b[ip + 1]! & 0x1e) | 0xc0, 28 + quoted, src, saddr);
  const t = o + 20;
  q[t] = type;
  q[t + 1] = code;
  if (type === 3 && code === 4) {
    q[t + 6] = (info >>> 8) & 255;
    q[t + 7] = info & 255;
  } else if (info) {
    q[t + 4] = info >>> 24;
    q[t + 5] = (info >>> 16) & 255;
    q[t + 6] = (info >>> 8) & 255;
    q[t + 7] = info & 255;
  }
  q.set(b.subarray(ip, ip + quoted), t + 8);
  const ic = internetChecksum(q, t, 8 + quoted);
  q[t + 2] = ic >>> 8;
  q[t + 3] = ic & 255;
  netns.trace?.record({ kind: 'linux.icmp', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: rt.dev.name, step: 'icmp_send', type, code, to: formatIpv4(saddr), packet: tracePacketId(off) });
  ipLocalOut(netns, p);
}

/** icmp_rcv: `p.transport` at the ICMP header. */
export function icmpRcv(netns: Netns, dev: NetDevice, p: PacketBuffer): void {
  const b = p.buf;
  const ip = p.head;
  const t = p.transport;
  const len = p.end - t;
  if (len < 8 || internetChecksum(b, t, len) !== 0) {
    netns.trace?.record({ kind: 'linux.drop', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: dev.name, step: 'icmp_rcv', reason: 'ICMP_CSUM', packet: tracePacketId(p) });
    return;
  }
  const type = b[t]!;
  const daddr = readIpv4(b, ip + 16);
  if (type === 8) {
    // icmp_echo (icmp_echo_ignore_broadcasts=1 by default).
    if (!netns.isLocalAddress(daddr)) return;
    echoReply(netns, p);
    return;
  }
  const proto = netns.protocols;
  if (type === 0) {
    proto[1]?.handler(p, dev);
    return;
  }
  if (ICMP_ERRORS.has(type) && len >= 8 + 20 + 8) {
    const inner = t + 8;
    const h = proto[b[inner + 9]!];
    const mtu = type === 3 && b[t + 1] === 4 ? (b[t + 6]! << 8) | b[t + 7]! : 0;
    h?.errHandler?.({ type, code: b[t + 1]!, mtu, from: readIpv4(b, ip + 12), packet: p, quoted: inner });
  }
}

/** The echo reply: same id, sequence and data; addresses swapped; DF clear; TTL 64. */
function echoReply(netns: Netns, req: PacketBuffer): void {
  const b = req.buf;
  const ip = req.head;
  const t = req.transport;
  const icmpLen = req.end - t;
  const p = PacketBuffer.alloc(20 + icmpLen);
  const o = p.head;
  const q = p.buf;
  const saddr = readIpv4(b, ip + 12);
  const daddr = readIpv4(b, ip + 16);
  writeIcmpIpHeader(netns, q, o, b[ip + 1]!, 20 + icmpLen, daddr, saddr);
  q.set(b.subarray(t, req.end), o + 20);
  q[o + 20] = 0;
  q[o + 21] = 0;
  q[o + 22] = 0;
  q[o + 23] = 0;
  const ic = internetChecksum(q, o + 20, icmpLen);
  q[o + 22] = ic >>> 8;
  q[o + 23] = ic & 255;
  netns.trace?.record({ kind: 'linux.icmp', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: '', step: 'icmp_echo', type: 0, code: 0, to: formatIpv4(saddr), packet: tracePacketId(req) });
  ipLocalOut(netns, p);
}
