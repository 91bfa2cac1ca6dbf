import type { Ipv4Addr } from '../wire/ipv4-address.js';
import { AF_INET, IP_VS_SVC_F_HASHED, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, NS_PER_S } from './constants.js';
import type { IpvsDest } from './dest.js';
import type { Scheduler } from './sched/index.js';
import { IpvsStats } from './stats.js';

/** What `ipvsadm -A/-E` (IPVS_CMD_NEW_SERVICE / SET_SERVICE) says about a virtual service. */
export interface ServiceSpec {
  /** TCP, UDP or SCTP; for a fwmark service ipvsadm sends TCP, as the kernel needs one. */
  readonly protocol: number;
  readonly addr: Ipv4Addr;
  readonly port: number;
  /** Non-zero for a firewall-mark service (addr and port then unused). */
  readonly fwmark?: number;
  readonly scheduler: string;
  /** IP_VS_SVC_F_PERSISTENT | ONEPACKET | SCHED1..3. */
  readonly flags?: number;
  /** Persistence timeout in seconds (ipvsadm -p). */
  readonly timeout?: number;
  /** Persistence granularity as a u32 netmask (ipvsadm -M), 255.255.255.255 by default. */
  readonly netmask?: number;
  /** Persistence engine name (--pe), e.g. `sip`; recorded and printed only. */
  readonly pe?: string;
}

/** Identifies a service as ipvsadm does: protocol+address+port, or fwmark. */
export type ServiceKey =
  | { readonly protocol: number; readonly addr: Ipv4Addr; readonly port: number; readonly fwmark?: 0 | undefined }
  | { readonly fwmark: number; readonly protocol?: number; readonly addr?: Ipv4Addr; readonly port?: number };

/** A virtual service (struct ip_vs_service). */
export class IpvsService {
  readonly af = AF_INET;
  readonly protocol: number;
  readonly addr: Ipv4Addr;
  readonly port: number;
  readonly fwmark: number;
  flags: number;
  /** Persistence timeout in simulated nanoseconds (svc->timeout is in jiffies). */
  timeout: number;
  netmask: number;
  schedName: string;
  scheduler: Scheduler;
  pe: string;
  /** Destination list in kernel order: index 0 is the newest (list_add_rcu at the head). */
  readonly dests: IpvsDest[] = [];
  readonly stats = new IpvsStats();
  /** Insertion sequence, for the kernel's hash-chain order in `ipvsadm --nosort`. */
  readonly seq: number;

  constructor(spec: ServiceSpec, bind: (svc: IpvsService) => Scheduler, seq: number) {
    this.protocol = spec.protocol;
    this.addr = spec.fwmark ? (0 as Ipv4Addr) : spec.addr;
    this.port = spec.fwmark ? 0 : spec.port;
    this.fwmark = spec.fwmark ?? 0;
    this.flags = (spec.flags ?? 0) | IP_VS_SVC_F_HASHED;
    this.timeout = (spec.timeout ?? 0) * NS_PER_S;
    this.netmask = (spec.netmask ?? 0xffffffff) >>> 0;
    this.schedName = spec.scheduler;
    this.pe = spec.pe ?? '';
    this.seq = seq;
    this.scheduler = bind(this);
  }

  /** Persistence timeout in seconds, as ipvsadm reads it back. */
  get timeoutSeconds(): number {
    return Math.floor(this.timeout / NS_PER_S);
  }

  findDest(addr: Ipv4Addr, port: number): IpvsDest | undefined {
    for (const d of this.dests) if (d.addr === addr && d.port === port) return d;
    return undefined;
  }
}

/** The lookup key of a <protocol, addr, port> service, unique per protocol/address/port. */
export function serviceKey(protocol: number, addr: number, port: number): number {
  const p = protocol === IPPROTO_TCP ? 0 : protocol === IPPROTO_UDP ? 1 : protocol === IPPROTO_SCTP ? 2 : 3;
  return (addr >>> 0) * 0x40000 + p * 0x10000 + port;
}

/** IP_VS_SVC_TAB_BITS: the kernel chains services in 256 buckets. */
export const IP_VS_SVC_TAB_BITS = 8;

/**
 * ip_vs_svc_hashkey (with the netns pointer term taken as 0): the bucket a service lives in,
 * which decides `ipvsadm -L --nosort` order and the kernel's chain length.
 */
export function svcHashBucket(protocol: number, addr: number, port: number): number {
  return ((protocol ^ (addr >>> 0) ^ (port >>> IP_VS_SVC_TAB_BITS) ^ port) & ((1 << IP_VS_SVC_TAB_BITS) - 1)) >>> 0;
}

/** ip_vs_svc_fwm_hashkey. */
export function fwmHashBucket(fwmark: number): number {
  return fwmark & ((1 << IP_VS_SVC_TAB_BITS) - 1);
}
