/**
 * Trace events of the socket layer: which socket a packet matched (or none), TCP state
 * transitions, SYNs and RSTs with the reason, retransmissions and timeouts, UDP and ping
 * delivery. Each carries the socket's 4-tuple as text (`10.42.0.2:41234->10.43.0.10:80`), the
 * way `ss` shows it.
 */
import type { TraceEventBase } from '../../sim/trace.js';

export type SockProto = 'tcp' | 'udp' | 'icmp';

interface SockEventBase extends TraceEventBase {
  readonly proto: SockProto;
  /** `local->remote` of the socket (or of the packet when no socket matched). */
  readonly tuple: string;
}

/** A received packet was matched to a socket (`how` says which lookup hit), or to none. */
export interface SockLookupEvent extends SockEventBase {
  readonly kind: 'sock.lookup';
  readonly how: 'established' | 'listener' | 'time-wait' | 'bound' | 'none';
  /** The matched socket's own `local->remote` (a listener shows `0.0.0.0:80->*`). */
  readonly socket: string | null;
}

export interface TcpStateEvent extends SockEventBase {
  readonly kind: 'tcp.state';
  readonly from: string;
  readonly to: string;
  readonly why: string;
}

export interface TcpSegmentEvent extends SockEventBase {
  readonly kind: 'tcp.syn' | 'tcp.rst' | 'tcp.retransmit' | 'tcp.timeout';
  readonly dir: 'sent' | 'received';
  /** Flags as tcpdump prints them: `S`, `S.`, `R.`, `F.` ... */
  readonly flags: string;
  readonly seq: number;
  readonly ack: number;
  readonly why: string;
}

export interface SockErrorEvent extends SockEventBase {
  readonly kind: 'sock.error';
  /** errno name reported to the application. */
  readonly errno: string;
  readonly why: string;
}

export interface SockDeliverEvent extends SockEventBase {
  readonly kind: 'sock.deliver';
  readonly bytes: number;
}

export type SockTraceEvent = SockLookupEvent | TcpStateEvent | TcpSegmentEvent | SockErrorEvent | SockDeliverEvent;

/** tcpdump's flag letters in its order (print-tcp.c tcp_flag_values), `.` for ACK. */
export function tcpFlagText(flags: number): string {
  let s = '';
  if (flags & 0x02) s += 'S';
  if (flags & 0x01) s += 'F';
  if (flags & 0x08) s += 'P';
  if (flags & 0x04) s += 'R';
  if (flags & 0x20) s += 'U';
  if (flags & 0x40) s += 'E';
  if (flags & 0x80) s += 'W';
  if (flags & 0x10) s += '.';
  return s === '' ? 'none' : s;
}
