import type { Nanos } from '../sim/clock.js';
import type { Ipv4Addr } from '../wire/ipv4-address.js';
import { AF_INET, IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_TEMPLATE, IP_VS_DEST_F_OVERLOAD, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP } from './constants.js';
import type { IpvsDest } from './dest.js';
import { TCP_STATE_NAMES } from './proto.js';

/** A connection entry or persistence template (struct ip_vs_conn). */
export class IpvsConn {
  readonly af = AF_INET;
  flags: number;
  state = 0;
  /** Template state bits (IP_VS_CTPL_S_ASSURED). */
  ctplState = 0;
  /** Current timeout in ns (cp->timeout); the timer runs to `expires`. */
  timeout: Nanos;
  expires: Nanos = Infinity;
  /** Time of this entry's pending slot in the timer heap (Infinity: none). */
  heapAt: Nanos = Infinity;
  control: IpvsConn | null = null;
  nControl = 0;
  dest: IpvsDest | null;
  inPkts = 0;
  /** Whether the entry is still in the table. */
  hashed = false;
  /** Opaque conntrack entry of the first packet, for the conntrack seam. */
  ct: object | null = null;

  constructor(
    readonly protocol: number,
    readonly caddr: Ipv4Addr,
    public cport: number,
    readonly vaddr: Ipv4Addr,
    public vport: number,
    readonly daddr: Ipv4Addr,
    public dport: number,
    flags: number,
    dest: IpvsDest | null,
    readonly fwmark: number,
    /** Creation order, for deterministic listings. */
    readonly seq: number,
  ) {
    this.flags = flags;
    this.dest = dest;
    this.timeout = 3 * 1_000_000_000;
  }

  get isTemplate(): boolean {
    return (this.flags & IP_VS_CONN_F_TEMPLATE) !== 0;
  }

  /** ip_vs_state_name: templates show state 0. */
  stateName(): string {
    const state = this.isTemplate ? 0 : this.state;
    if (this.protocol === IPPROTO_TCP) return TCP_STATE_NAMES[state] ?? 'ERR!';
    if (this.protocol === IPPROTO_UDP) return state === 0 ? 'UDP' : 'BUG!';
    if (this.protocol === IPPROTO_IP) return 'NONE';
    return 'ERR!';
  }
}

/** ip_vs_bind_dest: counters as the kernel keeps them, and the upper threshold. */
export function bindDest(cp: IpvsConn, dest: IpvsDest): void {
  cp.flags |= dest.connFlags;
  cp.dest = dest;
  dest.refcnt++;
  if (!(cp.flags & IP_VS_CONN_F_TEMPLATE)) {
    if (!(cp.flags & IP_VS_CONN_F_INACTIVE)) dest.activeconns++;
    else dest.inactconns++;
  } else {
    dest.persistconns++;
  }
  if (dest.uThreshold !== 0 && dest.totalconns() >= dest.uThreshold) dest.flags |= IP_VS_DEST_F_OVERLOAD;
}

/** ip_vs_unbind_dest. */
export function unbindDest(cp: IpvsConn): void {
  const dest = cp.dest;
  if (!dest) return;
  if (!(cp.flags & IP_VS_CONN_F_TEMPLATE)) {
    if (cp.flags & IP_VS_CONN_F_INACTIVE) dest.inactconns--;
    else dest.activeconns--;
  } else {
    dest.persistconns--;
  }
  if (dest.lThreshold !== 0) {
    if (dest.totalconns() < dest.lThreshold) dest.flags &= ~IP_VS_DEST_F_OVERLOAD;
  } else if (dest.uThreshold !== 0) {
    if (dest.totalconns() * 4 < dest.uThreshold * 3) dest.flags &= ~IP_VS_DEST_F_OVERLOAD;
  } else {
    dest.flags &= ~IP_VS_DEST_F_OVERLOAD;
  }
  dest.refcnt--;
}

/**
 * The connection table. The kernel hashes every entry once, by <protocol, client address,
 * client port> (ip_vs_conn_hashkey_conn), and both directions search that chain: "in"
 * matches client->virtual, "out" matches real server->client. Here the chain is a Map
 * bucket per exact key, so a lookup costs the same at any table size.
 */
export class ConnTable {
  private readonly chains = new Map<number, IpvsConn[]>();
  /**
   * Timer heap with one slot per entry at most: re-arming later only moves `expires`; the
   * slot, when it comes due, re-files the entry at its current deadline (mod_timer, lazily).
   */
  private heap: { at: Nanos; cp: IpvsConn }[] = [];
  private nextSeq = 0;
  count = 0;

