import type { Nanos } from '../../sim/clock.js';
import type { IpvsDest } from '../dest.js';
import { fmt, LBLC_DEFAULT_EXPIRATION, lblcOverloaded, wlcOverList } from './lblc.js';
import { destName, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

interface DestSet {
  /** Newest first (list_add_rcu). */
  list: IpvsDest[];
  lastmod: Nanos;
}

/**
 * Locality-based least connection with replication, as ip_vs_lblcr.c: each destination
 * address maps to a set of servers; the least loaded (wlc) available one in the set is used;
 * when it is overloaded a wlc pick over all servers joins the set; a set of more than one
 * that has not changed for lblcr_expiration loses its most loaded member.
 */
export class LblcrScheduler implements Scheduler {
  readonly name = 'lblcr';
  readonly cache = new Map<number, { set: DestSet; lastuse: Nanos }>();
  expiration: Nanos = LBLC_DEFAULT_EXPIRATION;

  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    const en = this.cache.get(pkt.daddr);
    if (en) {
      en.lastuse = pkt.now;
      let d = setMin(en.set);
      if (en.set.list.length > 1 && pkt.now > en.set.lastmod + this.expiration) {
        const m = setMax(en.set);
        if (m) {
          en.set.list.splice(en.set.list.indexOf(m), 1);
          en.set.lastmod = pkt.now;
        }
      }
      if (d && !lblcOverloaded(d, svc)) return { dest: d, why: pkt.explain ? `lblcr: least loaded of the set for ${fmt(pkt.daddr)} -> ${destName(d)}` : '' };
      d = wlcOverList(svc.dests);
      if (!d) return { dest: null, why: 'lblcr: no destination available' };
      if (!en.set.list.includes(d)) {
        en.set.list.unshift(d);
        en.set.lastmod = pkt.now;
      }
      return { dest: d, why: pkt.explain ? `lblcr: set for ${fmt(pkt.daddr)} overloaded, wlc added ${destName(d)}` : '' };
    }
    const d = wlcOverList(svc.dests);
    if (!d) return { dest: null, why: 'lblcr: no destination available' };
    this.cache.set(pkt.daddr, { set: { list: [d], lastmod: pkt.now }, lastuse: pkt.now });
    return { dest: d, why: pkt.explain ? `lblcr: new set for ${fmt(pkt.daddr)} with ${destName(d)}` : '' };
  }
}

/** ip_vs_dest_set_min. */
function setMin(set: DestSet): IpvsDest | null {
  const l = set.list;
  let i = 0;
  let least: IpvsDest | null = null;
  let loh = 0;
  for (; i < l.length; i++) {
    const d = l[i]!;
    if (d.overloaded) continue;
    if (d.weight > 0 && d.available) {
      least = d;
      loh = d.overhead();
      break;
    }
  }
  if (!least) return null;
  for (i = i + 1; i < l.length; i++) {
    const d = l[i]!;
    if (d.overloaded) continue;
    const doh = d.overhead();
    if (loh * d.weight > doh * least.weight && d.available) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** ip_vs_dest_set_max. */
function setMax(set: DestSet): IpvsDest | null {
  const l = set.list;
  let i = 0;
  let most: IpvsDest | null = null;
  let moh = 0;
  for (; i < l.length; i++) {
    const d = l[i]!;
    if (d.weight > 0) {
      most = d;
      moh = d.overhead();
      break;
    }
  }
  if (!most) return null;
  for (i = i + 1; i < l.length; i++) {
    const d = l[i]!;
    const doh = d.overhead();
    if (moh * d.weight < doh * most.weight && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}
