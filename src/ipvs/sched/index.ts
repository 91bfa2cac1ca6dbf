import { DhScheduler } from './dh.js';
import { LblcScheduler } from './lblc.js';
import { LblcrScheduler } from './lblcr.js';
import { LcScheduler } from './lc.js';
import { MhScheduler } from './mh.js';
import { NqScheduler } from './nq.js';
import { RrScheduler } from './rr.js';
import type { SchedService, Scheduler } from './scheduler.js';
import { ShScheduler } from './sh.js';
import { WlcScheduler } from './wlc.js';
import { WrrScheduler } from './wrr.js';

export type { SchedChoice, SchedPacket, SchedService, Scheduler } from './scheduler.js';

/** The schedulers this model has, by the names ipvsadm -s takes (register_ip_vs_scheduler). */
export const SCHEDULERS: Readonly<Record<string, (svc: SchedService) => Scheduler>> = {
  rr: () => new RrScheduler(),
  wrr: (svc) => new WrrScheduler(svc),
  lc: () => new LcScheduler(),
  wlc: () => new WlcScheduler('wlc'),
  sed: () => new WlcScheduler('sed'),
  nq: () => new NqScheduler(),
  sh: (svc) => new ShScheduler(svc),
  dh: (svc) => new DhScheduler(svc),
  mh: (svc) => new MhScheduler(svc),
  lblc: () => new LblcScheduler(),
  lblcr: () => new LblcrScheduler(),
};

export function makeScheduler(name: string, svc: SchedService): Scheduler | undefined {
  const f = SCHEDULERS[name];
  return f ? f(svc) : undefined;
}
