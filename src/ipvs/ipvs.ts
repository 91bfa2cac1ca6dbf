import type { Nanos } from '../sim/clock.js';
import type { TraceSink } from '../sim/trace.js';
import type { Ipv4Addr } from '../wire/ipv4-address.js';
import { formatIpv4 } from '../wire/ipv4-address.js';
import { bindDest, ConnTable, IpvsConn, unbindDest } from './conn.js';
import {
  FTPDATA, FTPPORT, IP_VS_CONN_F_FWD_MASK, IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_MASQ, IP_VS_CONN_F_NFCT,
  IP_VS_CONN_F_NOOUTPUT, IP_VS_CONN_F_ONE_PACKET, IP_VS_CONN_F_TEMPLATE, IP_VS_CTPL_S_ASSURED, IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_PERSISTENT, IPPROTO_IP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, NS_PER_S, protocolName,
} from './constants.js';
import { IpvsDest, type DestSpec } from './dest.js';
import { IpvsError } from './errors.js';
import {
  IP_VS_TCP_S_CLOSE, IP_VS_TCP_S_ESTABLISHED, IP_VS_TCP_S_FIN_WAIT, IP_VS_TCP_S_TIME_WAIT, TCP_DIR_INPUT, TCP_DIR_INPUT_ONLY,
  TCP_DIR_OUTPUT, TCP_STATE_ACTIVE, TCP_STATES, tcpStateIdx, TimeoutTable,
} from './proto.js';
import { makeScheduler, SCHEDULERS, type SchedPacket } from './sched/index.js';
import { IpvsService, serviceKey, type ServiceKey, type ServiceSpec } from './service.js';
import { IPVS_EST_PERIOD, IpvsStats } from './stats.js';
import type { IpvsTraceEvent, IpvsWhere } from './trace.js';

/** net.ipv4.vs.* sysctls that change behaviour here, with the kernel's defaults. */
export class IpvsSysctls {
  /** Keep conntrack entries for IPVS connections (kube-proxy sets 1). */
  conntrack = 0;
  /** Bit 0: reschedule a SYN that hits a TIME_WAIT/CLOSE entry; bit 1: also FIN_WAIT with no output. */
  conn_reuse_mode = 1;
  /** Expire connections to removed or (on a new SYN) weight-0 servers (kube-proxy sets 1). */
  expire_nodest_conn = 0;
  /** Invalidate persistence templates of weight-0 servers (kube-proxy sets 1). */
  expire_quiescent_template = 0;
  /** Schedule TCP on any packet, not only SYN. */
  sloppy_tcp = 0;
  clone(): IpvsSysctls {
    return Object.assign(new IpvsSysctls(), this);
  }
}

/** The packet fields IPVS reads, decoded once by the hook (ip_vs_fill_iph_skb + the ports). */
export interface IpvsPacketInfo {
  readonly protocol: number;
  readonly saddr: Ipv4Addr;
  readonly daddr: Ipv4Addr;
  readonly sport: number;
  readonly dport: number;
  /** TCP flag byte (FIN 0x01 SYN 0x02 RST 0x04 ACK 0x10); 0 for UDP. */
  readonly tcpFlags: number;
  /** skb->len: the IP datagram length, as the byte counters count it. */
  readonly length: number;
  /** skb->mark, for fwmark services. */
  readonly mark: number;
  /** Not the first fragment (iph.fragoffs). */
  readonly laterFragment: boolean;
  /** The packet carries a conntrack entry that is already confirmed (ip_vs_conn_uses_old_conntrack). */
  readonly ctConfirmed: boolean;
}

export type IpvsHook = 'LOCAL_IN' | 'LOCAL_OUT' | 'FORWARD';

/** What ip_vs_in decided for a packet. */
export type InDecision =
  | { readonly kind: 'accept'; readonly reason: string }
  | { readonly kind: 'drop'; readonly reason: string; readonly icmpPortUnreachable: boolean }
  | { readonly kind: 'xmit'; readonly conn: IpvsConn; readonly created: boolean };

/** What ip_vs_out decided: leave the packet alone, or SNAT it back to the virtual address. */
export type OutDecision = { readonly kind: 'accept'; readonly reason: string } | { readonly kind: 'snat'; readonly conn: IpvsConn };

export interface IpvsOptions {
  /** The simulated clock (EventQueue.now). */
  readonly clock: () => Nanos;
  readonly sink?: TraceSink<IpvsTraceEvent> | null;
  /** Default names for trace events when a call gives none. */
  readonly node?: string;
  readonly netns?: string;
  /** Called when an entry expires, so conntrack can drop what IPVS kept (ip_vs_conn_drop_conntrack). */
  readonly onConnExpired?: (conn: IpvsConn) => void;
}

