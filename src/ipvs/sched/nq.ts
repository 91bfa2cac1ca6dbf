import type { IpvsDest } from '../dest.js';
import { destName, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

/**
 * Never queue, as ip_vs_nq.c: the first idle server (activeconns == 0) in list order wins at
 * once; otherwise the one with the smallest (activeconns + 1) / weight, ties to the earlier.
 */
export class NqScheduler implements Scheduler {
  readonly name = 'nq';
  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    let least: IpvsDest | null = null;
    let loh = 0;
    for (const d of svc.dests) {
      if (d.overloaded || d.weight === 0) continue;
      const doh = d.activeconns + 1;
      if (d.activeconns === 0) return { dest: d, why: pkt.explain ? `nq: ${destName(d)} is idle` : '' };
      if (!least || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    if (!least) return { dest: null, why: 'nq: no destination available' };
    return { dest: least, why: pkt.explain ? `nq: no idle server; ${destName(least)} overhead ${loh} / weight ${least.weight}` : '' };
  }
}
