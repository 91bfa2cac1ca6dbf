import type { IpvsDest } from '../dest.js';
import { destName, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

/**
 * The weighted least-connection family: wlc (ip_vs_wlc.c, overhead activeconns*256 +
 * inactconns) and sed (ip_vs_sed.c, overhead activeconns + 1). The first non-overloaded
 * server with weight > 0 starts as the least; a later one replaces it only when
 * loh * w(d) > doh * w(least) (strictly), so ties keep the earlier server. Later servers are
 * skipped only when overloaded: a weight-0 one can never win the strict comparison.
 */
export class WlcScheduler implements Scheduler {
  constructor(
    readonly name: 'wlc' | 'sed',
  ) {}

  private oh(d: IpvsDest): number {
    return this.name === 'wlc' ? d.overhead() : d.activeconns + 1;
  }

  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    const list = svc.dests;
    let i = 0;
    let least: IpvsDest | null = null;
    let loh = 0;
    for (; i < list.length; i++) {
      const d = list[i]!;
      if (!d.overloaded && d.weight > 0) {
        least = d;
        loh = this.oh(d);
        break;
      }
    }
    if (!least) return { dest: null, why: pkt.explain ? `${this.name}: no destination available` : '' };
    for (i = i + 1; i < list.length; i++) {
      const d = list[i]!;
      if (d.overloaded) continue;
      const doh = this.oh(d);
      if (loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return { dest: least, why: pkt.explain ? `${this.name}: ${destName(least)} overhead ${loh} / weight ${least.weight}` : '' };
  }
}