/**
 * The IPVS state of one network namespace (struct netns_ipvs): virtual services, real
 * servers, the connection table and the per-packet logic of ip_vs_core.c, kept apart from
 * packet bytes (hooks.ts decodes and rewrites packets). The control methods are what
 * `ipvsadm` / the generic netlink family can say; errors carry the errno and ipvsadm's text.
 */
export class Ipvs {
  readonly sysctl = new IpvsSysctls();
  readonly timeouts = new TimeoutTable();
  readonly conns = new ConnTable();
  readonly totStats = new IpvsStats();
  sink: TraceSink<IpvsTraceEvent> | null;
  readonly clock: () => Nanos;
  /** ipvs->enable: set by the first service; the hooks do nothing before. */
  enabled = false;
  private readonly byKey = new Map<number, IpvsService>();
  private readonly byFwmark = new Map<number, IpvsService>();
  private svcSeq = 0;
  private ftpsvcCounter = 0;
  private nullsvcCounter = 0;
  /** Time of estimator tick 0. */
  private readonly estStart: Nanos;
  private readonly where: IpvsWhere;
  private readonly onConnExpired: ((conn: IpvsConn) => void) | undefined;

  constructor(opts: IpvsOptions) {
    this.clock = opts.clock;
    this.sink = opts.sink ?? null;
    this.where = { node: opts.node ?? '', netns: opts.netns ?? '' };
    this.estStart = this.clock();
    this.onConnExpired = opts.onConnExpired;
  }

  // ---------------------------------------------------------------- control (ip_vs_ctl.c)

  /** All services, in creation order (ipvsadm sorts them itself). */
  services(): IpvsService[] {
    return [...this.byKey.values(), ...this.byFwmark.values()].sort((a, b) => a.seq - b.seq);
  }

  getService(key: ServiceKey): IpvsService | undefined {
    if (key.fwmark) return this.byFwmark.get(key.fwmark);
    return this.byKey.get(serviceKey(key.protocol ?? IPPROTO_TCP, key.addr ?? 0, key.port ?? 0));
  }

  /** ip_vs_add_service. */
  addService(spec: ServiceSpec): IpvsService {
    this.tick();
    checkProtocol(spec.protocol);
    if (this.getService(spec)) throw new IpvsError('EEXIST', 'Service already exists');
    if (!SCHEDULERS[spec.scheduler]) throw new IpvsError('ENOENT', 'Scheduler or persistence engine not found');
    // The scheduler is bound to the service it serves (ip_vs_bind_scheduler after alloc).
    const svc = new IpvsService(spec, (s) => makeScheduler(spec.scheduler, s)!, this.svcSeq++);
    if (svc.fwmark) this.byFwmark.set(svc.fwmark, svc);
    else {
      this.byKey.set(serviceKey(svc.protocol, svc.addr, svc.port), svc);
      if (svc.port === FTPPORT) this.ftpsvcCounter++;
      else if (svc.port === 0) this.nullsvcCounter++;
    }
    this.enabled = true;
    return svc;
  }

  /** ip_vs_edit_service: scheduler, flags, timeout, netmask, pe. */
  editService(spec: ServiceSpec): IpvsService {
    this.tick();
    const svc = this.getService(spec);
    if (!svc) throw new IpvsError('ESRCH', 'No such service');
    if (!SCHEDULERS[spec.scheduler]) throw new IpvsError('ENOENT', 'Scheduler or persistence engine not found');
    if (spec.scheduler !== svc.schedName) {
      svc.schedName = spec.scheduler;
      svc.scheduler = makeScheduler(spec.scheduler, svc)!;
    }
    svc.flags = (spec.flags ?? 0) | 0x0002;
    svc.timeout = (spec.timeout ?? 0) * NS_PER_S;
    svc.netmask = (spec.netmask ?? 0xffffffff) >>> 0;
    svc.pe = spec.pe ?? '';
    return svc;
  }

  /** ip_vs_del_service: its servers are unlinked; their connections live on until they expire. */
  delService(key: ServiceKey): void {
    this.tick();
    const svc = this.getService(key);
    if (!svc) throw new IpvsError('ESRCH', 'No such service');
    this.unlinkService(svc);
    if (this.sysctl.expire_nodest_conn) this.expireNodestConnFlush();
  }

