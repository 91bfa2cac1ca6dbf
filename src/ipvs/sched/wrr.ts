import type { IpvsDest } from '../dest.js';
import { destName, gcd, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

/**
 * Weighted round robin, as ip_vs_wrr.c: mw = max weight - (gcd - 1), di = gcd of the
 * positive weights, cw starts at mw; walk forward from the cursor returning the first server
 * with weight >= cw, lowering cw by di at each wrap. Any add/del/update resets the cursor
 * to the head and clamps cw (ip_vs_wrr_dest_changed).
 */
export class WrrScheduler implements Scheduler {
  readonly name = 'wrr';
  /** Cursor index; -1 = head (mark->cl). */
  cl = -1;
  cw = 0;
  mw = 0;
  di = 1;

  constructor(svc: SchedService) {
    this.di = gcdWeight(svc);
    this.mw = maxWeight(svc) - (this.di - 1);
    this.cw = this.mw;
  }

  private changed(svc: SchedService): void {
    this.cl = -1;
    this.di = gcdWeight(svc);
    this.mw = maxWeight(svc) - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }

  addDest(svc: SchedService, _d: IpvsDest): void {
    this.changed(svc);
  }
  delDest(svc: SchedService, _d: IpvsDest, _i: number): void {
    this.changed(svc);
  }
  updDest(svc: SchedService, _d: IpvsDest): void {
    this.changed(svc);
  }

  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    const list = svc.dests;
    let i = this.cl;
    if (this.mw === 0) {
      return { dest: null, why: 'wrr: no destination available' };
    }
    const last = i;
    let stop = -2; // no stop entry yet
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (i = i + 1; i < list.length; i++) {
        const d = list[i]!;
        if (!d.overloaded && d.weight >= this.cw) {
          this.cl = i;
          return { dest: d, why: pkt.explain ? `wrr: cw=${this.cw} mw=${this.mw} di=${this.di} -> ${destName(d)} (weight ${d.weight})` : '' };
        }
        if (i === stop) {
          this.cl = i;
          return { dest: null, why: 'wrr: no destination available: all destinations are overloaded' };
        }
      }
      i = -1; // at the list head
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) {
          this.cl = -1;
          return { dest: null, why: 'wrr: no destination available: all destinations are overloaded' };
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}

function gcdWeight(svc: SchedService): number {
  let g = 0;
  for (const d of svc.dests) {
    if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  }
  return g || 1;
}

function maxWeight(svc: SchedService): number {
  let w = 0;
  for (const d of svc.dests) if (d.weight > w) w = d.weight;
  return w;
}
