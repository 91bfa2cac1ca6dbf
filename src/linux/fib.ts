/**
 * Routing tables (net/ipv4/fib_trie.c semantics, not its structure): longest prefix match
 * over one Map per prefix length, only the lengths in use visited, longest first; among
 * routes of one prefix the lowest metric wins. Tables are looked up in the default policy
 * rule order (local 0, main 32766, default 32767).
 */
import { formatIpv4, prefixMask, type Ipv4Addr } from '../wire/ipv4-address.js';
import type { NetDevice } from './link/device.js';

export type RouteType = 'unicast' | 'local' | 'broadcast' | 'blackhole' | 'unreachable' | 'prohibit' | 'throw';
export type RouteScope = 'global' | 'link' | 'host';

export const RT_TABLE_DEFAULT = 253;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

/** rtm_scope numbers, for inet_select_addr comparisons. */
export const SCOPE_NUM: Record<RouteScope, number> = { global: 0, link: 253, host: 254 };

export interface Route {
  readonly table: number;
  readonly type: RouteType;
  /** Network address (host bits clear). */
  readonly dst: Ipv4Addr;
  readonly len: number;
  readonly tos: number;
  /** Gateway, 0 for none. */
  readonly via: Ipv4Addr;
  readonly dev: NetDevice | null;
  /** `kernel`, `boot` (not printed), `static`, `dhcp`, or a number. */
  readonly proto: string;
  readonly scope: RouteScope;
  /** Preferred source (`src`), 0 for none. */
  readonly prefsrc: Ipv4Addr;
  readonly metric: number;
  readonly onlink: boolean;
  /** `mtu` metric, 0 for none. */
  readonly mtu: number;
  /** Insertion order, to keep equal-metric routes in the kernel's order. */
  readonly seq: number;
}

export class FibTable {
  readonly id: number;
  /** byLen[len]: network -> routes of that prefix, sorted by metric then insertion. */
  private readonly byLen: Map<number, Route[]>[] = [];
  /** Prefix lengths in use, longest first: what a lookup visits. */
  private lens: number[] = [];
  private count = 0;

  constructor(id: number) {
    this.id = id;
    for (let i = 0; i <= 32; i++) this.byLen.push(new Map());
  }

  get size(): number {
    return this.count;
  }

  /** Longest prefix match; answers the first route of the best prefix, or undefined. */
  lookup(dst: Ipv4Addr): Route | undefined {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const len = lens[i]!;
      const key = len === 0 ? 0 : (dst & ((0xffffffff << (32 - len)) >>> 0)) >>> 0;
      const rs = this.byLen[len]!.get(key);
      if (rs !== undefined) return rs[0];
    }
    return undefined;
  }

  /** Routes of exactly this prefix (any metric). */
  exact(dst: Ipv4Addr, len: number): readonly Route[] {
    return this.byLen[len]!.get(dst) ?? [];
  }

  insert(r: Route): void {
    const m = this.byLen[r.len]!;
    let rs = m.get(r.dst);
    if (!rs) {
      rs = [];
      m.set(r.dst, rs);
      if (!this.lens.includes(r.len)) this.lens = [...this.lens, r.len].sort((a, b) => b - a);
    }
    let i = 0;
    while (i < rs.length && (rs[i]!.metric < r.metric || (rs[i]!.metric === r.metric && rs[i]!.seq < r.seq))) i++;
    rs.splice(i, 0, r);
    this.count++;
  }

  remove(r: Route): boolean {
    const m = this.byLen[r.len]!;
    const rs = m.get(r.dst);
    if (!rs) return false;
    const i = rs.indexOf(r);
    if (i < 0) return false;
    rs.splice(i, 1);
    this.count--;
    if (rs.length === 0) {
      m.delete(r.dst);
      if (m.size === 0) this.lens = this.lens.filter((l) => l !== r.len);
    }
    return true;
  }

  /** Removes every route `pred` accepts; answers how many. */
  removeWhere(pred: (r: Route) => boolean): number {
    const doomed = this.all().filter(pred);
    for (const r of doomed) this.remove(r);
    return doomed.length;
  }

  /** Every route in `ip route` dump order: by address, longer prefix first for equal address. */
  all(): Route[] {
    const out: Route[] = [];
    for (let len = 0; len <= 32; len++) for (const rs of this.byLen[len]!.values()) out.push(...rs);
    out.sort((a, b) => a.dst - b.dst || b.len - a.len || a.metric - b.metric || a.seq - b.seq);
    return out;
  }
}

export function tableName(id: number): string {
  if (id === RT_TABLE_MAIN) return 'main';
  if (id === RT_TABLE_LOCAL) return 'local';
  if (id === RT_TABLE_DEFAULT) return 'default';
  return String(id);
}

export function networkOf(a: Ipv4Addr, len: number): Ipv4Addr {
  return ((a & prefixMask(len)) >>> 0) as Ipv4Addr;
}

/**
 * One route as iproute2 print_route prints it, with the trailing space of every token.
 * `showTable`: print `table T` for tables other than main (as `ip route show table all`).
 */
export function formatRoute(r: Route, showTable: boolean): string {
  let s = '';
  if (r.type !== 'unicast') s += `${r.type} `;
  s += r.len === 0 && r.dst === 0 ? 'default ' : r.len === 32 ? `${formatIpv4(r.dst)} ` : `${formatIpv4(r.dst)}/${r.len} `;
  if (r.tos) s += `tos 0x${r.tos.toString(16)} `;
  if (r.via) s += `via ${formatIpv4(r.via)} `;
  if (r.dev) s += `dev ${r.dev.name} `;
  if (showTable && r.table !== RT_TABLE_MAIN) s += `table ${tableName(r.table)} `;
  if (r.proto !== 'boot') s += `proto ${r.proto} `;
  if (r.scope !== 'global') s += `scope ${r.scope} `;
  if (r.prefsrc) s += `src ${formatIpv4(r.prefsrc)} `;
  if (r.metric) s += `metric ${r.metric} `;
  if (r.onlink) s += 'onlink ';
  if (r.type !== 'local' && r.dev && r.dev.adminUp && !r.dev.carrier()) s += 'linkdown ';
  if (r.mtu) s += `mtu ${r.mtu} `;
  return s;
}
