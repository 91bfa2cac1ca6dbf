import type { Nanos } from '../../sim/clock.js';
import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import type { IpvsDest } from '../dest.js';

/**
 * What a scheduler sees of the service (struct ip_vs_service): the destination list in
 * kernel order (index 0 is the first entry after the list head, i.e. the most recently
 * added server, since ip_vs_add_dest uses list_add_rcu) and the flags.
 */
export interface SchedService {
  readonly dests: readonly IpvsDest[];
  readonly flags: number;
}

/** The packet fields schedulers read (struct ip_vs_iphdr + the ports). */
export interface SchedPacket {
  readonly protocol: number;
  readonly saddr: Ipv4Addr;
  readonly sport: number;
  readonly daddr: Ipv4Addr;
  readonly dport: number;
  /** Simulated time, for lblc/lblcr's lastuse and expiration. */
  readonly now: Nanos;
  /** Build the `why` text (only when tracing: formatting costs more than the choice). */
  readonly explain: boolean;
}

/** The choice and why, for trace events: rr position, wrr current weight, sh bucket, ... */
export interface SchedChoice {
  readonly dest: IpvsDest | null;
  readonly why: string;
}

/**
 * One scheduler instance per service (struct ip_vs_scheduler + svc->sched_data). The hooks
 * mirror the kernel's: add/del/upd_dest are called after the list changed; `index` in
 * delDest is where the removed dest was.
 */
export interface Scheduler {
  readonly name: string;
  addDest?(svc: SchedService, dest: IpvsDest): void;
  delDest?(svc: SchedService, dest: IpvsDest, index: number): void;
  updDest?(svc: SchedService, dest: IpvsDest): void;
  schedule(svc: SchedService, pkt: SchedPacket): SchedChoice;
}

export function destName(d: IpvsDest): string {
  return `${(d.addr >>> 24) & 255}.${(d.addr >>> 16) & 255}.${(d.addr >>> 8) & 255}.${d.addr & 255}:${d.port}`;
}

/** hash_32(val, bits) from include/linux/hash.h: multiply by GOLDEN_RATIO_32, keep the top bits. */
export function hash32(val: number, bits: number): number {
  return (Math.imul(val >>> 0, 0x61c88647) >>> 0) >>> (32 - bits);
}

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
