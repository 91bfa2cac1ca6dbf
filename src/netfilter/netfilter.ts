import type { PacketBuffer } from '../wire/packet-buffer.js';
import type { TraceSink } from '../sim/trace.js';
import type { NfHook, NfHookFn, NfHookOps, NfHookState, NfNetns, NfVerdict } from './hooks.js';
import { NF_ACCEPT, NF_DROP, NF_IP_PRI, NF_STOLEN } from './hooks.js';
import { readIpv4 } from '../wire/ipv4-address.js';
import type { NatRange, NfEnv, PacketCtx, RecentTable } from './module.js';
import type { NfTraceEvent } from './trace.js';
import { Table, TABLE_CHAINS, type TableName } from './tables.js';
import { walkTable } from './eval.js';
import { iptablesRestore, type RestoreOptions, type RestoreResult } from './restore.js';
import { iptablesSave, type SaveOptions } from './save.js';
import { iptablesList } from './list.js';
import { IPPROTO_ICMP, IPPROTO_TCP, ipv4TotalLength, readIpv4Fields, u16 } from './packet.js';
import { ConntrackTable, type ConntrackConfig } from './conntrack/table.js';
import { conntrackConfirm, conntrackIn, type CtEvent } from './conntrack/core.js';
import { CTINFO_NAMES, IP_CT, IPS, UNTRACKED, type CtEntry } from './conntrack/entry.js';
import { conntrackLine, conntrackList } from './conntrack/print.js';
import { hookManip, natIcmpReply, natInitialized, natPacket, natSetupInfo } from './nat.js';
import { buildReject } from './reject.js';
import { IpsetRegistry } from './ipset/registry.js';
import { ipsetList, ipsetSave } from './ipset/print.js';
import { ipsetRestore } from './ipset/restore.js';

/** The fields of an IPVS connection the conntrack seam reads (ipvs/conn.ts IpvsConn). */
export interface IpvsConnView {
  readonly flags: number;
  readonly daddr: number;
  readonly dport: number;
  readonly vaddr: number;
  readonly vport: number;
}
/** include/uapi/linux/ip_vs.h connection flags. */
const IP_VS_CONN_F_FWD_MASK = 0x0007;
const IP_VS_CONN_F_MASQ = 0x0000;
const IP_VS_CONN_F_ONE_PACKET = 0x2000;

export interface NetfilterOptions {
  readonly conntrack?: Partial<ConntrackConfig>;
  /**
   * Whether conntrack hooks are registered: 'auto' (the kernel's behaviour: once a nat
   * table, a conntrack/state match or NAT target needs it), or always / never.
   */
  readonly conntrackHooks?: 'auto' | 'on' | 'off';
  readonly sink?: TraceSink<NfTraceEvent> | null;
  /**
   * The wall-clock time (seconds since 1970) at simulated time 0, for the date in
   * iptables-save's comment lines; 0 prints 1970 dates. Never the host clock.
   */
  readonly epochSeconds?: number;
}

/**
 * The netfilter state of one network namespace: the iptables tables, conntrack, ipsets and
 * xt_recent lists, and the hook registrations linux/ runs in priority order.
 */
export class Netfilter {
  private tablesMap = new Map<TableName, Table>();
  readonly conntrack: ConntrackTable;
  readonly ipsets: IpsetRegistry;
  readonly env: NfEnv;
  /** Rules evaluated by the last table walk, and in total (the benchmark's counters). */
  lastEvaluated = 0;
  totalEvaluated = 0;
  /** Bumped whenever hookOps() would answer a different list. */
  hooksGeneration = 0;
  /** The packet of the latest table walk and the rules evaluated for it so far (evaluatedFor). */
  private evaluatedPacket: PacketBuffer | null = null;
  private evaluatedCount = 0;
  private readonly hooksMode: 'auto' | 'on' | 'off';
  private readonly epochSeconds: number;
  private ctNeeded = false;
  private opsCache: NfHookOps[] | null = null;
  private readonly rnd = (): number => this.netns.randomU32();
  private readonly byHook = new Map<NfHook, NfHookFn[]>();

