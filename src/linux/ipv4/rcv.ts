/**
 * IPv4 receive (net/ipv4/ip_input.c, route.c ip_route_input_slow, fib_frontend.c
 * fib_validate_source): header checks, PREROUTING, the input route (martians, local,
 * broadcast, forward, unreachable/prohibit/blackhole, rp_filter, accept_local,
 * route_localnet), then INPUT and the protocol handlers, or ip_forward.
 * ICMP errors for unroutable packets (ip_error) are sent without the kernel's rate limit.
 */
import { NF_ACCEPT } from '../../netfilter/hooks.js';
import { internetChecksum } from '../../wire/checksum.js';
import { formatIpv4, readIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { tracePacketId, type PacketBuffer } from '../../wire/packet-buffer.js';
import { formatRoute, type Route } from '../fib.js';
import { runHooks } from '../hooks.js';
import type { NetDevice } from '../link/device.js';
import type { Netns } from '../netns.js';
import { ipForward } from './forward.js';
import { icmpRcv, icmpSend } from './icmp.js';
import { ipDefrag } from './fragment.js';

function drop(netns: Netns, p: PacketBuffer, dev: NetDevice, step: string, reason: string): void {
  netns.trace?.record({ kind: 'linux.drop', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: dev.name, step, reason, packet: tracePacketId(p) });
}

/** ip_rcv + ip_rcv_core: `p.head` at the IPv4 header. */
export function ipRcv(netns: Netns, dev: NetDevice, p: PacketBuffer, pktType: number): void {
  if (pktType === 3) return; // PACKET_OTHERHOST
  const b = p.buf;
  const ip = p.head;
  const avail = p.end - ip;
  if (avail < 20) return drop(netns, p, dev, 'ip_rcv', 'PKT_TOO_SMALL');
  const vihl = b[ip]!;
  const ihl = (vihl & 15) * 4;
  if (vihl >> 4 !== 4 || ihl < 20 || ihl > avail) return drop(netns, p, dev, 'ip_rcv', 'IP_INHDR');
  if (internetChecksum(b, ip, ihl) !== 0) return drop(netns, p, dev, 'ip_rcv', 'IP_CSUM');
  const tot = (b[ip + 2]! << 8) | b[ip + 3]!;
  if (tot > avail || tot < ihl) return drop(netns, p, dev, 'ip_rcv', 'PKT_TOO_SMALL');
  p.end = ip + tot;
  p.network = ip;
  p.transport = ip + ihl;
  netns.trace?.record({ kind: 'linux.rcv', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: dev.name, step: 'ip_rcv', len: tot, packet: tracePacketId(p) });
  let physIn: string | null = null;
  if (netns.brnfDone === p) {
    netns.brnfDone = null; // ip_sabotage_in: PREROUTING already ran at bridge level
    physIn = netns.brnfPhysIn;
    netns.brnfPhysIn = null;
  } else {
    const hooks = netns.hooks.PREROUTING;
    if (hooks.length && runHooks(netns, hooks, 'PREROUTING', p, dev.name, null) !== NF_ACCEPT) return;
  }
  ipRcvFinish(netns, dev, p, pktType, physIn);
}

function isMulticast(a: number): boolean {
  return a >>> 28 === 0xe;
}

/** ip_rcv_finish: route the packet and act on the result. */
function ipRcvFinish(netns: Netns, dev: NetDevice, p: PacketBuffer, pktType: number, physIn: string | null): void {
  const b = p.buf;
  const ip = p.head;
  const daddr = readIpv4(b, ip + 16);
  const saddr = readIpv4(b, ip + 12);
  if (dev.linkType === 'loopback') {
    // Looped-back packets keep their output route (skb_dst): straight to local delivery.
    ipLocalDeliver(netns, dev, p, daddr, null);
    return;
  }
  const all = netns.sysctl_.all;
  const c = dev.conf;
  if (isMulticast(saddr) || saddr === 0xffffffff) return drop(netns, p, dev, 'ip_route_input', 'IP_INVALID_SOURCE');
  if (daddr === 0xffffffff || (saddr === 0 && daddr === 0)) {
    ipLocalDeliver(netns, dev, p, daddr, physIn);
    return;
  }
  if (saddr === 0) return drop(netns, p, dev, 'ip_route_input', 'IP_INVALID_SOURCE');
  if (daddr >>> 24 === 0) return drop(netns, p, dev, 'ip_route_input', 'IP_INVALID_DEST');
  const localnet = all.route_localnet || c.route_localnet;
  if (daddr >>> 24 === 127 && !localnet) return drop(netns, p, dev, 'ip_route_input', 'IP_LOCALNET');
  if (saddr >>> 24 === 127 && !localnet) return drop(netns, p, dev, 'ip_route_input', 'IP_LOCALNET');
  if (isMulticast(daddr)) return drop(netns, p, dev, 'ip_route_input', 'MULTICAST_NOT_MODELLED');
  const r = netns.fibLookup(daddr);
  netns.trace?.record({ kind: 'linux.fib', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: dev.name, step: 'ip_route_input', route: r ? formatRoute(r, true).trimEnd() : null, dst: formatIpv4(daddr), verdict: r ? r.type : 'ENETUNREACH', packet: tracePacketId(p) });
  const forwarding = c.forwarding !== 0;
  if (r === undefined) {
    if (!forwarding) return drop(netns, p, dev, 'ip_route_input', 'IP_INADDRERRORS');
    icmpSend(netns, p, 3, 0, 0); // ip_error: ENETUNREACH
    return;
  }
  if (r.type === 'local' || r.type === 'broadcast') {
    const bad = validateSource(netns, dev, saddr);
    if (bad !== null) return drop(netns, p, dev, 'fib_validate_source', bad);
    ipLocalDeliver(netns, dev, p, daddr, physIn);
    return;
  }
  if (!forwarding) return drop(netns, p, dev, 'ip_route_input', 'IP_INADDRERRORS');
  if (r.type === 'blackhole') return drop(netns, p, dev, 'ip_route_input', 'BLACKHOLE');
  if (r.type === 'unreachable') return icmpSend(netns, p, 3, 1, 0);
  if (r.type === 'prohibit') return icmpSend(netns, p, 3, 13, 0);
  if (r.type !== 'unicast') return drop(netns, p, dev, 'ip_route_input', 'NO_ROUTE');
  const bad = validateSource(netns, dev, saddr);
  if (bad !== null) return drop(netns, p, dev, 'fib_validate_source', bad);
  ipForward(netns, dev, r, p, pktType, physIn);
}

/**
 * fib_validate_source: rp_filter 0/1/2 and accept_local, as the kernel decides. Answers null
 * when the source is acceptable, else the drop reason (a local source is a martian).
 */
function validateSource(netns: Netns, dev: NetDevice, saddr: Ipv4Addr): string | null {
  const all = netns.sysctl_.all;
  const rpf = Math.max(all.rp_filter, dev.conf.rp_filter);
  const acceptLocal = (all.accept_local || dev.conf.accept_local) !== 0;
  if (!rpf) {
    if (acceptLocal) return null;
    return netns.isLocalAddress(saddr) ? 'IP_INVALID_SOURCE' : null;
  }
  const r: Route | undefined = netns.fibLookup(saddr);
  if (r === undefined) return 'IP_RPFILTER'; // last_resort with rpf on
  if (r.type !== 'unicast' && (r.type !== 'local' || !acceptLocal)) return 'IP_INVALID_SOURCE';
  if (r.dev === dev) return null;
  if (dev.inAddrs.length === 0) return 'IP_RPFILTER';
  if (rpf === 1) return 'IP_RPFILTER';
  return null;
}

/** ip_local_deliver: INPUT hooks, then the protocol (ip_local_deliver_finish). */
function ipLocalDeliver(netns: Netns, dev: NetDevice, pkt: PacketBuffer, daddr: Ipv4Addr, physIn: string | null): void {
  let p = pkt;
  if (((p.buf[p.head + 6]! & 0x3f) << 8 | p.buf[p.head + 7]!) !== 0) {
    const whole = ipDefrag(netns, p);
    if (whole === null) return;
    p = whole;
  }
  const b = p.buf;
  const ip = p.head;
  const hooks = netns.hooks.INPUT;
  if (hooks.length && runHooks(netns, hooks, 'INPUT', p, dev.name, null, physIn) !== NF_ACCEPT) return;
  const proto = b[ip + 9]!;
  netns.trace?.record({ kind: 'linux.deliver', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: dev.name, step: 'ip_local_deliver', proto, packet: tracePacketId(p) });
  if (proto === 1) {
    icmpRcv(netns, dev, p);
    return;
  }
  const broadcast = daddr === 0xffffffff || !netns.isLocalAddress(daddr);
  if (proto === 17) {
    const t = p.transport;
    if (p.end - t >= 8) {
      const dport = (b[t + 2]! << 8) | b[t + 3]!;
      const encap = netns.udpEncap.get(dport);
      if (encap !== undefined && encap(p, dev)) return;
    }
    const h = netns.protocols[17];
    if (h !== undefined && h.handler(p, dev)) return;
    if (!broadcast) icmpSend(netns, p, 3, 3, 0); // __udp4_lib_rcv: no socket -> port unreachable
    return;
  }
  const h = netns.protocols[proto];
  if (h !== undefined) {
    h.handler(p, dev);
    return;
  }
  if (proto !== 6 && !broadcast) icmpSend(netns, p, 3, 2, 0); // no raw socket, no protocol
  else drop(netns, p, dev, 'ip_local_deliver', 'NO_SOCKET');
}
