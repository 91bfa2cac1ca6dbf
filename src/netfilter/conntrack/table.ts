import type { CtEntry, Tuple } from './entry.js';
import { IPS, TCP_STATES, invertTuple, tupleEquals } from './entry.js';
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

interface Slot {
  readonly t: Tuple;
  e: CtEntry;
  next: Slot | null;
}

/** A small-integer hash of a tuple (a Map key V8 keeps unboxed). */
function tupleHash(t: Tuple): number {
  let h = Math.imul(t.src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ t.dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ ((t.sport << 16) | t.dport), 0x27d4eb2f);
  h ^= t.proto << 7;
  return (h ^ (h >>> 15)) & 0x3fffffff;
}

/**
 * The conntrack hash table of one netns: confirmed entries by both tuples, ids from a
 * counter, lazy expiry (an entry past its timeout is gone at the next lookup or listing).
 */
export class ConntrackTable {
  readonly config: ConntrackConfig;
  /**
   * Entries by tuple, both directions: a numeric hash of the tuple to a chain of slots (the
   * kernel's hash buckets), compared field by field. No string key per lookup.
   */
  private readonly byTuple = new Map<number, Slot>();
  /** Confirmed entries in creation (id) order: the listing order. */
  private readonly byId = new Map<number, CtEntry>();
  private nextId = 1;

  constructor(config: Partial<ConntrackConfig> = {}) {
    this.config = { ...defaultConntrackConfig(), ...config, tcpTimeouts: { ...TCP_TIMEOUTS_S, ...(config.tcpTimeouts ?? {}) } };
  }

  get count(): number {
    return this.byId.size;
  }

  private lookup(t: Tuple): CtEntry | undefined {
    for (let s: Slot | null = this.byTuple.get(tupleHash(t)) ?? null; s !== null; s = s.next) if (tupleEquals(s.t, t)) return s.e;
    return undefined;
  }

  private insert(t: Tuple, e: CtEntry): void {
    const h = tupleHash(t);
    const head = this.byTuple.get(h);
    for (let s: Slot | null = head ?? null; s !== null; s = s.next)
      if (tupleEquals(s.t, t)) {
        s.e = e;
        return;
      }
    this.byTuple.set(h, { t, e, next: head ?? null });
  }

  /** Drops the slot of `t` if it holds `e`. */
  private unlink(t: Tuple, e: CtEntry): void {
    const h = tupleHash(t);
    let prev: Slot | null = null;
    for (let s = this.byTuple.get(h) ?? null; s !== null; prev = s, s = s.next) {
      if (!tupleEquals(s.t, t)) continue;
      if (s.e !== e) return;
      if (prev) prev.next = s.next;
      else if (s.next) this.byTuple.set(h, s.next);
      else this.byTuple.delete(h);
      return;
    }
  }

  /** nf_conntrack_find_get: the entry holding `t` in either direction, and which. */
  find(t: Tuple, now: number): { entry: CtEntry; reply: boolean } | undefined {
    const e = this.lookup(t);
    if (!e) return undefined;
    if (e.expires <= now) {
      this.remove(e);
      return undefined;
    }
    const reply = !tupleEquals(e.orig, t);
    return { entry: e, reply };
  }

  /** nf_conntrack_tuple_taken: is `t` some other confirmed entry's tuple? */
  taken(t: Tuple, ignore: CtEntry, now: number): boolean {
    const e = this.lookup(t);
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
    for (const k of [e.orig, e.reply]) {
      const other = this.lookup(k);
      if (other && other.expires > now) return false;
      if (other) this.remove(other);
    }
    e.status |= IPS.CONFIRMED;
    e.expires = now + e.timeout;
    this.insert(e.orig, e);
    this.insert(e.reply, e);
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
    this.unlink(e.orig, e);
    this.unlink(e.reply, e);
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
