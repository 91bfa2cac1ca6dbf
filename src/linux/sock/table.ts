/**
 * One protocol's socket table in a namespace, with the kernel's lookup rules:
 * - TCP (__inet_lookup_skb): first the established hash, an exact 4-tuple (it holds
 *   established sockets, request sockets in SYN_RECV and TIME_WAIT sockets), then the
 *   listeners on the destination port, a listener bound to the exact destination address
 *   scoring above one bound to INADDR_ANY (inet_lhash2 compute_score).
 * - UDP (__udp4_lib_lookup / compute_score): every socket on the port that fits scores
 *   +4 for a bound local address, +4 for a connected remote address, +4 for a connected
 *   remote port; the highest wins, the newest on a tie (sockets are added at the chain head).
 * - Binding: a port is taken by every socket holding it (bound, connected, listening,
 *   TIME_WAIT). A new bind conflicts with an owner whose address overlaps (either is
 *   INADDR_ANY, or both equal) unless both set SO_REUSEADDR and, for TCP, the owner is not
 *   listening (inet_csk_bind_conflict; udp_lib_lport_inuse).
 */
import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';

export interface TableSock {
  localAddr: Ipv4Addr;
  localPort: number;
  /** 0 when not connected. */
  remoteAddr: Ipv4Addr;
  remotePort: number;
  reuseAddr: boolean;
  /** Bound with bind() (the bind bucket has fastreuse >= 0): connect() must not share the port. */
  explicitBind: boolean;
  listening: boolean;
}

export function tupleKey(laddr: number, lport: number, raddr: number, rport: number): string {
  return `${laddr >>> 0}:${lport}:${raddr >>> 0}:${rport}`;
}

/** `10.0.0.1:80->10.0.0.2:41234`, `0.0.0.0:80->*` for a listener or unconnected socket. */
export function describeSock(s: TableSock): string {
  const local = `${formatIpv4(s.localAddr)}:${s.localPort}`;
  return s.remoteAddr === 0 && s.remotePort === 0 ? `${local}->*` : `${local}->${formatIpv4(s.remoteAddr)}:${s.remotePort}`;
}

export class SocketTable<S extends TableSock> {
  private readonly ports = new Map<number, S[]>();
  private readonly est = new Map<string, S>();

  constructor(readonly proto: 'tcp' | 'udp' | 'icmp') {}

  /** Sockets holding `port` (the bind bucket), newest first. */
  owners(port: number): readonly S[] {
    return this.ports.get(port) ?? [];
  }

  portInUse(port: number): boolean {
    return (this.ports.get(port)?.length ?? 0) > 0;
  }

  /** Every socket of the table, for listings (`ss`), in port order then newest first. */
  all(): S[] {
    return [...this.ports.keys()].sort((a, b) => a - b).flatMap((p) => this.ports.get(p)!);
  }

  /** True when binding `addr:port` with `reuse` would conflict with a current owner. */
  bindConflict(addr: Ipv4Addr, port: number, reuse: boolean, self?: S): boolean {
    for (const o of this.owners(port)) {
      if (o === self) continue;
      const overlap = addr === 0 || o.localAddr === 0 || addr === o.localAddr;
      if (!overlap) continue;
      if (reuse && o.reuseAddr && !(this.proto === 'tcp' && o.listening)) continue;
      return true;
    }
    return false;
  }

  /** Adds `s` as an owner of its local port. */
  hashPort(s: S): void {
    const list = this.ports.get(s.localPort);
    if (list) {
      if (!list.includes(s)) list.unshift(s);
    } else this.ports.set(s.localPort, [s]);
  }

  unhashPort(s: S): void {
    const list = this.ports.get(s.localPort);
    if (!list) return;
    const i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.ports.delete(s.localPort);
  }

  /** Puts a connected socket in the established hash (its 4-tuple must be set). */
  hashEstablished(s: S): void {
    this.est.set(tupleKey(s.localAddr, s.localPort, s.remoteAddr, s.remotePort), s);
  }

  unhashEstablished(s: S): void {
    const k = tupleKey(s.localAddr, s.localPort, s.remoteAddr, s.remotePort);
    if (this.est.get(k) === s) this.est.delete(k);
  }

  established(laddr: number, lport: number, raddr: number, rport: number): S | undefined {
    return this.est.get(tupleKey(laddr, lport, raddr, rport));
  }

  /** The listener for a packet to daddr:dport: exact address first, then INADDR_ANY. */
  listener(daddr: number, dport: number): S | undefined {
    let best: S | undefined;
    let bestScore = -1;
    for (const s of this.owners(dport)) {
      if (!s.listening) continue;
      let score = 1;
      if (s.localAddr !== 0) {
        if (s.localAddr !== daddr) continue;
        score++;
      }
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  }

  /** UDP's compute_score over the sockets on dport; undefined when none fits. */
  scored(saddr: number, sport: number, daddr: number, dport: number): S | undefined {
    let best: S | undefined;
    let bestScore = -1;
    for (const s of this.owners(dport)) {
      let score = 0;
      if (s.localAddr !== 0) {
        if (s.localAddr !== daddr) continue;
        score += 4;
      }
      if (s.remoteAddr !== 0) {
        if (s.remoteAddr !== saddr) continue;
        score += 4;
      }
      if (s.remotePort !== 0) {
        if (s.remotePort !== sport) continue;
        score += 4;
      }
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  }
}
