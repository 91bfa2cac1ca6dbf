import type { IpvsDest } from '../dest.js';
import { destName, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

/**
 * Round robin, as net/netfilter/ipvs/ip_vs_rr.c. The cursor (sched_data) is a list position:
 * -1 is the list head. Each schedule walks forward from the entry after the cursor, wraps
 * through the head at most once, skips overloaded and weight-0 servers, and leaves the
 * cursor on the chosen server.
 */
export class RrScheduler implements Scheduler {
  readonly name = 'rr';
  /** Index of the cursor entry in svc.dests; -1 = the list head. */
  cursor = -1;

  addDest(_svc: SchedService, _dest: IpvsDest): void {
    // The cursor is a pointer: a server inserted at the head shifts its index.
    if (this.cursor >= 0) this.cursor++;
  }

  delDest(_svc: SchedService, _dest: IpvsDest, index: number): void {
    // ip_vs_rr_del_dest: a deleted cursor entry moves the cursor to its predecessor.
    if (this.cursor === index) this.cursor = index - 1;
    else if (this.cursor > index) this.cursor--;
  }

  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    const list = svc.dests;
    const start = this.cursor;
    const last = start;
    let i = start;
    let pass = 0;
    do {
      for (i = i + 1; i < list.length; i++) {
        const d = list[i]!;
        if (!d.overloaded && d.weight > 0) {
          const from = this.cursor;
          this.cursor = i;
          return { dest: d, why: pkt.explain ? `rr: cursor ${from < 0 ? 'head' : 'at ' + (from + 1)} -> ${destName(d)} (entry ${i + 1} of ${list.length})` : '' };
        }
        if (i === last) return { dest: null, why: 'rr: no destination available' };
      }
      i = -1;
      pass++;
    } while (pass < 2 && start !== -1);
    return { dest: null, why: 'rr: no destination available' };
  }
}
