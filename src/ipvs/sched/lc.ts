import type { IpvsDest } from '../dest.js';
import { destName, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

/**
 * Least connection, as ip_vs_lc.c: the server with the smallest activeconns*256 + inactconns
 * among those not overloaded and with weight != 0; on a tie the first in list order.
 */
export class LcScheduler implements Scheduler {
  readonly name = 'lc';
  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    let least: IpvsDest | null = null;
    let loh = 0;
    for (const d of svc.dests) {
      if (d.overloaded || d.weight === 0) continue;
      const doh = d.overhead();
      if (!least || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    if (!least) return { dest: null, why: 'lc: no destination available' };
    return { dest: least, why: pkt.explain ? `lc: ${destName(least)} overhead ${loh} (active ${least.activeconns}, inactive ${least.inactconns})` : '' };
  }
}
