import type { Nanos } from '../../sim/clock.js';
import { NS_PER_S } from '../constants.js';
import type { IpvsDest } from '../dest.js';
import { destName, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

/** lblc_expiration / lblcr_expiration default: 24 hours. */
export const LBLC_DEFAULT_EXPIRATION: Nanos = 24 * 60 * 60 * NS_PER_S;

/** __ip_vs_lblc_schedule / __ip_vs_lblcr_schedule: weighted least connection over the list. */
export function wlcOverList(list: readonly IpvsDest[]): IpvsDest | null {
  let i = 0;
  let least: IpvsDest | null = null;
  let loh = 0;
  for (; i < list.length; i++) {
    const d = list[i]!;
    if (d.overloaded) continue;
    if (d.weight > 0) {
      least = d;
      loh = d.overhead();
      break;
    }
  }
  if (!least) return null;
  for (i = i + 1; i < list.length; i++) {
    const d = list[i]!;
    if (d.overloaded) continue;
    const doh = d.overhead();
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** is_overloaded of lblc/lblcr: more active than its weight while some server is under half. */
export function lblcOverloaded(dest: IpvsDest, svc: SchedService): boolean {
  if (dest.activeconns > dest.weight) {
    for (const d of svc.dests) if (d.activeconns * 2 < d.weight) return true;
  }
  return false;
}

/**
 * Locality-based least connection, as ip_vs_lblc.c: a cache from destination address to
 * server; the cached server is kept while available, weighted and not overloaded in lblc's
 * sense, otherwise wlc picks a new one and the cache is updated. (The periodic garbage
 * collection of idle cache entries is not modelled: it never changes a choice for an entry
 * that is still being used.)
 */
export class LblcScheduler implements Scheduler {
  readonly name = 'lblc';
  readonly cache = new Map<number, { dest: IpvsDest; lastuse: Nanos }>();

  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    const en = this.cache.get(pkt.daddr);
    if (en) {
      en.lastuse = pkt.now;
      const d = en.dest;
      if (d.available && d.weight > 0 && !lblcOverloaded(d, svc)) return { dest: d, why: pkt.explain ? `lblc: cached ${destName(d)} for ${fmt(pkt.daddr)}` : '' };
    }
    const d = wlcOverList(svc.dests);
    if (!d) return { dest: null, why: 'lblc: no destination available' };
    if (!en || en.dest !== d) this.cache.set(pkt.daddr, { dest: d, lastuse: pkt.now });
    return { dest: d, why: pkt.explain ? `lblc: ${en ? 'cache entry invalid' : 'no cache entry'}, wlc chose ${destName(d)} for ${fmt(pkt.daddr)}` : '' };
  }
}

export function fmt(a: number): string {
  return `${(a >>> 24) & 255}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
