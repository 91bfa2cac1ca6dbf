import type { IpvsDest } from '../dest.js';
import { destName, hash32, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

export const IP_VS_DH_TAB_BITS = 8;
export const IP_VS_DH_TAB_SIZE = 1 << IP_VS_DH_TAB_BITS;

/**
 * Destination hashing, as ip_vs_dh.c: 256 buckets given one per server in list order,
 * cycling (weights are not used); the bucket is hash_32(daddr, 8). The table is rebuilt on
 * add/del only (dh has no upd_dest). Unavailable, weight-0 or overloaded: no destination.
 */
export class DhScheduler implements Scheduler {
  readonly name = 'dh';
  readonly buckets: (IpvsDest | null)[] = new Array<IpvsDest | null>(IP_VS_DH_TAB_SIZE).fill(null);

  constructor(svc: SchedService) {
    this.reassign(svc);
  }

  reassign(svc: SchedService): void {
    const list = svc.dests;
    let p = 0;
    for (let i = 0; i < IP_VS_DH_TAB_SIZE; i++) {
      if (list.length === 0) {
        this.buckets[i] = null;
        continue;
      }
      this.buckets[i] = list[p]!;
      p = (p + 1) % list.length;
    }
  }

  addDest(svc: SchedService): void {
    this.reassign(svc);
  }
  delDest(svc: SchedService): void {
    this.reassign(svc);
  }

  schedule(_svc: SchedService, pkt: SchedPacket): SchedChoice {
    const b = hash32(pkt.daddr, IP_VS_DH_TAB_BITS);
    const d = this.buckets[b] ?? null;
    if (!d || !d.available || d.weight <= 0 || d.overloaded) {
      return { dest: null, why: pkt.explain ? `dh: bucket ${b} has no available destination` : '' };
    }
    return { dest: d, why: pkt.explain ? `dh: bucket ${b} -> ${destName(d)}` : '' };
  }
}
