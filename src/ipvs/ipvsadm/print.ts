import { formatIpv4 } from '../../wire/ipv4-address.js';
import type { IpvsConn } from '../conn.js';
import {
  fwdName, IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_LOCALNODE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_TUNNEL,
  IP_VS_CONN_TAB_SIZE, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3, IP_VS_SVC_F_SCHED_MASK, IP_VS_VERSION, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, NS_PER_S, protocolName,
} from '../constants.js';
import type { IpvsDest } from '../dest.js';
import type { Ipvs } from '../ipvs.js';
import { fwmHashBucket, svcHashBucket, type IpvsService } from '../service.js';
import { SERVICES_BY_PORT } from './services.js';

/**
 * `ipvsadm` listings in ipvsadm 1.31's exact layout (ipvsadm.c print_title,
 * print_service_entry, print_largenum, list_conn/print_conn, list_timeout). Only numeric
 * output (-n) exists here: there is no resolver to ask for names.
 */
export interface ListOptions {
  /** -n. Without it ports are named from /etc/services (addresses stay numeric: no resolver). */
  readonly numeric?: boolean;
  readonly stats?: boolean;
  readonly rate?: boolean;
  readonly thresholds?: boolean;
  readonly persistentConn?: boolean;
  readonly exact?: boolean;
  readonly nosort?: boolean;
}

/** `ipvsadm -Ln [--stats|--rate|--thresholds|--persistent-conn] [--exact] [--nosort]`. */
export function ipvsadmList(ipvs: Ipvs, opts: ListOptions = {}): string {
  ipvs.tick();
  const out: string[] = [`IP Virtual Server version ${IP_VS_VERSION} (size=${IP_VS_CONN_TAB_SIZE})\n`];
  out.push(title(opts));
  for (const svc of orderServices(ipvs.services(), opts.nosort ?? false)) out.push(serviceEntry(ipvs, svc, opts, false));
  return out.join('');
}

/** `ipvsadm -L -t|-u|-f service` (list_service): the title and one service, no version line. */
export function ipvsadmListService(ipvs: Ipvs, svc: IpvsService, opts: ListOptions = {}): string {
  ipvs.tick();
  return title(opts) + serviceEntry(ipvs, svc, opts, false);
}

/** `ipvsadm -Sn` (= `ipvsadm-save -n`). */
export function ipvsadmSave(ipvs: Ipvs, opts: { nosort?: boolean; numeric?: boolean } = {}): string {
  ipvs.tick();
  const o = { numeric: opts.numeric ?? true };
  return orderServices(ipvs.services(), opts.nosort ?? false).map((s) => serviceEntry(ipvs, s, o, true)).join('');
}

/** `ipvsadm -Ln --timeout`. */
export function ipvsadmTimeout(ipvs: Ipvs): string {
  const t = ipvs.getTimeout();
  return `Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`;
}

/** `ipvsadm -Lnc [--persistent-conn]`: the connection table as /proc/net/ip_vs_conn gives it. */
export function ipvsadmListConn(ipvs: Ipvs, opts: { persistentConn?: boolean; numeric?: boolean } = {}): string {
  const conns = ipvs.connections();
  const now = ipvs.clock();
  const out: string[] = ['IPVS connection entries\n'];
  if (opts.persistentConn) {
    out.push(`pro expire ${padR('state', 11)} ${padR('source', 18)} ${padR('virtual', 18)} ${padR('destination', 18)} ${padR('pe name', 16)} pe_data\n`);
  } else {
    out.push(`pro expire ${padR('state', 11)} ${padR('source', 18)} ${padR('virtual', 18)} destination\n`);
  }
  for (const cp of conns) out.push(connLine(cp, now, opts.numeric ?? true));
  return out.join('');
}