  constructor(
    readonly netns: NfNetns,
    opts: NetfilterOptions = {},
  ) {
    this.conntrack = new ConntrackTable(opts.conntrack ?? {});
    this.ipsets = new IpsetRegistry(() => netns.now(), () => netns.randomU32());
    this.ipsets.referencesOf = (name) => this.setReferences(name);
    this.hooksMode = opts.conntrackHooks ?? 'auto';
    this.epochSeconds = opts.epochSeconds ?? 0;
    const recent = new Map<string, RecentTable>();
    this.env = {
      sets: this.ipsets,
      recent,
      nfacct: new Map(),
      sink: opts.sink ?? null,
      traced: new WeakSet(),
      natSetup: (c, range, manip) => this.natSetup(c, range, manip),
      reject: (c, how) => this.reject(c, how),
    };
  }

  get tables(): ReadonlyMap<TableName, Table> {
    return this.tablesMap;
  }

  setTraceSink(sink: TraceSink<NfTraceEvent> | null): void {
    this.env.sink = sink;
  }

  /** iptables-restore; throws RestoreError (with the real tool's stderr) and changes nothing. */
  restore(text: string, opts: RestoreOptions = {}): RestoreResult {
    const { tables, result } = iptablesRestore(text, this.tablesMap, this.env, opts);
    const before = this.hookOpsKey();
    this.tablesMap = tables;
    this.ctNeeded = this.computeCtNeeded();
    this.opsCache = null;
    this.byHook.clear();
    if (this.hookOpsKey() !== before) this.hooksGeneration++;
    return result;
  }

  /** iptables-save; the header date comes from the simulated clock unless given. */
  save(opts: SaveOptions = {}): string {
    const header = opts.header ?? { epochSeconds: this.epochSeconds + Math.floor(this.netns.now() / 1e9) };
    return iptablesSave(this.tablesMap, { ...opts, header });
  }

  /**
   * The conntrack seam IPVS uses when net.ipv4.vs.conntrack=1 (ip_vs_nfct.c), structurally the
   * IpvsConntrack of ipvs/hooks.ts: whether the packet's entry is confirmed, the reply-tuple
   * update of ip_vs_update_conntrack for Masq connections, and ip_vs_notrack.
   */
  ipvsConntrack(): {
    isConfirmed(p: PacketBuffer): boolean;
    update(p: PacketBuffer, conn: IpvsConnView, outin: boolean): void;
    notrack(p: PacketBuffer): void;
  } {
    return {
      isConfirmed: (p) => p.ct !== null && p.ct !== UNTRACKED && ((p.ct as CtEntry).status & IPS.CONFIRMED) !== 0,
      update: (p, conn, outin) => {
        const ct = p.ct;
        if (ct === null || ct === UNTRACKED) return;
        const e = ct as CtEntry;
        if (e.status & (IPS.CONFIRMED | IPS.DYING)) return;
        // Only Masq connections expecting replies, and only in the original direction.
        if ((conn.flags & IP_VS_CONN_F_FWD_MASK) !== IP_VS_CONN_F_MASQ || conn.flags & IP_VS_CONN_F_ONE_PACKET) return;
        if (p.ctinfo >= IP_CT.IS_REPLY) return;
        const r = e.reply;
        const icmp = r.proto === IPPROTO_ICMP;
        e.reply = outin
          ? { ...r, src: conn.daddr, sport: icmp ? r.sport : conn.dport }
          : { ...r, dst: conn.vaddr, dport: icmp ? r.dport : conn.vport };
      },
      notrack: (p) => {
        p.ct = UNTRACKED;
        p.ctinfo = 7;
      },
    };
  }

