/**
 * The seam between the IPv4 stack of a namespace (src/linux) and the socket layer
 * (src/linux/sock). The socket layer sees only this file: it sends with `ipOutput`
 * (ip_local_out) after choosing a route and source with `routeOutput` (ip_route_output_key
 * + inet_select_addr), and receives what the stack delivers locally through the
 * `NetProtocol` it registers per IP protocol (the kernel's inet_protos[] table:
 * tcp_v4_rcv / udp_rcv / ping_rcv, and their err_handlers for ICMP errors).
 */
import type { EventQueue } from '../sim/event-queue.js';
import type { Random } from '../sim/random.js';
import type { TraceSink, TraceEventBase } from '../sim/trace.js';
import type { Ipv4Addr } from '../wire/ipv4-address.js';
import type { PacketBuffer } from '../wire/packet-buffer.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** What a socket may know of a device (struct net_device, read-only). */
export interface NetDeviceInfo {
  readonly ifindex: number;
  readonly name: string;
  readonly mtu: number;
}

/** Result of an output route lookup (struct rtable + the chosen source). */
export interface RouteInfo {
  /** `unicast` for remote destinations, `local` when the destination is this namespace. */
  readonly type: 'unicast' | 'local' | 'broadcast';
  readonly dev: NetDeviceInfo;
  /** Source address to use when the socket has none bound (prefsrc, else inet_select_addr). */
  readonly src: Ipv4Addr;
  /** Next hop: the gateway, or the destination itself for a directly connected route. */
  readonly nexthop: Ipv4Addr;
  /** Path MTU toward the destination (route mtu metric, else device MTU). */
  readonly mtu: number;
}

/** Errors an output route lookup or send answers, as the errno the socket call would get. */
export type RouteError = 'ENETUNREACH' | 'EHOSTUNREACH' | 'EACCES' | 'EINVAL';

export interface RouteOutputOptions {
  /** The socket's bound address (must be local unless ip_nonlocal_bind); 0 = none. */
  readonly src?: Ipv4Addr;
  /** SO_BINDTODEVICE / IP_PKTINFO ifindex. */
  readonly oif?: number;
  readonly tos?: number;
  readonly mark?: number;
}

/** An ICMP error handed to the protocol of the packet it quotes (icmp_unreach -> err_handler). */
export interface IcmpErrorInfo {
  readonly type: number;
  readonly code: number;
  /** Next-hop MTU for type 3 code 4, else 0. */
  readonly mtu: number;
  /** Who sent the error (outer IPv4 source). */
  readonly from: Ipv4Addr;
  /**
   * The ICMP packet; `quoted` is the absolute offset in `packet.buf` of the quoted IPv4
   * header (at least its header + 8 bytes of transport are present).
   */
  readonly packet: PacketBuffer;
  readonly quoted: number;
}

/**
 * A protocol handler registered for one IP protocol number (struct net_protocol).
 * `handler` gets packets addressed to this namespace after the INPUT hooks: `packet.network`
 * and `packet.transport` are set, `packet.head` is at the IPv4 header. For IPPROTO_ICMP the
 * stack itself answers echo requests (icmp_echo) and gives the handler only echo replies
 * (ping_rcv); errors quoting a packet of protocol P go to P's `errHandler`.
 * Answer false when no socket took the packet and the protocol has no reply of its own
 * (UDP answers false; the stack then sends ICMP port unreachable, as __udp4_lib_rcv does).
 */
export interface NetProtocol {
  handler(packet: PacketBuffer, inDev: NetDeviceInfo): boolean;
  errHandler?(info: IcmpErrorInfo): void;
}

/**
 * One network namespace's IPv4 stack as the socket layer uses it. `Netns` (netns.ts)
 * implements it.
 */
export interface IpLayer {
  readonly node: string;
  readonly netns: string;
  /** The simulated clock: `clock.now` in ns; `clock.schedule` for socket timers. */
  readonly clock: EventQueue;
  /** This namespace's random stream (ephemeral ports, ISNs, IP IDs). */
  readonly rng: Random;
  readonly trace: TraceSink<TraceEventBase> | null;

  /** ip_route_output_key with source selection. */
  routeOutput(dst: Ipv4Addr, opts?: RouteOutputOptions): RouteInfo | RouteError;
  /** The address is configured on some device of this namespace (table local `local`). */
  isLocalAddress(a: Ipv4Addr): boolean;
  /**
   * ip_local_out: a complete IPv4 packet (header and checksum filled; `packet.head` at the
   * IPv4 header) leaves through OUTPUT -> route -> POSTROUTING -> neighbour -> device.
   * Answers 'sent' (which includes "queued for ARP" and "dropped by a hook", as the kernel's
   * sendmsg does not report those) or the routing error. `oif` (SO_BINDTODEVICE) restricts
   * the route to that device.
   */
  ipOutput(packet: PacketBuffer, oif?: number): 'sent' | RouteError;
  /** icmp_send: an ICMP error about `offending` (head at its IPv4 header) back to its source. */
  icmpSend(offending: PacketBuffer, type: number, code: number, info?: number): void;
  /** inet_add_protocol. Replaces a previous registration for the same number. */
  registerProtocol(proto: number, p: NetProtocol): void;
  /** A sysctl value as `sysctl -n` prints it (e.g. `net.ipv4.ip_local_port_range` -> `32768\t60999`). */
  sysctl(name: string): string | undefined;
}
