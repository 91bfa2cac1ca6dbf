import type { Nanos } from '../sim/clock.js';
import { NS_PER_S } from './constants.js';

/**
 * Per-service, per-destination and total counters with the rate estimator, as
 * struct ip_vs_stats + ip_vs_est.c: the estimator runs every 2 s and keeps exponentially
 * weighted rates scaled by 2^10 (conns, packets) and 2^5 (bytes).
 */
export class IpvsStats {
  conns = 0;
  inpkts = 0;
  outpkts = 0;
  inbytes = 0;
  outbytes = 0;
  // Estimator state (struct ip_vs_estimator).
  private lastConns = 0;
  private lastInpkts = 0;
  private lastOutpkts = 0;
  private lastInbytes = 0;
  private lastOutbytes = 0;
  private cpsE = 0;
  private inppsE = 0;
  private outppsE = 0;
  private inbpsE = 0;
  private outbpsE = 0;

  /** Estimator ticks applied so far (the kernel's 2 s timer, run lazily: see `catchUp`). */
  ticks = 0;

  /**
   * Applies every estimator tick up to `tick` (ticks since the model started). Called before
   * counters change and before rates are read, so the result equals a timer firing every 2 s;
   * idle stretches with all rates decayed to 0 are skipped in one step.
   */
  catchUp(tick: number): void {
    while (this.ticks < tick) {
      if (this.idle()) {
        this.ticks = tick;
        return;
      }
      this.estimate();
      this.ticks++;
    }
  }

  private idle(): boolean {
    return this.conns === this.lastConns && this.inpkts === this.lastInpkts && this.outpkts === this.lastOutpkts
      && this.inbytes === this.lastInbytes && this.outbytes === this.lastOutbytes
      && this.cpsE === 0 && this.inppsE === 0 && this.outppsE === 0 && this.inbpsE === 0 && this.outbpsE === 0;
  }

  /** One estimation_timer tick (every 2 s). */
  estimate(): void {
    let rate = (this.conns - this.lastConns) * 512; // << 9: scaled by 2^10, divided by 2 s
    this.lastConns = this.conns;
    this.cpsE += shr2(rate - this.cpsE);
    rate = (this.inpkts - this.lastInpkts) * 512;
    this.lastInpkts = this.inpkts;
    this.inppsE += shr2(rate - this.inppsE);
    rate = (this.outpkts - this.lastOutpkts) * 512;
    this.lastOutpkts = this.outpkts;
    this.outppsE += shr2(rate - this.outppsE);
    rate = (this.inbytes - this.lastInbytes) * 16; // << 4: scaled by 2^5, divided by 2 s
    this.lastInbytes = this.inbytes;
    this.inbpsE += shr2(rate - this.inbpsE);
    rate = (this.outbytes - this.lastOutbytes) * 16;
    this.lastOutbytes = this.outbytes;
    this.outbpsE += shr2(rate - this.outbpsE);
  }

  /** ip_vs_read_estimator: the rates ipvsadm --rate prints. */
  rates(): { cps: number; inpps: number; outpps: number; inbps: number; outbps: number } {
    return {
      cps: Math.floor((this.cpsE + 0x1ff) / 1024),
      inpps: Math.floor((this.inppsE + 0x1ff) / 1024),
      outpps: Math.floor((this.outppsE + 0x1ff) / 1024),
      inbps: Math.floor((this.inbpsE + 0xf) / 32),
      outbps: Math.floor((this.outbpsE + 0xf) / 32),
    };
  }

  /** ip_vs_zero_stats: counters and estimator restart from zero. */
  zero(): void {
    const t = this.ticks;
    this.conns = this.inpkts = this.outpkts = this.inbytes = this.outbytes = 0;
    this.lastConns = this.lastInpkts = this.lastOutpkts = this.lastInbytes = this.lastOutbytes = 0;
    this.cpsE = this.inppsE = this.outppsE = this.inbpsE = this.outbpsE = 0;
    this.ticks = t;
  }

  /** Sets counters directly (tests, or loading a snapshot). */
  set(v: { conns?: number; inpkts?: number; outpkts?: number; inbytes?: number; outbytes?: number }): void {
    if (v.conns !== undefined) this.conns = v.conns;
    if (v.inpkts !== undefined) this.inpkts = v.inpkts;
    if (v.outpkts !== undefined) this.outpkts = v.outpkts;
    if (v.inbytes !== undefined) this.inbytes = v.inbytes;
    if (v.outbytes !== undefined) this.outbytes = v.outbytes;
  }

  clone(): IpvsStats {
    const s = new IpvsStats();
    Object.assign(s, this);
    return s;
  }
}

/** Arithmetic shift right by 2 of a signed 64-bit value (floors, like >> on s64). */
function shr2(x: number): number {
  return Math.floor(x / 4);
}

/** The estimator period (2 s). */
export const IPVS_EST_PERIOD: Nanos = 2 * NS_PER_S;