  private unlinkService(svc: IpvsService): void {
    if (svc.fwmark) this.byFwmark.delete(svc.fwmark);
    else {
      this.byKey.delete(serviceKey(svc.protocol, svc.addr, svc.port));
      if (svc.port === FTPPORT) this.ftpsvcCounter--;
      else if (svc.port === 0) this.nullsvcCounter--;
    }
    for (const d of svc.dests) d.flags &= ~0x0001;
    svc.dests.length = 0;
  }

  /** ip_vs_flush: every service. */
  flush(): void {
    this.tick();
    for (const svc of this.services()) this.unlinkService(svc);
    if (this.sysctl.expire_nodest_conn) this.expireNodestConnFlush();
  }

  /** ip_vs_zero_service / ip_vs_zero_all. */
  zero(key?: ServiceKey): void {
    this.tick();
    if (key) {
      const svc = this.getService(key);
      if (!svc) throw new IpvsError('ESRCH', 'No such service');
      zeroService(svc);
      return;
    }
    for (const svc of this.services()) zeroService(svc);
    this.totStats.zero();
  }

  /** ip_vs_add_dest: the new server goes to the head of the list. */
  addDest(key: ServiceKey, spec: DestSpec): IpvsDest {
    this.tick();
    const svc = this.getService(key);
    if (!svc) throw new IpvsError('ESRCH', 'Service not defined');
    checkDestSpec(spec);
    if (svc.findDest(spec.addr, spec.port)) throw new IpvsError('EEXIST', 'Destination already exists');
    const dest = new IpvsDest(spec.addr, spec.port, spec);
    dest.svc = svc;
    dest.update(spec, true);
    svc.dests.unshift(dest);
    svc.scheduler.addDest?.(svc, dest);
    return dest;
  }

  /** ip_vs_edit_dest (__ip_vs_update_dest with add = 0). */
  editDest(key: ServiceKey, spec: DestSpec): IpvsDest {
    this.tick();
    const svc = this.getService(key);
    if (!svc) throw new IpvsError('ESRCH', 'Service not defined');
    checkDestSpec(spec);
    const dest = svc.findDest(spec.addr, spec.port);
    if (!dest) throw new IpvsError('ENOENT', 'No such destination');
    dest.update(spec, false);
    svc.scheduler.updDest?.(svc, dest);
    return dest;
  }

  /** ip_vs_del_dest: unlinked and no longer available; connections keep pointing at it. */
  delDest(key: ServiceKey, addr: Ipv4Addr, port: number): void {
    this.tick();
    const svc = this.getService(key);
    if (!svc) throw new IpvsError('ESRCH', 'Service not defined');
    const i = svc.dests.findIndex((d) => d.addr === addr && d.port === port);
    if (i < 0) throw new IpvsError('ENOENT', 'No such destination');
    const dest = svc.dests[i]!;
    dest.flags &= ~0x0001;
    svc.dests.splice(i, 1);
    svc.scheduler.delDest?.(svc, dest, i);
    if (this.sysctl.expire_nodest_conn) this.expireNodestConnFlush();
  }

  /** `ipvsadm --set tcp tcpfin udp` (0 leaves a value unchanged). */
  setTimeout(tcp: number, tcpfin: number, udp: number): void {
    if (tcp) this.timeouts.tcp[IP_VS_TCP_S_ESTABLISHED] = tcp * NS_PER_S;
    if (tcpfin) this.timeouts.tcp[IP_VS_TCP_S_FIN_WAIT] = tcpfin * NS_PER_S;
    if (udp) this.timeouts.udp = udp * NS_PER_S;
  }

  getTimeout(): { tcp: number; tcpfin: number; udp: number } {
    return {
      tcp: Math.floor(this.timeouts.tcp[IP_VS_TCP_S_ESTABLISHED]! / NS_PER_S),
      tcpfin: Math.floor(this.timeouts.tcp[IP_VS_TCP_S_FIN_WAIT]! / NS_PER_S),
      udp: Math.floor(this.timeouts.udp / NS_PER_S),
    };
  }

  /** Live connection entries and templates, after running due timers. */
  connections(): IpvsConn[] {
    this.tick();
    return this.conns.all();
  }

  // ---------------------------------------------------------------- timers

  /** Runs everything due by now: connection timers and the 2 s rate estimator. */
  tick(): void {
    const now = this.clock();
    for (;;) {
      const cp = this.conns.popDue(now);
      if (!cp) break;
      this.connExpire(cp, cp.expires);
    }
  }

