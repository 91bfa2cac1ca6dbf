/**
 * Trace events of the Linux model: one kind per decision, each carrying the object that
 * decided (the route line, the neighbour entry, the FDB entry, the hook). Printers (text,
 * JSON, pcap comments) live elsewhere and read these fields.
 */
import type { TraceEventBase, TraceSink } from '../sim/trace.js';

export interface XmitEvent extends TraceEventBase {
  readonly kind: 'linux.xmit';
  readonly len: number;
}
export interface RcvEvent extends TraceEventBase {
  readonly kind: 'linux.rcv';
  readonly len: number;
}
export interface FibEvent extends TraceEventBase {
  readonly kind: 'linux.fib';
  /** `ip route` text of the route that matched (with `table T`), or null when none did. */
  readonly route: string | null;
  readonly dst: string;
}
export interface NeighEvent extends TraceEventBase {
  readonly kind: 'linux.neigh';
  /** `ip neigh` text of the entry (after the decision), e.g. `10.42.0.2 dev cni0 lladdr ... REACHABLE`. */
  readonly entry: string;
  readonly state: string;
}
export interface FdbEvent extends TraceEventBase {
  readonly kind: 'linux.fdb';
  /** `bridge fdb` text of the entry used, or null when the frame was flooded / dropped. */
  readonly entry: string | null;
  readonly mac: string;
}
export interface TtlEvent extends TraceEventBase {
  readonly kind: 'linux.ttl';
  readonly ttl: number;
}
export interface IcmpEvent extends TraceEventBase {
  readonly kind: 'linux.icmp';
  readonly type: number;
  readonly code: number;
  readonly to: string;
}
export interface HookEvent extends TraceEventBase {
  readonly kind: 'linux.nf_hook';
  readonly hook: string;
  readonly owner: string;
  readonly priority: number;
}
export interface DropEvent extends TraceEventBase {
  readonly kind: 'linux.drop';
  /** Why, in the kernel's words where it has them (skb drop reasons: `NO_ROUTE`, `IP_CSUM`, ...). */
  readonly reason: string;
}
export interface ArpEvent extends TraceEventBase {
  readonly kind: 'linux.arp';
  readonly op: 'request' | 'reply';
  readonly sip: string;
  readonly tip: string;
}
export interface FragEvent extends TraceEventBase {
  readonly kind: 'linux.frag';
  readonly count: number;
  readonly mtu: number;
}
export interface DeliverEvent extends TraceEventBase {
  readonly kind: 'linux.deliver';
  readonly proto: number;
}

export type LinuxTraceEvent =
  | XmitEvent
  | RcvEvent
  | FibEvent
  | NeighEvent
  | FdbEvent
  | TtlEvent
  | IcmpEvent
  | HookEvent
  | DropEvent
  | ArpEvent
  | DeliverEvent
  | FragEvent;

/**
 * Wraps a sink for a layer that records from inside netfilter hooks (netfilter, IPVS): its
 * events that name no packet get the one whose hooks `ns` is running (`Netns.hookPacket`).
 */
export function hookPacketSink<E extends TraceEventBase>(sink: TraceSink<E>, ns: { readonly hookPacket: number }): TraceSink<E> {
  return { record: (e) => sink.record(e.packet === undefined && ns.hookPacket !== 0 ? { ...e, packet: ns.hookPacket } : e) };
}
