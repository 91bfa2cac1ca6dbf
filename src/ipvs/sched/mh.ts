import { IP_VS_SVC_F_SCHED_MH_FALLBACK, IP_VS_SVC_F_SCHED_MH_PORT } from '../constants.js';
import type { IpvsDest } from '../dest.js';
import { hsiphash32 } from '../siphash.js';
import { destName, gcd, type SchedChoice, type SchedPacket, type SchedService, type Scheduler } from './scheduler.js';

/** The table sizes CONFIG_IP_VS_MH_TAB_INDEX 8..17 selects (ip_vs_mh.c primes[]). */
export const MH_PRIMES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
/** Kconfig default CONFIG_IP_VS_MH_TAB_INDEX=12: primes[12 - 8] = 4093 entries. */
export const MH_DEFAULT_TAB_INDEX = 12;

/** generate_hash_secret: fixed keys, so every node builds the same table. */
const HASH1: readonly [number, number] = [2654435761, 2654435761];
const HASH2: readonly [number, number] = [2654446892, 2654446892];

/** ip_vs_mh_hashkey: hsiphash of (offset + port + addr) as a u32. */
export function mhHashKey(addr: number, port: number, key: readonly [number, number], offset: number): number {
  return hsiphash32((offset + port + addr) >>> 0, key[0], key[1]);
}

/**
 * Maglev hashing, as ip_vs_mh.c: each server gets offset = h1 % M and skip = h2 % (M-1) + 1
 * from its address and port, and fills the lookup table in turns (last_weight / gcd, shifted
 * so the largest fits in IP_VS_MH_TAB_BITS), walking its permutation past taken slots. A
 * packet's slot is h1(source address [+ source port with mh-port]) % M.
 */
export class MhScheduler implements Scheduler {
  readonly name = 'mh';
  readonly size: number;
  private readonly tabBits: number;
  readonly lookup: (IpvsDest | null)[];
  gcd = 0;
  rshift = 0;

  constructor(svc: SchedService, tabIndex = MH_DEFAULT_TAB_INDEX) {
    this.size = MH_PRIMES[tabIndex - 8] ?? 4093;
    this.tabBits = Math.trunc(tabIndex / 2);
    this.lookup = new Array<IpvsDest | null>(this.size).fill(null);
    this.changed(svc);
  }

  private changed(svc: SchedService): void {
    this.gcd = gcdLastWeight(svc);
    this.rshift = this.shiftWeight(svc, this.gcd);
    this.populate(svc);
  }

  private shiftWeight(svc: SchedService, g: number): number {
    if (g < 1) return 0;
    let w = 0;
    for (const d of svc.dests) if (d.lastWeight > w) w = d.lastWeight;
    const mw = Math.trunc(w / g);
    const shift = fls(mw) - this.tabBits;
    return shift >= 0 ? shift : 0;
  }

  /** ip_vs_mh_permutate + ip_vs_mh_populate. */
  private populate(svc: SchedService): void {
    const M = this.size;
    if (this.gcd < 1) {
      this.lookup.fill(null);
      return;
    }
    const list = svc.dests;
    const perm: number[] = [];
    const skip: number[] = [];
    const turns: number[] = [];
    for (const d of list) {
      const offset = mhHashKey(d.addr, d.port, HASH1, 0) % M;
      skip.push((mhHashKey(d.addr, d.port, HASH2, 0) % (M - 1)) + 1);
      perm.push(offset);
      const lw = d.lastWeight;
      const t = Math.trunc(lw / this.gcd) >> this.rshift;
      turns.push(t !== 0 ? t : lw !== 0 ? 1 : 0);
    }
    const taken = new Uint8Array(M);
    let n = 0;
    let dtCount = 0;
    let p = -1;
    while (n < M) {
      if (p === -1) p = 0;
      while (p < list.length) {
        if (turns[p]! < 1) {
          p++;
          continue;
        }
        let c = perm[p]!;
        while (taken[c]) {
          let np = perm[p]! + skip[p]!;
          if (np >= M) np -= M;
          perm[p] = np;
          c = np;
        }
        taken[c] = 1;
        this.lookup[c] = list[p]!;
        if (++n === M) return;
        if (++dtCount >= turns[p]!) {
          dtCount = 0;
          p++;
        }
      }
      p = -1;
    }
  }

  addDest(svc: SchedService): void {
    this.changed(svc);
  }
  delDest(svc: SchedService): void {
    this.changed(svc);
  }
  updDest(svc: SchedService): void {
    this.changed(svc);
  }

  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice {
    const port = svc.flags & IP_VS_SVC_F_SCHED_MH_PORT ? pkt.sport : 0;
    const ihash = mhHashKey(pkt.saddr, port, HASH1, 0) % this.size;
    const d = this.lookup[ihash] ?? null;
    if (!(svc.flags & IP_VS_SVC_F_SCHED_MH_FALLBACK)) {
      if (!d || unavailable(d)) return { dest: null, why: pkt.explain ? `mh: slot ${ihash} has no available destination` : '' };
      return { dest: d, why: pkt.explain ? `mh: slot ${ihash} of ${this.size} -> ${destName(d)}` : '' };
    }
    if (!d) return { dest: null, why: pkt.explain ? `mh: slot ${ihash} empty` : '' };
    if (!unavailable(d)) return { dest: d, why: pkt.explain ? `mh: slot ${ihash} of ${this.size} -> ${destName(d)}` : '' };
    for (let offset = 0; offset < this.size; offset++) {
      const roffset = (offset + ihash) % this.size;
      const hash = mhHashKey(pkt.saddr, port, HASH1, roffset) % this.size;
      const f = this.lookup[hash] ?? null;
      if (!f) break;
      if (!unavailable(f)) return { dest: f, why: pkt.explain ? `mh: slot ${ihash} unavailable, fallback offset ${roffset} slot ${hash} -> ${destName(f)}` : '' };
    }
    return { dest: null, why: pkt.explain ? `mh: slot ${ihash} unavailable, no fallback` : '' };
  }
}

function unavailable(d: IpvsDest): boolean {
  return d.weight <= 0 || d.overloaded;
}

function gcdLastWeight(svc: SchedService): number {
  let g = 0;
  for (const d of svc.dests) {
    const w = d.lastWeight;
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
  }
  return g;
}

/** fls: position of the most significant set bit, 1-based; fls(0) = 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}
