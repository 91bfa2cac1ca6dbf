import type { CtEntry, Tuple } from './entry.js';
import { IPS, TCP_STATES, invertTuple, tupleKey } from './entry.js';
import { TCP_TIMEOUTS_S } from './tcp.js';

const S = 1_000_000_000;

/** Conntrack sysctls the model honours (net.netfilter.nf_conntrack_*). */
export interface ConntrackConfig {
  /** nf_conntrack_max. */
  max: number;
  /** nf_conntrack_tcp_timeout_<state> in seconds, by state name. */
  tcpTimeouts: Record<string, number>;
  udpTimeout: number;
  udpTimeoutStream: number;
  icmpTimeout: number;
  genericTimeout: number;
}

export function defaultConntrackConfig(): ConntrackConfig {
  return { max: 262144, tcpTimeouts: { ...TCP_TIMEOUTS_S }, udpTimeout: 30, udpTimeoutStream: 120, icmpTimeout: 30, genericTimeout: 600 };
}

/**
 * The conntrack hash table of one netns: confirmed entries by both tuples, ids from a
 * counter, lazy expiry (an entry past its timeout is gone at the next lookup or listing).
 */
export class ConntrackTable {
  readonly config: ConntrackConfig;
  private readonly byTuple = new Map<string, CtEntry>();
  /** Confirmed entries in creation (id) order: the listing order. */
  private readonly byId = new Map<number, CtEntry>();
  private nextId = 1;

  constructor(config: Partial<ConntrackConfig> = {}) {
    this.config = { ...defaultConntrackConfig(), ...config, tcpTimeouts: { ...TCP_TIMEOUTS_S, ...(config.tcpTimeouts ?? {}) } };
  }

  get count(): number {
    return this.byId.size;
  }

  /** nf_conntrack_find_get: the entry holding `t` in either direction, and which. */
  find(t: Tuple, now: number): { entry: CtEntry; reply: boolean } | undefined {
    const e = this.byTuple.get(tupleKey(t));
    if (!e) return undefined;
    if (e.expires <= now) {
      this.remove(e);
      return undefined;
    }
    const reply = tupleKey(e.orig) !== tupleKey(t);
    return { entry: e, reply };
  }

  /** nf_conntrack_tuple_taken: is `t` some other confirmed entry's tuple? */
  taken(t: Tuple, ignore: CtEntry, now: number): boolean {
    const e = this.byTuple.get(tupleKey(t));
    if (!e || e === ignore) return false;
    if (e.expires <= now) {
      this.remove(e);
      return false;
    }
    return true;
  }

  /**
   * init_conntrack: a new unconfirmed entry, or null when the table is full and early_drop
   * found no unassured entry to evict (the kernel's "table full, dropping packet").
   */
  create(orig: Tuple, now: number, ev?: ((action: 'early-drop', e: CtEntry, ctinfo: number) => void) | null): CtEntry | null {
    // nf_conntrack_count also counts unconfirmed entries until their skb is freed; the model
    // cannot see skbs freed, so it counts confirmed entries only.
    if (this.byId.size >= this.config.max) {
      this.gc(now);
      if (this.byId.size >= this.config.max) {
        let victim: CtEntry | undefined;
        for (const e of this.byId.values())
          if (!(e.status & IPS.ASSURED)) {
            victim = e;
            break;
          }
        if (!victim) return null;
        this.remove(victim);
        ev?.('early-drop', victim, 0);
      }
    }
    return {
      id: this.nextId++,
      orig,
      reply: invertTuple(orig),
      status: 0,
      mark: 0,
      expires: 0,
      timeout: 0,
      tcpState: 0,
      streamTs: now + 2 * S,
      createdAt: now,
    };
  }

  /** __nf_conntrack_confirm: insert both tuples; false when a tuple is already there (clash). */
  confirm(e: CtEntry, now: number): boolean {
    if (e.status & IPS.CONFIRMED) return true;
    if (e.status & IPS.DYING) return true;
    const ko = tupleKey(e.orig);
    const kr = tupleKey(e.reply);
    for (const k of [ko, kr]) {
      const other = this.byTuple.get(k);
      if (other && other.expires > now) return false;
      if (other) this.remove(other);
    }
    e.status |= IPS.CONFIRMED;
    e.expires = now + e.timeout;
    this.byTuple.set(ko, e);
    this.byTuple.set(kr, e);
    this.byId.set(e.id, e);
    return true;
  }

  /** nf_ct_refresh: sets the timeout (ns from now). */
  refresh(e: CtEntry, timeoutNs: number, now: number): void {
    if (e.status & IPS.CONFIRMED) e.expires = now + timeoutNs;
    else e.timeout = timeoutNs;
  }

  /** nf_ct_kill / nf_ct_delete. */
  remove(e: CtEntry): void {
    e.status |= IPS.DYING;
    if (!(e.status & IPS.CONFIRMED)) return;
    if (this.byId.get(e.id) !== e) return;
    this.byId.delete(e.id);
    for (const t of [e.orig, e.reply]) {
      const k = tupleKey(t);
      if (this.byTuple.get(k) === e) this.byTuple.delete(k);
    }
  }

  /** Drops every expired entry. */
  gc(now: number): void {
    for (const e of [...this.byId.values()]) if (e.expires <= now) this.remove(e);
  }

  /** `conntrack -F`. */
  flush(): void {
    for (const e of [...this.byId.values()]) this.remove(e);
  }

  /** Live entries in id order. */
  entries(now: number): CtEntry[] {
    this.gc(now);
    return [...this.byId.values()];
  }

  tcpTimeout(state: number): number {
    return (this.config.tcpTimeouts[TCP_STATES[state] ?? 'CLOSE'] ?? 10) * S;
  }
}
