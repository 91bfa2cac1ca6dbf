import { IP_VS_SVC_F_SCHED_SH_FALLBACK, IP_VS_SVC_F_SCHED_SH_PORT } from '../constants.js';
import type { IpvsDest } from '../dest.js';
import { destName, hash32, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

export const IP_VS_SH_TAB_BITS = 8;
export const IP_VS_SH_TAB_SIZE = 1 << IP_VS_SH_TAB_BITS;
const MASK = IP_VS_SH_TAB_SIZE - 1;

/** ip_vs_sh_hashkey: (offset + hash_32(port + addr, 8)) & 255, all in u32 arithmetic. */
export function shHashKey(addr: number, port: number, offset: number): number {
  return (offset + hash32((port + addr) >>> 0, IP_VS_SH_TAB_BITS)) & MASK;
}

/**
 * Source hashing, as ip_vs_sh.c: 256 buckets filled by walking the list, each server taking
 * `weight` consecutive buckets (at least one), cycling until all are filled; a packet goes to
 * the bucket of its source address (plus source port with sh-port). An overloaded or
 * weight-0 server gets nothing unless sh-fallback, which walks the table from that bucket.
 */
export class ShScheduler implements Scheduler {
  readonly name = 'sh';
  readonly buckets: (IpvsDest | null)[] = new Array<IpvsDest | null>(IP_VS_SH_TAB_SIZE).fill(null);

  constructor(svc: SchedService) {
    this.reassign(svc);
  }

  /** ip_vs_sh_reassign. */
  reassign(svc: SchedService): void {
    const list = svc.dests;
    let p = -1;
    let count = 0;
    for (let i = 0; i < IP_VS_SH_TAB_SIZE; i++) {
      if (list.length === 0) {
        this.buckets[i] = null;
        continue;
      }
      if (p === -1) p = 0;
      const d = list[p]!;
      this.buckets[i] = d;
      if (++count >= d.weight) {
        p = p + 1 < list.length ? p + 1 : -1;
        count = 0;
      }
    }
  }

  addDest(svc: SchedService): void {
    this.reassign(svc);
  }
  delDest(svc: SchedService): void {
    this.reassign(svc);
  }
  updDest(svc: SchedService): void {
    this.reassign(svc);
  }

  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    const port = svc.flags & IP_VS_SVC_F_SCHED_SH_PORT ? pkt.sport : 0;
    const ihash = shHashKey(pkt.saddr, port, 0);
    const first = this.buckets[ihash] ?? null;
    if (!first) return { dest: null, why: pkt.explain ? `sh: bucket ${ihash} empty` : '' };
    if (!unavailable(first)) return { dest: first, why: pkt.explain ? `sh: bucket ${ihash} -> ${destName(first)}` : '' };
    if (!(svc.flags & IP_VS_SVC_F_SCHED_SH_FALLBACK)) {
      return { dest: null, why: pkt.explain ? `sh: bucket ${ihash} -> ${destName(first)} unavailable` : '' };
    }
    for (let offset = 0; offset < IP_VS_SH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % IP_VS_SH_TAB_SIZE;
      const hash = shHashKey(pkt.saddr, port, roffset);
      const d = this.buckets[hash] ?? null;
      if (!d) break;
      if (!unavailable(d)) return { dest: d, why: pkt.explain ? `sh: bucket ${ihash} unavailable, fallback offset ${roffset} bucket ${hash} -> ${destName(d)}` : '' };
    }
    return { dest: null, why: pkt.explain ? `sh: bucket ${ihash} unavailable, no fallback` : '' };
  }
}

function unavailable(d: IpvsDest): boolean {
  return d.weight <= 0 || d.overloaded;
}
