/**
 * Locally generated IPv4 (net/ipv4/ip_output.c, route.c): ip_route_output_key with source
 * selection, __ip_local_out (OUTPUT hooks, re-route when they changed the destination or
 * mark, as ip_route_me_harder), ip_output (POSTROUTING), ip_finish_output (MTU), and
 * ip_finish_output2 (neighbour). Also the tail shared with forwarding.
 */
import { NF_ACCEPT } from '../../netfilter/hooks.js';
import { formatIpv4, readIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import type { MacAddr } from '../../wire/mac-address.js';
import { tracePacketId, type PacketBuffer } from '../../wire/packet-buffer.js';
import { formatRoute, SCOPE_NUM, type Route } from '../fib.js';
import { runHooks, runOutputHooks } from '../hooks.js';
import type { RouteError, RouteInfo, RouteOutputOptions } from '../ip-layer.js';
import type { NetDevice } from '../link/device.js';
import type { Netns } from '../netns.js';
import { icmpSend } from './icmp.js';
import { ipFragment } from './fragment.js';

/** fib lookup honouring an output interface (fib_table_lookup skips nexthops on other devices). */
export function fibLookupOif(netns: Netns, dst: Ipv4Addr, oif: number): Route | undefined {
  const r = netns.fibLookup(dst);
  if (!oif || r === undefined || r.type === 'local' || (r.dev !== null && r.dev.ifindex === oif)) return r;
  // Slow path: best prefix among routes through `oif`.
  let best: Route | undefined;
  for (const t of [netns.local, netns.main]) {
    for (const x of t.all()) {
      if (x.dev?.ifindex !== oif) continue;
      const m = x.len === 0 ? 0 : (0xffffffff << (32 - x.len)) >>> 0;
      if (((dst & m) >>> 0) !== x.dst) continue;
      if (!best || x.len > best.len || (x.len === best.len && x.metric < best.metric)) best = x;
    }
    if (best) return best;
  }
  return undefined;
}

function traceFib(netns: Netns, step: string, dst: Ipv4Addr, r: Route | undefined, packet?: PacketBuffer): void {
  netns.trace?.record({ kind: 'linux.fib', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: r?.dev?.name ?? '', step, route: r ? formatRoute(r, true).trimEnd() : null, dst: formatIpv4(dst), verdict: r ? r.type : 'ENETUNREACH', ...(packet ? { packet: tracePacketId(packet) } : {}) });
}

function routeError(r: Route | undefined): RouteError | null {
  if (r === undefined) return 'ENETUNREACH';
  switch (r.type) {
    case 'unreachable': return 'EHOSTUNREACH';
    case 'prohibit': return 'EACCES';
    case 'blackhole': return 'EINVAL';
    case 'throw': return 'ENETUNREACH';
    default: return null;
  }
}

/** ip_route_output_key + source selection, for sockets. */
export function routeOutput(netns: Netns, dst: Ipv4Addr, opts: RouteOutputOptions = {}): RouteInfo | RouteError {
  const oif = opts.oif ?? 0;
  let r = fibLookupOif(netns, dst, oif);
  if (r === undefined && oif) {
    // "Apparently, routing tables are wrong. Assume, that the destination is on link."
    const dev = netns.devByIndex(oif);
    if (!dev) return 'ENETUNREACH';
    const src = opts.src || netns.inetSelectAddr(dev, 0 as Ipv4Addr, SCOPE_NUM.link);
    return { type: 'unicast', dev, src, nexthop: dst, mtu: dev.mtu };
  }
  const err = routeError(r);
  // A socket's own lookup (connect, sendmsg) shows only when it fails: when it succeeds, each
  // packet's ip_route_output line below names the same route, once.
  if (err !== null || r === undefined) {
    traceFib(netns, 'ip_route_output', dst, r);
    return err ?? 'ENETUNREACH';
  }
  const src = opts.src || netns.routeSource(r, dst);
  if (r.type === 'local') {
    const lo = netns.devByIndex(1)!;
    return { type: 'local', dev: lo, src, nexthop: dst, mtu: r.mtu || lo.mtu };
  }
  const dev = r.dev!;
  return { type: r.type === 'broadcast' ? 'broadcast' : 'unicast', dev, src, nexthop: r.via || dst, mtu: r.mtu || dev.mtu };
}

/** Output route for a packet already built: the device and next hop. */
function outputRoute(netns: Netns, dst: Ipv4Addr, oif: number, packet: PacketBuffer): Route | RouteError {
  const r = fibLookupOif(netns, dst, oif);
  traceFib(netns, 'ip_route_output', dst, r, packet);
  const err = routeError(r);
  if (err !== null || r === undefined) {
    if (r === undefined && oif && netns.devByIndex(oif)) return onLinkRoute(netns.devByIndex(oif)!, dst);
    return err ?? 'ENETUNREACH';
  }
  return r;
}

function onLinkRoute(dev: NetDevice, dst: Ipv4Addr): Route {
  return { table: 254, type: 'unicast', dst, len: 32, tos: 0, via: 0 as Ipv4Addr, dev, proto: 'boot', scope: 'link', prefsrc: 0 as Ipv4Addr, metric: 0, onlink: false, mtu: 0, seq: -1 };
}

/**
 * __ip_local_out: `packet.head` at a complete IPv4 header. Answers 'sent' or the routing error
 * (nothing is sent then).
 */
export function ipLocalOut(netns: Netns, packet: PacketBuffer, oif = 0): 'sent' | RouteError {
  const b = packet.buf;
  const ip = packet.head;
  packet.network = ip;
  packet.transport = ip + (b[ip]! & 15) * 4;
  const daddr = readIpv4(b, ip + 16);
  let r = outputRoute(netns, daddr, oif, packet);
  if (typeof r === 'string') return r;
  const out = outDevOf(netns, r);
  const hooks = netns.hooks.OUTPUT;
  if (hooks.length) {
    const { verdict, reroute } = runOutputHooks(netns, hooks, packet, out.name);
    if (verdict !== NF_ACCEPT) return 'sent';
    const nd = readIpv4(b, ip + 16);
    if (nd !== daddr || reroute) {
      // ip_route_me_harder: NAT moved the destination, or mangle changed the mark/TOS/addresses.
      const r2 = outputRoute(netns, nd, oif, packet);
      if (typeof r2 === 'string') return 'sent';
      r = r2;
    }
  }
  ipOutput(netns, r, packet, null);
  return 'sent';
}

function outDevOf(netns: Netns, r: Route): NetDevice {
  return r.type === 'local' ? netns.devByIndex(1)! : r.dev!;
}

/**
 * ip_output: POSTROUTING, then ip_finish_output (MTU) and ip_finish_output2 (neighbour).
 * `inDev` is the input device for forwarded packets (for ICMP errors), null when local.
 */
export function ipOutput(netns: Netns, r: Route, packet: PacketBuffer, inDev: NetDevice | null, physIn: string | null = null): void {
  const out = outDevOf(netns, r);
  const hooks = netns.hooks.POSTROUTING;
  if (hooks.length && runHooks(netns, hooks, 'POSTROUTING', packet, inDev ? inDev.name : null, out.name, physIn) !== NF_ACCEPT) return;
  const b = packet.buf;
  const ip = packet.head;
  const len = packet.end - ip;
  const mtu = r.mtu || out.mtu;
  const daddr = readIpv4(b, ip + 16);
  if (len > mtu) {
    if (b[ip + 6]! & 0x40) {
      // ip_fragment with DF: "fragmentation needed" back to the source (the local socket learns the PMTU).
      icmpSend(netns, packet, 3, 4, mtu);
      return;
    }
    const frags = ipFragment(packet, mtu);
    netns.trace?.record({ kind: 'linux.frag', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: out.name, step: 'ip_fragment', count: frags.length, mtu, packet: tracePacketId(packet) });
    for (const f of frags) finishOutput2(netns, r, out, f, daddr);
    return;
  }
  finishOutput2(netns, r, out, packet, daddr);
}

/** ip_finish_output2: the link-layer next hop and the neighbour. */
function finishOutput2(netns: Netns, r: Route, out: NetDevice, packet: PacketBuffer, daddr: Ipv4Addr): void {
  let special: MacAddr | null = null;
  if (r.type === 'broadcast' || daddr === 0xffffffff) special = 0xffffffffffff as MacAddr;
  else if (daddr >>> 28 === 0xe) special = (0x01005e000000 + (daddr & 0x7fffff)) as MacAddr;
  const nexthop = r.type === 'local' ? daddr : r.via || daddr;
  netns.neigh.output(out, nexthop as Ipv4Addr, packet, special);
}