  /**
   * Everything the kernel's timers would have done by now: due entries expire and every rate
   * estimator is brought up to date (estimation_timer over all services). The packet path only
   * catches up the counters it touches.
   */
  runTimers(): void {
    this.tick();
    const t = this.estTick();
    for (const svc of this.services()) {
      svc.stats.catchUp(t);
      for (const d of svc.dests) d.stats.catchUp(t);
    }
    this.totStats.catchUp(t);
  }

  /** Estimator ticks due by now (estimation_timer every 2 s). */
  estTick(): number {
    return Math.floor((this.clock() - this.estStart) / IPVS_EST_PERIOD);
  }

  /** Brings a stats block's rate estimator up to now before it is changed or read. */
  syncStats(s: IpvsStats): IpvsStats {
    s.catchUp(this.estTick());
    return s;
  }

  /** ip_vs_conn_expire. */
  private connExpire(cp: IpvsConn, at: Nanos): void {
    if (cp.nControl > 0) {
      // Someone depends on this template: try again in 60 s.
      cp.timeout = 60 * NS_PER_S;
      this.conns.arm(cp, at);
      return;
    }
    this.conns.unhash(cp);
    const ct = cp.control;
    if (ct) {
      ct.nControl--;
      cp.control = null;
    }
    if (cp.flags & IP_VS_CONN_F_NFCT) this.onConnExpired?.(cp);
    unbindDest(cp);
    if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_conn_expire', conn: cp, action: 'expired', text: connText(cp) });
  }

  /** ip_vs_expire_nodest_conn_flush: drop entries whose server was removed. */
  private expireNodestConnFlush(): void {
    for (const cp of this.conns.all()) {
      const dest = cp.dest;
      if (!dest || dest.available || cp.nControl > 0) continue;
      const ctl = cp.control;
      this.connDel(cp);
      if (ctl && ctl.nControl === 0) this.connDel(ctl);
    }
  }

  private connDel(cp: IpvsConn): void {
    if (!cp.hashed) return;
    cp.timeout = 0;
    this.connExpire(cp, this.clock());
  }

  // ---------------------------------------------------------------- packets (ip_vs_core.c)

  /** ip_vs_service_find: fwmark first, then <protocol, addr, port>, FTP, port zero. */
  serviceFind(mark: number, protocol: number, vaddr: Ipv4Addr, vport: number): IpvsService | undefined {
    if (mark) {
      const s = this.byFwmark.get(mark);
      if (s) return s;
    }
    let svc = this.byKey.get(serviceKey(protocol, vaddr, vport));
    if (!svc && protocol === IPPROTO_TCP && this.ftpsvcCounter > 0 && (vport === FTPDATA || vport >= 1024)) {
      svc = this.byKey.get(serviceKey(protocol, vaddr, FTPPORT));
    }
    if (!svc && this.nullsvcCounter > 0) svc = this.byKey.get(serviceKey(protocol, vaddr, 0));
    return svc;
  }