function connLine(cp: IpvsConn, now: number, numeric: boolean): string {
  // ip_vs_conn_seq_show: seconds left, truncated (jiffies_delta_to_msecs / 1000).
  const left = Math.max(0, Math.floor((cp.expires - now) / NS_PER_S));
  const expire = `${pad0(Math.floor(left / 60))}:${pad0(left % 60)}`;
  const c = addrPort(cp.caddr, cp.cport, cp.protocol, numeric);
  const v = addrPort(cp.vaddr, cp.vport, cp.protocol, numeric);
  const d = addrPort(cp.daddr, cp.dport, cp.protocol, numeric);
  return `${padR(protocolName(cp.protocol), 3)} ${padR(expire, 6)} ${padR(cp.stateName(), 11)} ${padR(c, 18)} ${padR(v, 18)} ${d}\n`;
}

function title(o: ListOptions): string {
  if (o.stats) {
    return `${padR('Prot LocalAddress:Port', 33)} ${padL('Conns', 8)} ${padL('InPkts', 8)} ${padL('OutPkts', 8)} ${padL('InBytes', 8)} ${padL('OutBytes', 8)}\n  -> RemoteAddress:Port\n`;
  }
  if (o.rate) {
    return `${padR('Prot LocalAddress:Port', 33)} ${padL('CPS', 8)} ${padL('InPPS', 8)} ${padL('OutPPS', 8)} ${padL('InBPS', 8)} ${padL('OutBPS', 8)}\n  -> RemoteAddress:Port\n`;
  }
  if (o.thresholds) {
    return `${padR('Prot LocalAddress:Port', 33)} ${padR('Uthreshold', 10)} ${padR('Lthreshold', 10)} ${padR('ActiveConn', 10)} ${padR('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  }
  if (o.persistentConn) {
    return `${padR('Prot LocalAddress:Port', 33)} ${padR('Weight', 9)} ${padR('PersistConn', 11)} ${padR('ActiveConn', 10)} ${padR('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  }
  return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

function serviceEntry(ipvs: Ipvs, se: IpvsService, o: ListOptions, rule: boolean): string {
  let svcName: string;
  if (se.fwmark) {
    svcName = rule ? `-f ${se.fwmark}` : `FWM  ${se.fwmark}`;
  } else {
    const vname = addrPort(se.addr, se.port, se.protocol, o.numeric ?? true);
    if (rule) svcName = `${optionFromProtocol(se.protocol)} ${vname}`;
    else svcName = `${padR(protocolNameOpt(se.protocol), 4)} ${vname}`.slice(0, 33);
  }
  let line: string;
  const schedFlags = se.flags & IP_VS_SVC_F_SCHED_MASK ? printSchedFlags(se) : '';
  if (rule) {
    line = `-A ${svcName} -s ${se.schedName}`;
    if (se.flags & IP_VS_SVC_F_PERSISTENT) {
      line += ` -p ${se.timeoutSeconds}`;
      if (se.netmask !== 0xffffffff) line += ` -M ${formatIpv4(se.netmask)}`;
    }
    if (se.pe) line += ` --pe ${se.pe}`;
    if (se.flags & IP_VS_SVC_F_ONEPACKET) line += ' -o';
    if (se.flags & IP_VS_SVC_F_SCHED_MASK) line += ` -b ${schedFlags}`;
  } else if (o.stats) {
    line = padR(svcName, 33) + largenums([se.stats.conns, se.stats.inpkts, se.stats.outpkts, se.stats.inbytes, se.stats.outbytes], o);
  } else if (o.rate) {
    const r = ipvs.syncStats(se.stats).rates();
    line = padR(svcName, 33) + largenums([r.cps, r.inpps, r.outpps, r.inbps, r.outbps], o);
  } else {
    line = `${svcName} ${se.schedName}`;
    if (se.flags & IP_VS_SVC_F_SCHED_MASK) line += ` (${schedFlags})`;
    if (se.flags & IP_VS_SVC_F_PERSISTENT) {
      line += ` persistent ${se.timeoutSeconds}`;
      if (se.netmask !== 0xffffffff) line += ` mask ${formatIpv4(se.netmask)}`;
      if (se.pe) line += ` pe ${se.pe}`;
    }
    if (se.flags & IP_VS_SVC_F_ONEPACKET) line += ' ops';
  }
  const out: string[] = [line + '\n'];
  const dests = o.nosort ? se.dests.slice() : msort(se.dests.slice(), cmpDests);
  for (const e of dests) {
    let dname = addrPort(e.addr, e.port, se.protocol, o.numeric ?? true);
    if (rule) {
      out.push(destRule(svcName, dname, e));
      continue;
    }
    dname = dname.slice(0, 28);
    if (o.stats) {
      out.push(`  -> ${padR(dname, 28)}${largenums([e.stats.conns, e.stats.inpkts, e.stats.outpkts, e.stats.inbytes, e.stats.outbytes], o)}\n`);
    } else if (o.rate) {
      const r = ipvs.syncStats(e.stats).rates();
      out.push(`  -> ${padR(dname, 28)} ${padL(String(r.cps), 8)} ${padL(String(r.inpps), 8)} ${padL(String(r.outpps), 8)}${largenums([r.inbps, r.outbps], o)}\n`);
    } else if (o.thresholds) {
      out.push(`  -> ${padR(dname, 28)} ${padR(String(e.uThreshold), 10)} ${padR(String(e.lThreshold), 10)} ${padR(String(e.activeconns), 10)} ${padR(String(e.inactconns), 10)}\n`);
    } else if (o.persistentConn) {
      out.push(`  -> ${padR(dname, 28)} ${padR(String(e.weight), 9)} ${padR(String(e.persistconns), 11)} ${padR(String(e.activeconns), 10)} ${padR(String(e.inactconns), 10)}\n`);
    } else {
      out.push(`  -> ${padR(dname, 28)} ${padR(fwdName(e.connFlags), 7)} ${padR(String(e.weight), 6)} ${padR(String(e.activeconns), 10)} ${padR(String(e.inactconns), 10)}\n`);
    }
  }
  return out.join('');
}

function destRule(svcName: string, dname: string, e: IpvsDest): string {
  const fwd = e.connFlags & IP_VS_CONN_F_FWD_MASK;
  // print_tunnel_rule: an ipip tunnel (the only type modelled) says so.
  if (fwd === IP_VS_CONN_F_TUNNEL) return `-a ${svcName} -r ${dname} ${fwdSwitch(fwd)} -w ${e.weight} --tun-type ipip\n`;
  return `-a ${svcName} -r ${dname} ${fwdSwitch(fwd)} -w ${e.weight}\n`;
}

function fwdSwitch(fwd: number): string {
  switch (fwd) {
    case IP_VS_CONN_F_MASQ:
      return '-m';
    case IP_VS_CONN_F_TUNNEL:
      return '-i';
    case IP_VS_CONN_F_LOCALNODE:
    case IP_VS_CONN_F_DROUTE:
      return '-g';
    default:
      return '(null)';
  }
}

/** print_sched_flags. */
function printSchedFlags(se: IpvsService): string {
  const f: string[] = [];
  if (se.schedName === 'sh') {
    if (se.flags & IP_VS_SVC_F_SCHED1) f.push('sh-fallback');
    if (se.flags & IP_VS_SVC_F_SCHED2) f.push('sh-port');
  } else if (se.schedName === 'mh') {
    if (se.flags & IP_VS_SVC_F_SCHED1) f.push('mh-fallback');
    if (se.flags & IP_VS_SVC_F_SCHED2) f.push('mh-port');
  } else {
    if (se.flags & IP_VS_SVC_F_SCHED1) f.push('flag-1');
    if (se.flags & IP_VS_SVC_F_SCHED2) f.push('flag-2');
    if (se.flags & IP_VS_SVC_F_SCHED3) f.push('flag-3');
  }
  return f.join(',');
}

function optionFromProtocol(p: number): string {
  return p === IPPROTO_TCP ? '-t' : p === IPPROTO_UDP ? '-u' : p === IPPROTO_SCTP ? '--sctp-service' : '--xxx-service';
}

function protocolNameOpt(p: number): string {
  return p === IPPROTO_TCP || p === IPPROTO_UDP || p === IPPROTO_SCTP ? protocolName(p) : '?';
}

/** print_largenum for each value. */
function largenums(vals: readonly number[], o: ListOptions): string {
  return vals.map((v) => largenum(v, o.exact ?? false)).join('');
}

export function largenum(i: number, exact: boolean): string {
  if (exact) {
    const s = String(i);
    return padL(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (i < 100000000) return padL(String(i), 9);
  if (i < 1000000000) return padL(String(Math.floor(i / 1000)), 8) + 'K';
  if (i < 100000000000) return padL(String(Math.floor(i / 1000000)), 8) + 'M';
  if (i < 100000000000000) return padL(String(Math.floor(i / 1000000000)), 8) + 'G';
  return padL(String(Math.floor(i / 1000000000000)), 8) + 'T';
}

/** C's `int r = a - b` on unsigned 32-bit values: the difference wraps to a signed int. */
function cdiff32(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}

/** ipvs_cmp_services (libipvs.c). */
export function cmpServices(s1: IpvsService, s2: IpvsService): number {
  let r = cdiff32(s1.fwmark, s2.fwmark);
  if (r !== 0) return r;
  r = s1.af - s2.af;
  if (r !== 0) return r;
  r = s1.protocol - s2.protocol;
  if (r !== 0) return r;
  r = cdiff32(s1.addr, s2.addr);
  if (r !== 0) return r;
  return s1.port - s2.port;
}

/** ipvs_cmp_dests (libipvs.c). */
export function cmpDests(d1: IpvsDest, d2: IpvsDest): number {
  const r = cdiff32(d1.addr, d2.addr);
  if (r !== 0) return r;
  return d1.port - d2.port;
}

/**
 * glibc's qsort (msort_with_tmp: top-down merge sort taking from the left run while
 * cmp <= 0). With ipvsadm's wrapping comparator the result depends on the algorithm, so
 * the same one is used.
 */
export function msort<T>(a: T[], cmp: (x: T, y: T) => number): T[] {
  if (a.length <= 1) return a;
  const n1 = a.length >>> 1;
  const left = msort(a.slice(0, n1), cmp);
  const right = msort(a.slice(n1), cmp);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < left.length && j < right.length) a[k++] = cmp(left[i]!, right[j]!) <= 0 ? left[i++]! : right[j++]!;
  while (i < left.length) a[k++] = left[i++]!;
  while (j < right.length) a[k++] = right[j++]!;
  return a;
}

/**
 * Service order: sorted as ipvsadm does, or with --nosort as the kernel dumps them (hash
 * buckets in order, newest first in a bucket; fwmark services after).
 */
function orderServices(svcs: IpvsService[], nosort: boolean): IpvsService[] {
  if (!nosort) return msort(svcs, cmpServices);
  const key = (s: IpvsService): number => (s.fwmark ? 256 + fwmHashBucket(s.fwmark) : svcHashBucket(s.protocol, s.addr, s.port));
  return svcs.slice().sort((a, b) => key(a) - key(b) || b.seq - a.seq);
}

/** addrport_to_anyname: numeric, or with the port named by getservbyport. */
function addrPort(addr: number, port: number, protocol: number, numeric: boolean): string {
  if (numeric) return `${formatIpv4(addr)}:${port}`;
  const proto = protocol === IPPROTO_UDP ? 'udp' : protocol === IPPROTO_SCTP ? 'sctp' : protocol === IPPROTO_TCP ? 'tcp' : '';
  return `${formatIpv4(addr)}:${SERVICES_BY_PORT.get(`${port}/${proto}`) ?? port}`;
}

function padR(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function padL(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function pad0(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}


