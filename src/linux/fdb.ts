/**
 * The bridge forwarding database (net/bridge/br_fdb.c): MAC -> port, learned from source
 * addresses and aged out after ageing_time (300 s) on the simulated clock; local entries
 * (`permanent`) for the bridge's and the ports' own addresses; static entries from
 * `bridge fdb add`. Dump order is newest first, as the kernel's fdb_list (hlist_add_head).
 */
import { formatMac, type MacAddr } from '../wire/mac-address.js';
import type { NetDevice } from './link/device.js';

export interface FdbEntry {
  readonly mac: MacAddr;
  /** The port, or null for the bridge device itself. */
  port: NetDevice | null;
  /** is_local: the bridge's or a port's own address (`permanent`). */
  readonly isLocal: boolean;
  /** is_static: added by the user without `permanent` semantics (`static`). */
  readonly isStatic: boolean;
  updated: number;
  used: number;
  seq: number;
}

export class BridgeFdb {
  private readonly map = new Map<MacAddr, FdbEntry>();
  private seq = 0;
  /** ageing_time in ns. */
  ageing = 300e9;

  get(mac: MacAddr, now: number): FdbEntry | undefined {
    const f = this.map.get(mac);
    if (f === undefined) return undefined;
    if (!f.isLocal && !f.isStatic && now - f.updated > this.ageing) {
      this.map.delete(mac);
      return undefined;
    }
    return f;
  }

  /** br_fdb_update: learn `mac` on `port`; local entries are never moved. */
  learn(mac: MacAddr, port: NetDevice, now: number): FdbEntry | null {
    const f = this.get(mac, now);
    if (f) {
      if (f.isLocal || f.isStatic) return null;
      if (f.port !== port) f.port = port;
      f.updated = now;
      return f;
    }
    const n: FdbEntry = { mac, port, isLocal: false, isStatic: false, updated: now, used: now, seq: this.seq++ };
    this.map.set(mac, n);
    return n;
  }

  addLocal(mac: MacAddr, port: NetDevice | null, now: number): void {
    const f = this.map.get(mac);
    if (f && f.isLocal) return;
    this.map.set(mac, { mac, port, isLocal: true, isStatic: false, updated: now, used: now, seq: this.seq++ });
  }

  addStatic(mac: MacAddr, port: NetDevice, now: number, permanent: boolean): void {
    this.map.set(mac, { mac, port, isLocal: permanent, isStatic: !permanent, updated: now, used: now, seq: this.seq++ });
  }

  delete(mac: MacAddr, pred: (f: FdbEntry) => boolean = () => true): boolean {
    const f = this.map.get(mac);
    if (!f || !pred(f)) return false;
    this.map.delete(mac);
    return true;
  }

  /** Removes every entry pointing at `port` (port removed from the bridge). */
  flushPort(port: NetDevice): void {
    for (const [m, f] of this.map) if (f.port === port) this.map.delete(m);
  }

  /** Removes the learned entries of `port` (br_fdb_delete_by_port, non-static). */
  flushDynamic(port: NetDevice): void {
    for (const [m, f] of this.map) if (f.port === port && !f.isLocal && !f.isStatic) this.map.delete(m);
  }

  /** Entries newest first, expired ones left out. */
  entries(now: number): FdbEntry[] {
    return [...this.map.values()]
      .filter((f) => f.isLocal || f.isStatic || now - f.updated <= this.ageing)
      .sort((a, b) => b.seq - a.seq);
  }
}

/** One `bridge fdb show` line for a bridge entry (bridge/fdb.c print_fdb). */
export function formatBridgeFdb(f: FdbEntry, bridge: NetDevice): string {
  const dev = f.port ?? bridge;
  let s = `${formatMac(f.mac)} dev ${dev.name} master ${bridge.name} `;
  if (f.isLocal) s += 'permanent';
  else if (f.isStatic) s += 'static';
  return s;
}