  /**
   * ip_vs_in_hook for TCP and UDP: find or create the connection entry, update its state and
   * counters, and say whether to transmit it to its real server.
   */
  inPacket(p: IpvsPacketInfo, hook: IpvsHook, where: IpvsWhere = this.where): InDecision {
    this.tick();
    if (!this.enabled) return { kind: 'accept', reason: 'no virtual services' };
    if (p.protocol !== IPPROTO_TCP && p.protocol !== IPPROTO_UDP) return { kind: 'accept', reason: `protocol ${p.protocol} not handled` };
    const now = this.clock();
    let cp = this.conns.inGet(p.protocol, p.saddr, p.sport, p.daddr, p.dport);

    if (!p.laterFragment && p.protocol === IPPROTO_TCP && p.tcpFlags & 0x02 && cp) {
      let oldCt = false;
      let resched = false;
      if (this.sysctl.expire_nodest_conn && cp.dest && cp.dest.weight === 0) {
        resched = true;
        oldCt = p.ctConfirmed;
      } else if (this.sysctl.conn_reuse_mode && isNewConnExpected(cp, this.sysctl.conn_reuse_mode)) {
        oldCt = p.ctConfirmed;
        resched = cp.nControl === 0 ? true : !oldCt;
      }
      if (resched) {
        if (!oldCt) cp.flags &= ~IP_VS_CONN_F_NFCT;
        if (cp.nControl === 0) this.conns.expireNow(cp, now);
        if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_in', conn: cp, action: 'rescheduled', text: `SYN on ${cp.stateName()} entry ${connText(cp)}: rescheduled`, ...where });
        if (oldCt) return { kind: 'drop', reason: 'SYN reuses an entry whose conntrack is confirmed', icmpPortUnreachable: false };
        cp = undefined;
      }
    }

    if (cp && cp.dest && !cp.dest.available) {
      if (this.sysctl.expire_nodest_conn) {
        const oldCt = p.ctConfirmed;
        if (!oldCt) cp.flags &= ~IP_VS_CONN_F_NFCT;
        this.conns.expireNow(cp, now);
        if (oldCt) return { kind: 'drop', reason: 'real server removed (expire_nodest_conn)', icmpPortUnreachable: false };
        cp = undefined;
      } else {
        return { kind: 'drop', reason: 'real server removed', icmpPortUnreachable: false };
      }
    }

    let created = false;
    if (!cp) {
      if (p.laterFragment) return { kind: 'accept', reason: 'fragment without an entry' };
      if (p.protocol === IPPROTO_TCP && (p.tcpFlags & 0x04 || !(this.sysctl.sloppy_tcp || p.tcpFlags & 0x02))) {
        return { kind: 'accept', reason: 'no entry and not a SYN' };
      }
      const svc = this.serviceFind(p.mark, p.protocol, p.daddr, p.dport);
      if (!svc) return { kind: 'accept', reason: 'no virtual service' };
      if (this.sink) this.emit({ kind: 'ipvs.service', step: 'ip_vs_service_find', service: svc, text: serviceText(svc), ...where });
      const r = this.schedule(svc, p, hook, where);
      if (!r.cp) {
        if (r.ignored > 0) return { kind: 'accept', reason: 'not scheduled' };
        if (r.ignored < 0) return { kind: 'drop', reason: 'scheduling failed', icmpPortUnreachable: false };
        // ip_vs_leave
        if (svc.port === FTPPORT && p.dport !== FTPPORT) return { kind: 'accept', reason: 'FTP virtual service: other port' };
        if (this.sink) this.emit({ kind: 'ipvs.drop', step: 'ip_vs_leave', reason: 'no destination available', service: svc, verdict: 'DROP', ...where });
        return { kind: 'drop', reason: 'no destination available', icmpPortUnreachable: true };
      }
      cp = r.cp;
      created = true;
    } else {
      if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_conn_in_get', conn: cp, action: 'reused', text: `${connText(cp)} ${cp.stateName()}`, ...where });
    }

    this.inStats(cp, p.length);
    this.setState(cp, 'input', p.tcpFlags);
    cp.inPkts++;
    this.put(cp, now);
    return { kind: 'xmit', conn: cp, created };
  }

