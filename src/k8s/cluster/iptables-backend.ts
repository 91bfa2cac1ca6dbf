import type { Netns } from '../../linux/netlink.js';
import { Netfilter } from '../../netfilter/netfilter.js';
import type { TableName as NfTableName } from '../../netfilter/tables.js';
import type { IptablesBackend, TableName } from '../kube-proxy/backend.js';
import type { ActionLog } from './actions.js';

/**
 * What kube-proxy and flanneld ask of iptables, done by the netfilter model of one namespace:
 * `iptables-restore --noflush --counters`, `-N`, and `-C` then `-I 1` / `-A`. Every call is
 * logged as the command line the agent would run. Hooks are re-registered with the namespace
 * whenever a restore changes what netfilter needs (conntrack on once a nat table exists).
 */
/**
 * The hook ops a namespace's netfilter has registered, shared by every agent's handle on it:
 * one agent re-hooking after a restore must replace what another registered, not add to it.
 */
interface HookRegistration {
  ops: ReturnType<Netfilter['hookOps']>;
  generation: number;
}
const registrations = new WeakMap<Netfilter, HookRegistration>();

export class NetfilterIptables implements IptablesBackend {
  readonly hasRandomFully = true;
  private readonly reg: HookRegistration;

  constructor(
    readonly nf: Netfilter,
    private readonly ns: Netns,
    private readonly log: ActionLog,
    private readonly agent: string,
  ) {
    let reg = registrations.get(nf);
    if (!reg) registrations.set(nf, (reg = { ops: [], generation: -1 }));
    this.reg = reg;
  }

  static forNetns(ns: Netns, log: ActionLog, agent: string, existing?: Netfilter): NetfilterIptables {
    return new NetfilterIptables(existing ?? new Netfilter(ns), ns, log, agent);
  }

  withAgent(agent: string): NetfilterIptables {
    return new NetfilterIptables(this.nf, this.ns, this.log, agent);
  }

  private rehook(): void {
    const r = this.reg;
    if (this.nf.hooksGeneration === r.generation && r.ops.length) return;
    if (r.ops.length) this.ns.unregisterHooks(r.ops);
    r.ops = this.nf.hookOps();
    this.ns.registerHooks(r.ops);
    r.generation = this.nf.hooksGeneration;
  }

  restoreAll(text: string): void {
    this.nf.restore(text, { noflush: true, counters: true });
    this.log.tool(this.ns, this.agent, ['iptables-restore', '--noflush', '--counters'], text);
    this.rehook();
  }

  restore(text: string, opts: { noflush?: boolean; counters?: boolean } = {}): void {
    this.nf.restore(text, opts);
    this.log.tool(this.ns, this.agent, ['iptables-restore', ...(opts.noflush ? ['--noflush'] : []), ...(opts.counters ? ['--counters'] : [])], text);
    this.rehook();
  }

  listChains(table: TableName): string[] {
    const t = this.nf.tables.get(table as NfTableName);
    return t ? [...t.chains.keys()] : [];
  }

  ensureChain(table: TableName, chain: string): boolean {
    if (this.listChains(table).includes(chain)) return true;
    this.nf.restore(`*${table}\n:${chain} - [0:0]\nCOMMIT\n`, { noflush: true });
    this.log.tool(this.ns, this.agent, ['iptables', '-w', '-t', table, '-N', chain]);
    this.rehook();
    return false;
  }

  ensureRule(position: 'prepend' | 'append', table: TableName, chain: string, args: readonly string[]): boolean {
    const line = `-A ${chain} ${args.map(quote).join(' ')}`;
    if (this.hasRule(table, line)) return true;
    const op = position === 'prepend' ? `-I ${chain} 1` : `-A ${chain}`;
    this.nf.restore(`*${table}\n${op} ${args.map(quote).join(' ')}\nCOMMIT\n`, { noflush: true });
    this.log.tool(this.ns, this.agent, ['iptables', '-w', '-t', table, position === 'prepend' ? '-I' : '-A', chain, ...(position === 'prepend' ? ['1'] : []), ...args]);
    this.rehook();
    return false;
  }

  /** `iptables -C`: the rule, normalised as iptables-save prints it, is in the chain. */
  private hasRule(table: TableName, line: string): boolean {
    const scratch = new Netfilter(this.ns);
    const chain = line.split(' ')[1]!;
    const builtin = this.nf.tables.get(table as NfTableName)?.chains.get(chain)?.builtin;
    const jumps = [...line.matchAll(/ -[jg] (\S+)/g)].map((m) => m[1]!).filter((c) => this.listChains(table).includes(c) && !/^[A-Z]+$/.test('') );
    const decl = [...new Set([...(builtin ? [] : [chain]), ...jumps.filter((j) => !this.nf.tables.get(table as NfTableName)?.chains.get(j)?.builtin)])].map((c) => `:${c} - [0:0]`);
    try {
      scratch.restore(`*${table}\n${decl.join('\n')}${decl.length ? '\n' : ''}${line}\nCOMMIT\n`);
    } catch {
      return false;
    }
    const want = scratch.save({ table: table as NfTableName, header: false }).split('\n').find((l) => l.startsWith(`-A ${chain} `));
    return this.nf.save({ table: table as NfTableName, header: false }).split('\n').some((l) => l === want);
  }
}

function quote(a: string): string {
  return /[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a;
}