  /**
   * Applies a conntrack sysctl (`net.netfilter.nf_conntrack_max` or `net/netfilter/...`);
   * answers false for a name netfilter does not own.
   */
  setSysctl(name: string, value: number): boolean {
    const n = name.replace(/\//g, '.').replace(/^net\.(netfilter\.)?/, '');
    const cfg = this.conntrack.config;
    const tcp = /^nf_conntrack_tcp_timeout_([a-z_0-9]+)$/.exec(n);
    if (n === 'nf_conntrack_max') cfg.max = value;
    else if (tcp) cfg.tcpTimeouts[tcp[1]!.toUpperCase()] = value;
    else if (n === 'nf_conntrack_udp_timeout') cfg.udpTimeout = value;
    else if (n === 'nf_conntrack_udp_timeout_stream') cfg.udpTimeoutStream = value;
    else if (n === 'nf_conntrack_icmp_timeout') cfg.icmpTimeout = value;
    else if (n === 'nf_conntrack_generic_timeout') cfg.genericTimeout = value;
    else if (n === 'nf_conntrack_tcp_be_liberal') return true; // the model is always liberal
    else return false;
    return true;
  }

  /** `iptables -t TABLE -L -n -v` stdout (empty when the table does not exist). */
  list(table: TableName): string {
    const t = this.tablesMap.get(table);
    return t ? iptablesList(t) : '';
  }

  /** `conntrack -L` stdout. */
  conntrackList(): string {
    const now = this.netns.now();
    return conntrackList(this.conntrack.entries(now), now);
  }

  ipsetList(name?: string): string {
    return ipsetList(this.ipsets, this.netns.now(), name);
  }
  ipsetSave(name?: string): string {
    return ipsetSave(this.ipsets, this.netns.now(), name);
  }
  ipsetRestore(text: string, exist = false): void {
    ipsetRestore(this.ipsets, text, exist);
  }

  /**
   * Rules evaluated for this packet across every table walk so far, for the packet of the
   * latest walk (an earlier packet answers 0): a per-packet map cost a WeakMap write per walk.
   */
  evaluatedFor(p: PacketBuffer): number {
    return p === this.evaluatedPacket ? this.evaluatedCount : 0;
  }

  private setReferences(name: string): number {
    let n = 0;
    for (const t of this.tablesMap.values())
      for (const c of t.chains.values())
        for (const r of c.rules) for (const m of r.matches) if (m.mod.name === 'set' && (m.spec as { name: string }).name === name) n++;
    return n;
  }

  private computeCtNeeded(): boolean {
    if (this.tablesMap.has('nat')) return true;
    for (const t of this.tablesMap.values())
      for (const c of t.chains.values())
        for (const r of c.rules) {
          if (r.matches.some((m) => m.mod.name === 'conntrack' || m.mod.name === 'state')) return true;
          if (r.target && ['DNAT', 'SNAT', 'MASQUERADE', 'CT', 'NOTRACK'].includes(r.target.mod.name)) return true;
        }
    return false;
  }

  private conntrackOn(): boolean {
    return this.hooksMode === 'on' || (this.hooksMode === 'auto' && this.ctNeeded);
  }

  private hookOpsKey(): string {
    return this.hookOps()
      .map((o) => `${o.hook}/${o.owner}`)
      .join(',');
  }

  /**
   * The registrations the kernel has in this netns (linux-path.md §1.2): iptable_raw at RAW,
   * nf_conntrack at CONNTRACK, iptable_mangle at MANGLE, nf_nat (which walks the nat table) at
   * NAT_DST / NAT_SRC, iptable_filter at FILTER, ipv4_confirm at CONNTRACK_CONFIRM. Tables
   * register once they exist; conntrack once something needs it.
   */
  hookOps(): NfHookOps[] {
    if (this.opsCache) return this.opsCache;
    const ops: NfHookOps[] = [];
    const ct = this.conntrackOn();
    const has = (t: TableName): boolean => this.tablesMap.has(t);
    const tableOp = (t: TableName, hook: NfHook, priority: number): void => {
      // mangle's OUTPUT hook is ipt_mangle_out (it may ask for a re-route), chosen here once.
      if (has(t) && TABLE_CHAINS[t].includes(hook)) ops.push({ hook, priority, owner: t, fn: t === 'mangle' && hook === 'OUTPUT' ? (p, s) => this.mangleOut(p, s) as NfVerdict : (p, s) => this.runTable(t, p, s) as NfVerdict });
    };
    for (const hook of ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'] as const) {
      tableOp('raw', hook, NF_IP_PRI.RAW);
      if (ct && (hook === 'PREROUTING' || hook === 'OUTPUT')) ops.push({ hook, priority: NF_IP_PRI.CONNTRACK, owner: 'conntrack', fn: this.ctIn });
      tableOp('mangle', hook, NF_IP_PRI.MANGLE);
      if (ct && has('nat') && (hook === 'PREROUTING' || hook === 'OUTPUT')) ops.push({ hook, priority: NF_IP_PRI.NAT_DST, owner: 'nat', fn: this.natHook });
      tableOp('filter', hook, NF_IP_PRI.FILTER);
      tableOp('security', hook, NF_IP_PRI.SECURITY);
      if (ct && has('nat') && (hook === 'POSTROUTING' || hook === 'INPUT')) ops.push({ hook, priority: NF_IP_PRI.NAT_SRC, owner: 'nat', fn: this.natHook });
      if (ct && (hook === 'POSTROUTING' || hook === 'INPUT')) ops.push({ hook, priority: NF_IP_PRI.CONNTRACK_CONFIRM, owner: 'conntrack-confirm', fn: this.ctConfirm });
    }
    this.opsCache = ops;
    return ops;
  }

  /** Runs every registered function of one hook in priority order (for tests and the bench). */
  runHook(hook: NfHook, p: PacketBuffer, s: NfHookState): number {
    let fns = this.byHook.get(hook);
    if (!fns) {
      fns = this.hookOps()
        .filter((o) => o.hook === hook)
        .sort((a, b) => a.priority - b.priority)
        .map((o) => o.fn);
      this.byHook.set(hook, fns);
    }
    for (let i = 0; i < fns.length; i++) {
      const v = fns[i]!(p, s);
      if (v !== NF_ACCEPT) return v;
    }
    return NF_ACCEPT;
  }

  private makeCtx(table: TableName, p: PacketBuffer, s: NfHookState): PacketCtx | undefined {
    const ip = readIpv4Fields(p);
    if (!ip) return undefined;
    const b = p.buf;
    let sport = -1;
    let dport = -1;
    let tcpFlags = -1;
    let icmpType = -1;
    let icmpCode = -1;
    if (ip.fragOffset === 0) {
      if (ip.proto === IPPROTO_ICMP) {
        if (ip.l4Len >= 2) {
          icmpType = b[ip.l4]!;
          icmpCode = b[ip.l4 + 1]!;
        }
      } else if (ip.l4Len >= 4 && (ip.proto === 6 || ip.proto === 17 || ip.proto === 132 || ip.proto === 136)) {
        sport = u16(b, ip.l4);
        dport = u16(b, ip.l4 + 2);
        if (ip.proto === IPPROTO_TCP && ip.l4Len >= 14) tcpFlags = b[ip.l4 + 13]!;
      }
    }
    return { packet: p, state: s, ip, sport, dport, tcpFlags, icmpType, icmpCode, table, evaluated: 0, env: this.env };
  }

  /** ipt_mangle_out: the table, then a re-route for any change of mark, TOS or addresses. */
  private mangleOut(p: PacketBuffer, s: NfHookState): number {
    const b = p.buf;
    const ip = p.network;
    const mark = p.mark;
    const tos = b[ip + 1];
    const saddr = readIpv4(b, ip + 12);
    const daddr = readIpv4(b, ip + 16);
    const v = this.runTable('mangle', p, s);
    if (v !== NF_DROP && v !== NF_STOLEN && (p.mark !== mark || b[ip + 1] !== tos || readIpv4(b, ip + 12) !== saddr || readIpv4(b, ip + 16) !== daddr)) s.reroute = true;
    return v;
  }

  private runTable(name: TableName, p: PacketBuffer, s: NfHookState): number {
    const t = this.tablesMap.get(name);
    if (!t) return NF_ACCEPT;
    if (this.env.sink === null) {
      // An empty built-in chain (most mangle and raw hooks on a node): only its policy
      // counters change, as walkTable would do, without decoding the packet into a context.
      const start = t.builtin(s.hook);
      if (start !== undefined && start.rules.length === 0) {
        const len = ipv4TotalLength(p);
        if (len < 0) return NF_ACCEPT;
        start.pkts++;
        start.bytes += len;
        this.lastEvaluated = 0;
        if (p !== this.evaluatedPacket) {
          this.evaluatedPacket = p;
          this.evaluatedCount = 0;
        }
        return start.policy === 'DROP' ? NF_DROP : NF_ACCEPT;
      }
    }
    const c = this.makeCtx(name, p, s);
    if (!c) return NF_ACCEPT;
    const v = walkTable(t, s.hook, c);
    this.count(c, p);
    return v;
  }

  private count(c: PacketCtx, p: PacketBuffer): void {
    this.lastEvaluated = c.evaluated;
    this.totalEvaluated += c.evaluated;
    if (p !== this.evaluatedPacket) {
      this.evaluatedPacket = p;
      this.evaluatedCount = 0;
    }
    this.evaluatedCount += c.evaluated;
    const sink = this.env.sink;
    if (sink) {
      const ns = this.netns;
      sink.record({ kind: 'nf.table', time: ns.now(), node: ns.node, netns: ns.netns, step: `${c.table}:${c.state.hook}`, table: c.table, hook: c.state.hook, evaluated: c.evaluated });
    }
  }

  private ctEvents(s: NfHookState): CtEvent | null {
    const sink = this.env.sink;
    if (!sink) return null;
    const ns = this.netns;
    return (action, e, ctinfo) =>
      sink.record({
        kind: 'nf.ct',
        time: ns.now(),
        node: ns.node,
        netns: ns.netns,
        step: `conntrack:${s.hook}`,
        action,
        ...(e ? { ctId: e.id, entry: conntrackLine(e, ns.now()), ctinfo: CTINFO_NAMES[ctinfo] ?? String(ctinfo) } : {}),
        ...(action === 'full-drop' || action === 'clash-drop' ? { verdict: 'DROP' } : {}),
      });
  }

  private readonly ctIn: NfHookFn = (p, s) => (conntrackIn(p, this.conntrack, this.netns.now(), this.ctEvents(s)) ? NF_ACCEPT : NF_DROP);

  private readonly ctConfirm: NfHookFn = (p, s) => (conntrackConfirm(p, this.conntrack, this.netns.now(), this.ctEvents(s)) ? NF_ACCEPT : NF_DROP);

  /** nf_nat_ipv4_fn: walk the nat table for the first packet, else apply the binding. */
  private readonly natHook: NfHookFn = (p, s) => {
    const ct = p.ct;
    if (ct === null || ct === UNTRACKED) return NF_ACCEPT;
    const e = ct as CtEntry;
    const manip = hookManip(s.hook);
    if (p.ctinfo === IP_CT.RELATED || p.ctinfo === IP_CT.RELATED_REPLY) {
      const f = readIpv4Fields(p);
      if (f && f.proto === IPPROTO_ICMP) return natIcmpReply(p, e, s.hook) ? NF_ACCEPT : NF_DROP;
    }
    if (p.ctinfo === IP_CT.NEW || p.ctinfo === IP_CT.RELATED || p.ctinfo === IP_CT.RELATED_REPLY) {
      if (!natInitialized(e, manip)) {
        const v = this.runTable('nat', p, s);
        if (v !== NF_ACCEPT) return v as NfVerdict;
        if (!natInitialized(e, manip)) {
          // nf_nat_alloc_null_binding: keep the address, still make the tuple unique.
          const keep = manip === 'SRC' ? e.reply.dst : e.reply.src;
          natSetupInfo(e, { mapIps: true, minIp: keep, maxIp: keep, protoSpecified: false, minPort: 0, maxPort: 0, random: false, randomFully: false, persistent: false }, manip, this.conntrack, this.netns.now(), this.rnd);
          this.natEvent(e, manip, 'null-binding', '', '');
        }
      }
    }
    const r = natPacket(p, e, s.hook, this.env.sink !== null);
    if (r !== null && r !== true) this.natEvent(e, manip, 'apply', r.from, r.to);
    return NF_ACCEPT;
  };

  private natSetup(c: PacketCtx, range: NatRange, manip: 'SRC' | 'DST'): number {
    const ct = c.packet.ct;
    if (ct === null || ct === UNTRACKED) return NF_ACCEPT;
    const e = ct as CtEntry;
    natSetupInfo(e, range, manip, this.conntrack, this.netns.now(), this.rnd);
    this.natEvent(e, manip, 'binding', '', '');
    return NF_ACCEPT;
  }

  private natEvent(e: CtEntry, manip: 'SRC' | 'DST', how: 'binding' | 'null-binding' | 'apply', from: string, to: string): void {
    const sink = this.env.sink;
    if (!sink) return;
    const ns = this.netns;
    sink.record({ kind: 'nf.nat', time: ns.now(), node: ns.node, netns: ns.netns, step: `nat:${manip}`, manip: manip === 'SRC' ? 'SNAT' : 'DNAT', how, ctId: e.id, from, to: to || conntrackLine(e, ns.now()) });
  }

  private reject(c: PacketCtx, how: string): void {
    const out = buildReject(c, how);
    const sink = this.env.sink;
    if (sink) {
      const ns = this.netns;
      sink.record({ kind: 'nf.reject', time: ns.now(), node: ns.node, netns: ns.netns, step: `${c.table}:REJECT`, with: how, verdict: out ? 'sent' : 'nothing-sent' });
    }
    if (out) this.netns.sendLocal(out);
  }
}
