import { Ipvs, IP_VS_CONN_F_MASQ, IPPROTO_TCP, type IpvsPacketInfo, type ServiceKey, type ServiceSpec } from '../../src/ipvs/index.js';
import { parseIpv4, type Ipv4Addr } from '../../src/wire/ipv4-address.js';

export const ip = parseIpv4;

/** A model with a settable clock (nanoseconds). */
export function model(): { ipvs: Ipvs; clock: { t: number } } {
  const clock = { t: 0 };
  const ipvs = new Ipvs({ clock: () => clock.t });
  return { ipvs, clock };
}

export function syn(saddr: Ipv4Addr, sport: number, daddr: Ipv4Addr, dport: number, extra: Partial<IpvsPacketInfo> = {}): IpvsPacketInfo {
  return { protocol: IPPROTO_TCP, saddr, daddr, sport, dport, tcpFlags: 0x02, length: 60, mark: 0, laterFragment: false, ctConfirmed: false, ...extra };
}

export function tcp(flags: number, saddr: Ipv4Addr, sport: number, daddr: Ipv4Addr, dport: number, extra: Partial<IpvsPacketInfo> = {}): IpvsPacketInfo {
  return { ...syn(saddr, sport, daddr, dport, extra), tcpFlags: flags };
}

export interface DestDef {
  readonly name: string;
  readonly addr: string;
  readonly port?: number;
  readonly weight?: number;
  readonly active?: number;
  readonly inactive?: number;
}

/** Adds real servers in the order given (the kernel puts each new one at the head). */
export function addDests(ipvs: Ipvs, key: ServiceKey, defs: readonly DestDef[], port = 80): Map<number, string> {
  const names = new Map<number, string>();
  for (const d of defs) {
    const dest = ipvs.addDest(key, { addr: ip(d.addr), port: d.port ?? port, fwd: IP_VS_CONN_F_MASQ, weight: d.weight ?? 1 });
    dest.activeconns = d.active ?? 0;
    dest.inactconns = d.inactive ?? 0;
    names.set(dest.addr, d.name);
  }
  return names;
}

export function svcSpec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return { protocol: IPPROTO_TCP, addr: ip('10.43.0.10'), port: 80, scheduler: 'rr', ...over };
}