  /** ip_vs_out_hook for TCP and UDP: a reply from a real server of a Masq entry is SNATed. */
  outPacket(p: IpvsPacketInfo, _hook: IpvsHook, where: IpvsWhere = this.where): OutDecision {
    this.tick();
    if (!this.enabled) return { kind: 'accept', reason: 'no virtual services' };
    if (p.protocol !== IPPROTO_TCP && p.protocol !== IPPROTO_UDP) return { kind: 'accept', reason: `protocol ${p.protocol} not handled` };
    const cp = this.conns.outGet(p.protocol, p.saddr, p.sport, p.daddr, p.dport);
    if (!cp) return { kind: 'accept', reason: 'no entry' };
    if ((cp.flags & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_MASQ) return { kind: 'accept', reason: 'entry is not Masq' };
    this.outStats(cp, p.length);
    this.setState(cp, 'output', p.tcpFlags);
    this.put(cp, this.clock());
    if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_conn_out_get', conn: cp, action: 'reused', text: `${connText(cp)} ${cp.stateName()}`, ...where });
    return { kind: 'snat', conn: cp };
  }

  /**
   * ip_vs_out_icmp: an ICMP error (unreachable, source quench, time exceeded) a real server
   * sent about a packet of one of our Masq entries. `inner` is the quoted packet (client ->
   * real server, as the server saw it). Answers the entry whose VIP must replace the server's
   * address, or undefined when the error is not about one.
   */
  outIcmp(inner: { protocol: number; saddr: Ipv4Addr; sport: number; daddr: Ipv4Addr; dport: number }, length: number, where: IpvsWhere = this.where): IpvsConn | undefined {
    this.tick();
    if (!this.enabled) return undefined;
    if (inner.protocol !== IPPROTO_TCP && inner.protocol !== IPPROTO_UDP) return undefined;
    const cp = this.conns.outGet(inner.protocol, inner.daddr, inner.dport, inner.saddr, inner.sport);
    if (!cp || (cp.flags & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_MASQ) return undefined;
    this.outStats(cp, length);
    if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_out_icmp', conn: cp, action: 'reused', text: `ICMP error about ${connText(cp)}`, ...where });
    return cp;
  }

  /**
   * ip_vs_in_icmp: an ICMP error sent towards a virtual address about one of our replies
   * (quoted packet: VIP -> client). Answers the Masq entry to forward it to, or undefined
   * (schedule_icmp is 0: no entry is created for it).
   */
  inIcmp(inner: { protocol: number; saddr: Ipv4Addr; sport: number; daddr: Ipv4Addr; dport: number }, length: number, where: IpvsWhere = this.where): IpvsConn | undefined {
    this.tick();
    if (!this.enabled) return undefined;
    if (inner.protocol !== IPPROTO_TCP && inner.protocol !== IPPROTO_UDP) return undefined;
    // The quote is a reply, so client and virtual side are swapped.
    const cp = this.conns.inGet(inner.protocol, inner.daddr, inner.dport, inner.saddr, inner.sport);
    if (!cp || (cp.flags & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_MASQ) return undefined;
    this.inStats(cp, length);
    if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_in_icmp', conn: cp, action: 'reused', text: `ICMP error about ${connText(cp)}`, ...where });
    return cp;
  }

  /** ip_vs_conn_put: restarts the timer; a one-packet entry expires at once. */
  private put(cp: IpvsConn, now: Nanos): void {
    if (cp.flags & IP_VS_CONN_F_ONE_PACKET) {
      cp.timeout = 0;
      this.conns.arm(cp, now);
    } else {
      this.conns.arm(cp, now);
    }
  }

  /** ip_vs_schedule (and ip_vs_sched_persist): `ignored` as the kernel's *ignored. */
  private schedule(svc: IpvsService, p: IpvsPacketInfo, hook: IpvsHook, where: IpvsWhere): { cp: IpvsConn | null; ignored: number } {
    if (p.sport === FTPDATA) return { cp: null, ignored: 1 };
    // Do not schedule replies from a local real server.
    if (hook === 'LOCAL_OUT' && this.conns.inGet(p.protocol, p.daddr, p.dport, p.saddr, p.sport)) return { cp: null, ignored: 1 };
    if (svc.flags & IP_VS_SVC_F_PERSISTENT) return this.schedPersist(svc, p, where);
    if (!svc.fwmark && p.dport !== svc.port) return { cp: null, ignored: 0 };
    const choice = svc.scheduler.schedule(svc, this.schedPacket(p));
    if (this.sink) this.emit({ kind: 'ipvs.schedule', step: `${svc.schedName}_schedule`, service: svc, dest: choice.dest, why: choice.why, ...where });
    const dest = choice.dest;
    if (!dest) return { cp: null, ignored: 0 };
    const flags = svc.flags & IP_VS_SVC_F_ONEPACKET && p.protocol === IPPROTO_UDP ? IP_VS_CONN_F_ONE_PACKET : 0;
    const cp = this.connNew(p.protocol, p.saddr, p.sport, p.daddr, p.dport, dest.addr, dest.port || p.dport, flags, dest, p.mark);
    this.connStats(cp, svc);
    if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_conn_new', conn: cp, action: 'created', text: connText(cp), ...where });
    return { cp, ignored: 0 };
  }

  private schedPersist(svc: IpvsService, p: IpvsPacketInfo, where: IpvsWhere): { cp: IpvsConn | null; ignored: number } {
    const snet = ((p.saddr & svc.netmask) >>> 0) as Ipv4Addr;
    let protocol = p.protocol;
    let vaddr: number = p.daddr;
    let vport = 0;
    if (p.dport === svc.port) {
      if (svc.port !== FTPPORT) vport = p.dport;
    } else if (svc.fwmark) {
      protocol = IPPROTO_IP;
      vaddr = svc.fwmark;
    }
    const now = this.clock();
    let ct = this.conns.templateGet(protocol, snet, vaddr, vport);
    if (ct && !this.checkTemplate(ct, where)) ct = undefined;
    let dest: IpvsDest;
    if (!ct) {
      const choice = svc.scheduler.schedule(svc, this.schedPacket(p));
      if (this.sink) this.emit({ kind: 'ipvs.schedule', step: `${svc.schedName}_schedule`, service: svc, dest: choice.dest, why: choice.why, ...where });
      if (!choice.dest) return { cp: null, ignored: 0 };
      dest = choice.dest;
      const tdport = p.dport === svc.port && svc.port !== FTPPORT ? dest.port : 0;
      ct = this.connNew(protocol, snet, 0, vaddr as Ipv4Addr, vport, dest.addr, tdport, IP_VS_CONN_F_TEMPLATE, dest, p.mark);
      ct.timeout = svc.timeout;
      if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_sched_persist', conn: ct, action: 'template-created', text: connText(ct), ...where });
    } else {
      dest = ct.dest!;
      if (this.sink) this.emit({
        kind: 'ipvs.schedule', step: 'ip_vs_sched_persist', service: svc, dest, template: true,
        why: `persistence template ${formatIpv4(ct.caddr)} -> ${formatIpv4(dest.addr)}:${dest.port}`, ...where,
      });
    }
    let dport = p.dport;
    if (dport === svc.port && dest.port) dport = dest.port;
    const flags = svc.flags & IP_VS_SVC_F_ONEPACKET && p.protocol === IPPROTO_UDP ? IP_VS_CONN_F_ONE_PACKET : 0;
    const cp = this.connNew(p.protocol, p.saddr, p.sport, p.daddr, p.dport, dest.addr, dport, flags, dest, p.mark);
    cp.control = ct;
    ct.nControl++;
    this.conns.arm(ct, now);
    this.connStats(cp, svc);
    if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_conn_new', conn: cp, action: 'created', text: connText(cp), ...where });
    return { cp, ignored: 0 };
  }

  /** ip_vs_check_template: an unusable template is invalidated (ports set to 65535). */
  private checkTemplate(ct: IpvsConn, where: IpvsWhere): boolean {
    const dest = ct.dest;
    if (!dest || !dest.available || (this.sysctl.expire_quiescent_template && dest.weight === 0)) {
      if (ct.vport !== 0xffff) {
        ct.dport = 0xffff;
        ct.vport = 0xffff;
        ct.cport = 0;
      }
      if (this.sink) this.emit({ kind: 'ipvs.conn', step: 'ip_vs_check_template', conn: ct, action: 'template-invalidated', text: connText(ct), ...where });
      return false;
    }
    return true;
  }

  private schedPacket(p: IpvsPacketInfo): SchedPacket {
    return { protocol: p.protocol, saddr: p.saddr, sport: p.sport, daddr: p.daddr, dport: p.dport, now: this.clock(), explain: this.sink !== null };
  }

  /** ip_vs_conn_new. */
  private connNew(
    protocol: number, caddr: Ipv4Addr, cport: number, vaddr: Ipv4Addr, vport: number, daddr: Ipv4Addr, dport: number,
    flags: number, dest: IpvsDest | null, fwmark: number,
  ): IpvsConn {
    const cp = new IpvsConn(protocol, caddr, cport, vaddr, vport, daddr, dport, flags, null, fwmark, this.conns.newSeq());
    if (dest) bindDest(cp, dest);
    if (this.sysctl.conntrack) cp.flags |= IP_VS_CONN_F_NFCT;
    this.conns.hash(cp);
    return cp;
  }

  /** The protocol's state_transition: tcp_states[] for TCP, the single UDP state. */
  private setState(cp: IpvsConn, dir: 'input' | 'output', tcpFlags: number): void {
    if (cp.protocol === IPPROTO_UDP) {
      cp.timeout = this.timeouts.udp;
      if (dir === 'output') assureTemplate(cp);
      return;
    }
    let off = dir === 'input' ? TCP_DIR_INPUT : TCP_DIR_OUTPUT;
    if (cp.flags & IP_VS_CONN_F_NOOUTPUT) {
      if (off === TCP_DIR_OUTPUT) cp.flags &= ~IP_VS_CONN_F_NOOUTPUT;
      else off = TCP_DIR_INPUT_ONLY;
    }
    const idx = tcpStateIdx(tcpFlags);
    const next = idx < 0 ? IP_VS_TCP_S_CLOSE : TCP_STATES[off + idx]![cp.state]!;
    if (next !== cp.state) {
      const dest = cp.dest;
      if (dest) {
        if (!(cp.flags & IP_VS_CONN_F_INACTIVE) && !TCP_STATE_ACTIVE[next]) {
          dest.activeconns--;
          dest.inactconns++;
          cp.flags |= IP_VS_CONN_F_INACTIVE;
        } else if (cp.flags & IP_VS_CONN_F_INACTIVE && TCP_STATE_ACTIVE[next]) {
          dest.activeconns++;
          dest.inactconns--;
          cp.flags &= ~IP_VS_CONN_F_INACTIVE;
        }
      }
      if (next === IP_VS_TCP_S_ESTABLISHED) assureTemplate(cp);
    }
    cp.state = next;
    cp.timeout = this.timeouts.tcp[next]!;
  }

  private inStats(cp: IpvsConn, len: number): void {
    const d = cp.dest;
    if (!d || !d.available) return;
    const t = this.estTick();
    d.stats.catchUp(t);
    this.totStats.catchUp(t);
    d.stats.inpkts++;
    d.stats.inbytes += len;
    const svc = this.serviceOfDest(d);
    if (svc) {
      svc.stats.catchUp(t);
      svc.stats.inpkts++;
      svc.stats.inbytes += len;
    }
    this.totStats.inpkts++;
    this.totStats.inbytes += len;
  }

  private outStats(cp: IpvsConn, len: number): void {
    const d = cp.dest;
    if (!d || !d.available) return;
    const t = this.estTick();
    d.stats.catchUp(t);
    this.totStats.catchUp(t);
    d.stats.outpkts++;
    d.stats.outbytes += len;
    const svc = this.serviceOfDest(d);
    if (svc) {
      svc.stats.catchUp(t);
      svc.stats.outpkts++;
      svc.stats.outbytes += len;
    }
    this.totStats.outpkts++;
    this.totStats.outbytes += len;
  }

  private connStats(cp: IpvsConn, svc: IpvsService): void {
    const t = this.estTick();
    cp.dest!.stats.catchUp(t);
    svc.stats.catchUp(t);
    this.totStats.catchUp(t);
    cp.dest!.stats.conns++;
    svc.stats.conns++;
    this.totStats.conns++;
  }

  /** dest->svc: the service a real server was added to (kept after its removal). */
  private serviceOfDest(d: IpvsDest): IpvsService | undefined {
    return d.svc as IpvsService | undefined;
  }

  emit(e: DistOmit<IpvsTraceEvent, 'time' | 'node' | 'netns'> & { node?: string; netns?: string }): void {
    if (!this.sink) return;
    this.sink.record({ node: this.where.node, netns: this.where.netns, ...e, time: this.clock() } as IpvsTraceEvent);
  }
}

/** Omit over each member of a union. */
type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function isNewConnExpected(cp: IpvsConn, mode: number): boolean {
  if (cp.control) return false;
  if (cp.protocol === IPPROTO_TCP) {
    return cp.state === IP_VS_TCP_S_TIME_WAIT || cp.state === IP_VS_TCP_S_CLOSE
      || ((mode & 2) !== 0 && cp.state === IP_VS_TCP_S_FIN_WAIT && (cp.flags & IP_VS_CONN_F_NOOUTPUT) !== 0);
  }
  return false;
}

/** ip_vs_control_assure_ct. */
function assureTemplate(cp: IpvsConn): void {
  const ct = cp.control;
  if (ct && ct.flags & IP_VS_CONN_F_TEMPLATE) ct.ctplState |= IP_VS_CTPL_S_ASSURED;
}

function zeroService(svc: IpvsService): void {
  svc.stats.zero();
  for (const d of svc.dests) d.stats.zero();
}

function checkProtocol(p: number): void {
  if (p !== IPPROTO_TCP && p !== IPPROTO_UDP && p !== IPPROTO_SCTP) throw new IpvsError('EINVAL', `protocol ${p} is not TCP, UDP or SCTP`);
}

function checkDestSpec(s: DestSpec): void {
  if (!(s.weight >= 0 && s.weight <= 65535)) throw new IpvsError('EINVAL', 'illegal weight specified');
  if ((s.lThreshold ?? 0) > (s.uThreshold ?? 0) && (s.uThreshold ?? 0) !== 0) throw new IpvsError('EINVAL', 'lower threshold above upper threshold');
}

export function serviceText(svc: IpvsService): string {
  return svc.fwmark ? `FWM ${svc.fwmark} ${svc.schedName}` : `${protocolName(svc.protocol)} ${formatIpv4(svc.addr)}:${svc.port} ${svc.schedName}`;
}

export function connText(cp: IpvsConn): string {
  return `${protocolName(cp.protocol)} ${formatIpv4(cp.caddr)}:${cp.cport} -> ${formatIpv4(cp.vaddr)}:${cp.vport} -> ${formatIpv4(cp.daddr)}:${cp.dport}`;
}