  newSeq(): number {
    return this.nextSeq++;
  }

  private static key(protocol: number, caddr: number, cport: number): number {
    // Unique for <protocol class, caddr, cport>: 2 + 32 + 16 bits fit in a double exactly.
    const p = protocol === IPPROTO_TCP ? 0 : protocol === IPPROTO_UDP ? 1 : protocol === IPPROTO_IP ? 2 : 3;
    return ((caddr >>> 0) * 0x10000 + cport) * 4 + p;
  }

  hash(cp: IpvsConn): void {
    const k = ConnTable.key(cp.protocol, cp.caddr, cp.cport);
    const chain = this.chains.get(k);
    // hlist_add_head_rcu: newest first.
    if (chain) chain.unshift(cp);
    else this.chains.set(k, [cp]);
    cp.hashed = true;
    this.count++;
  }

  unhash(cp: IpvsConn): boolean {
    if (!cp.hashed) return false;
    const k = ConnTable.key(cp.protocol, cp.caddr, cp.cport);
    const chain = this.chains.get(k);
    if (chain) {
      const i = chain.indexOf(cp);
      if (i >= 0) chain.splice(i, 1);
      if (chain.length === 0) this.chains.delete(k);
    }
    cp.hashed = false;
    this.count--;
    return true;
  }

  /** __ip_vs_conn_in_get: client -> virtual, connections only (not templates). */
  inGet(protocol: number, caddr: number, cport: number, vaddr: number, vport: number): IpvsConn | undefined {
    const chain = this.chains.get(ConnTable.key(protocol, caddr, cport));
    if (!chain) return undefined;
    for (const cp of chain) {
      if (cp.vport === vport && cp.vaddr === vaddr && cp.protocol === protocol && cp.caddr === caddr && !cp.isTemplate) return cp;
    }
    return undefined;
  }

  /** ip_vs_ct_in_get: a persistence template <protocol, snet, 0, vaddr|fwmark, vport>. */
  templateGet(protocol: number, caddr: number, vaddr: number, vport: number): IpvsConn | undefined {
    const chain = this.chains.get(ConnTable.key(protocol, caddr, 0));
    if (!chain) return undefined;
    for (const cp of chain) {
      if (cp.isTemplate && cp.vaddr === vaddr && cp.vport === vport && cp.cport === 0 && cp.protocol === protocol) return cp;
    }
    return undefined;
  }

  /** ip_vs_conn_out_get: real server -> client. */
  outGet(protocol: number, daddr: number, dport: number, caddr: number, cport: number): IpvsConn | undefined {
    const chain = this.chains.get(ConnTable.key(protocol, caddr, cport));
    if (!chain) return undefined;
    for (const cp of chain) {
      if (cp.daddr === daddr && cp.dport === dport && cp.protocol === protocol && !cp.isTemplate) return cp;
    }
    return undefined;
  }

  /** (Re)arms the entry's timer at now + timeout (__ip_vs_conn_put_timer). */
  arm(cp: IpvsConn, now: Nanos): void {
    this.setExpires(cp, now + cp.timeout);
  }

  /** Runs the timer now (ip_vs_conn_expire_now). */
  expireNow(cp: IpvsConn, now: Nanos): void {
    if (cp.expires > now) this.setExpires(cp, now);
  }

  private setExpires(cp: IpvsConn, at: Nanos): void {
    cp.expires = at;
    if (at < cp.heapAt) {
      cp.heapAt = at;
      this.push({ at, cp });
    }
  }

  /** The next entry whose timer is due by `now`, earliest first (ties in creation order). */
  popDue(now: Nanos): IpvsConn | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > now) return undefined;
      this.pop();
      const cp = top.cp;
      if (top.at !== cp.heapAt || !cp.hashed) continue; // superseded slot, or gone
      cp.heapAt = Infinity;
      if (cp.expires !== top.at) {
        // Re-armed since this slot was filed: file it again at its real deadline, so
        // entries still expire in deadline order.
        cp.heapAt = cp.expires;
        this.push({ at: cp.expires, cp });
        continue;
      }
      return cp;
    }
  }

  all(): IpvsConn[] {
    const out: IpvsConn[] = [];
    for (const chain of this.chains.values()) for (const cp of chain) out.push(cp);
    return out;
  }

  private push(e: { at: Nanos; cp: IpvsConn }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function less(a: { at: Nanos; cp: IpvsConn }, b: { at: Nanos; cp: IpvsConn }): boolean {
  return a.at < b.at || (a.at === b.at && a.cp.seq < b.cp.seq);
}
