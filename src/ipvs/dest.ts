import type { Ipv4Addr } from '../wire/ipv4-address.js';
import {
  IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_NOOUTPUT, IP_VS_DEST_F_AVAILABLE,
  IP_VS_DEST_F_OVERLOAD,
} from './constants.js';
import { IpvsStats } from './stats.js';

/** What `ipvsadm -a/-e` (IPVS_CMD_NEW_DEST / SET_DEST) says about a real server. */
export interface DestSpec {
  readonly addr: Ipv4Addr;
  readonly port: number;
  /** Forwarding method, IP_VS_CONN_F_MASQ / DROUTE / TUNNEL / LOCALNODE. */
  readonly fwd: number;
  readonly weight: number;
  readonly uThreshold?: number;
  readonly lThreshold?: number;
}

/** A real server (struct ip_vs_dest). Counters are kept exactly as the kernel keeps them. */
export class IpvsDest {
  weight: number;
  /** Latest non-zero weight (last_weight), which the mh scheduler fills its table by. */
  lastWeight: number;
  uThreshold: number;
  lThreshold: number;
  /** IP_VS_DEST_F_AVAILABLE | IP_VS_DEST_F_OVERLOAD. */
  flags = 0;
  /** Flags given to each new connection (dest->conn_flags): method | INACTIVE [| NOOUTPUT]. */
  connFlags = 0;
  activeconns = 0;
  inactconns = 0;
  persistconns = 0;
  readonly stats = new IpvsStats();
  /** Connections and templates still pointing here (kept after deletion, as the trash). */
  refcnt = 0;
  /** The service it belongs to (dest->svc), typed loosely to keep dest.ts free of service.ts. */
  svc: object | undefined = undefined;

  constructor(
    readonly addr: Ipv4Addr,
    readonly port: number,
    spec: DestSpec,
  ) {
    this.weight = spec.weight;
    this.lastWeight = spec.weight;
    this.uThreshold = spec.uThreshold ?? 0;
    this.lThreshold = spec.lThreshold ?? 0;
  }

  get fwd(): number {
    return this.connFlags & IP_VS_CONN_F_FWD_MASK;
  }

  get available(): boolean {
    return (this.flags & IP_VS_DEST_F_AVAILABLE) !== 0;
  }

  get overloaded(): boolean {
    return (this.flags & IP_VS_DEST_F_OVERLOAD) !== 0;
  }

  /** ip_vs_dest_totalconns. */
  totalconns(): number {
    return this.activeconns + this.inactconns;
  }

  /** ip_vs_dest_conn_overhead: activeconns*256 + inactconns, as lc/wlc/lblc weigh them. */
  overhead(): number {
    return this.activeconns * 256 + this.inactconns;
  }

  /**
   * __ip_vs_update_dest: weight, method, thresholds; the dest becomes available and an
   * overload is cleared when the upper threshold is removed or raised.
   */
  update(spec: DestSpec, add: boolean): void {
    let conn = (spec.fwd & IP_VS_CONN_F_FWD_MASK) | IP_VS_CONN_F_INACTIVE;
    if ((conn & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_MASQ) conn |= IP_VS_CONN_F_NOOUTPUT;
    this.connFlags = conn;
    this.weight = spec.weight;
    if (add || spec.weight !== 0) this.lastWeight = spec.weight;
    this.flags |= IP_VS_DEST_F_AVAILABLE;
    const u = spec.uThreshold ?? 0;
    if (u === 0 || u > this.uThreshold) this.flags &= ~IP_VS_DEST_F_OVERLOAD;
    this.uThreshold = u;
    this.lThreshold = spec.lThreshold ?? 0;
  }
}
