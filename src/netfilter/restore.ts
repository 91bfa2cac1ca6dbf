import type { NfEnv } from './module.js';
import { Chain, Table, isTableName, type TableName } from './tables.js';
import { parseRule } from './rule.js';
import { splitArgs } from './argv.js';
import { CommitError, ParamError, RestoreError } from './errors.js';

export interface RestoreOptions {
  /** `--noflush`: keep what the tables hold; only named chains are flushed. */
  readonly noflush?: boolean;
  /** `--counters`: apply `[p:b]` of chain lines and rules. */
  readonly counters?: boolean;
}

/** What a successful restore changed, for traces and the benchmark. */
export interface RestoreResult {
  readonly tables: readonly TableName[];
  readonly rules: number;
  readonly lines: number;
}

/**
 * iptables-restore: applies `text` to a copy of `current` and answers the new tables, or
 * throws RestoreError naming the line, with `current` untouched. The real tool commits each
 * table at its COMMIT line; the model applies the whole input or nothing (see README).
 */
function chainOf(t: Table, name: string | undefined): Chain {
  const c = name === undefined ? undefined : t.chains.get(name);
  if (!c) throw new CommitError('No chain/target/match by that name.');
  return c;
}

function isNum(s: string | undefined): s is string {
  return s !== undefined && /^[0-9]+$/.test(s);
}

export function iptablesRestore(
  text: string,
  current: ReadonlyMap<TableName, Table>,
  env: NfEnv,
  opts: RestoreOptions = {},
): { tables: Map<TableName, Table>; result: RestoreResult } {
  const work = new Map(current);
  const copied = new Set<TableName>();
  const writable = (name: TableName): Table => {
    if (!copied.has(name)) {
      const t = work.get(name);
      work.set(name, t ? t.clone() : new Table(name));
      copied.add(name);
    }
    return work.get(name)!;
  };
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let table: TableName | null = null;
  /** A table is created (and flushed without --noflush) by its first chain line or rule. */
  let touched = false;
  let rules = 0;
  const touchedTables = new Set<TableName>();
  const pendingJumps = new Set<string>();

  const tableForWrite = (): Table => {
    const name = table!;
    if (!touched) {
      touched = true;
      touchedTables.add(name);
      if (!opts.noflush) {
        // Without --noflush the table is replaced: user chains go, built-ins are emptied.
        work.set(name, new Table(name));
        copied.add(name);
      }
    }
    return writable(name);
  };

  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    const raw = lines[n]!;
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    try {
      if (table === null) {
        if (line.startsWith('*')) {
          const name = line.slice(1).trim();
          if (!isTableName(name)) throw new ParamError(`iptables-restore: line ${lineNo} table name '${name}' invalid`);
          table = name;
          touched = false;
          continue;
        }
        if (line === 'COMMIT') throw new CommitError('');
        throw new CommitError('');
      }
      if (line === 'COMMIT') {
        const t = work.get(table);
        for (const name of pendingJumps) if (!t?.chains.has(name)) throw new ParamError(`Chain '${name}' does not exist`);
        pendingJumps.clear();
        table = null;
        continue;
      }
      if (line.startsWith('*')) throw new ParamError(`Bad argument \`${line.split(/\s+/)[0]}'`);
      if (line.startsWith(':')) {
        const parts = line.slice(1).trim().split(/\s+/);
        const name = parts[0] ?? '';
        const policy = parts[1];
        if (name === '') throw new ParamError('iptables-restore: empty chain name');
        if (name.length > 28) throw new ParamError(`chain name \`${name}' too long (must be under 29 chars)`);
        if (policy === undefined) throw new ParamError(`iptables-restore: unable to chain policy`);
        const t = tableForWrite();
        const c = t.chains.get(name);
        const m = /^\[([0-9]+):([0-9]+)\]$/.exec(parts[2] ?? '');
        if (c?.builtin) {
          if (policy !== 'ACCEPT' && policy !== 'DROP') throw new CommitError('Bad policy name.');
          const nc = new Chain(name, true);
          nc.policy = policy;
          if (opts.noflush) nc.rules = c.rules.slice();
          if (opts.counters && m) {
            nc.pkts = Number(m[1]);
            nc.bytes = Number(m[2]);
          } else {
            nc.pkts = c.pkts;
            nc.bytes = c.bytes;
          }
          t.chains.set(name, nc);
        } else {
          if (!/^[^\s!-][^\s]*$/.test(name) && !/^[A-Za-z0-9]/.test(name)) throw new ParamError(`Invalid chain name \`${name}'`);
          // A chain line creates the chain, or flushes it when it exists (even with --noflush).
          t.chains.set(name, new Chain(name, false));
        }
        continue;
      }
      let rest = line;
      let counters: [number, number] | undefined;
      const cm = /^\[([0-9]+):([0-9]+)\]\s*/.exec(rest);
      if (cm) {
        counters = [Number(cm[1]), Number(cm[2])];
        rest = rest.slice(cm[0].length);
      }
      const args = splitArgs(rest);
      const cmd = args[0];
      const t = tableForWrite();
      const chainArg = args[1];
      const getChain = (): Chain => chainOf(t, chainArg);
      const ruleAt = (from: number): ReturnType<typeof parseRule> => {
        const pr = parseRule(args.slice(from), t, chainArg!, env);
        if (pr.rule.jumpName !== null && !t.chains.has(pr.rule.jumpName)) pendingJumps.add(pr.rule.jumpName);
        if (opts.counters) {
          const cnt = counters ?? pr.counters;
          if (cnt) {
            pr.rule.pkts = cnt[0];
            pr.rule.bytes = cnt[1];
          }
        }
        rules++;
        return pr;
      };
      switch (cmd) {
        case '-A':
        case '--append': {
          // The hot path of a large restore: no closures.
          if (chainArg === undefined) throw new ParamError('option "-A" requires an argument');
          const c = chainOf(t, chainArg);
          const pr = parseRule(args.slice(2), t, chainArg, env);
          if (pr.rule.jumpName !== null && !t.chains.has(pr.rule.jumpName)) pendingJumps.add(pr.rule.jumpName);
          if (opts.counters) {
            const cnt = counters ?? pr.counters;
            if (cnt) {
              pr.rule.pkts = cnt[0];
              pr.rule.bytes = cnt[1];
            }
          }
          rules++;
          c.rules.push(pr.rule);
          break;
        }
        case '-I':
        case '--insert': {
          if (chainArg === undefined) throw new ParamError('option "-I" requires an argument');
          const c = getChain();
          let pos = 1;
          let from = 2;
          if (isNum(args[2])) {
            pos = Number(args[2]);
            from = 3;
            if (pos < 1) throw new ParamError(`Invalid rule number \`${args[2]}'`);
          }
          const r = ruleAt(from).rule;
          if (pos > c.rules.length + 1) throw new CommitError('Index of insertion too big.');
          c.rules.splice(pos - 1, 0, r);
          break;
        }
        case '-R':
        case '--replace': {
          const c = getChain();
          if (!isNum(args[2])) throw new ParamError('-R requires a rule number');
          const pos = Number(args[2]);
          const r = ruleAt(3).rule;
          if (pos < 1 || pos > c.rules.length) throw new CommitError('No chain/target/match by that name.');
          c.rules[pos - 1] = r;
          break;
        }
        case '-D':
        case '--delete': {
          const c = getChain();
          if (isNum(args[2]) && args.length === 3) {
            const pos = Number(args[2]);
            if (pos < 1 || pos > c.rules.length) throw new CommitError('No chain/target/match by that name.');
            c.rules.splice(pos - 1, 1);
          } else {
            const r = parseRule(args.slice(2), t, chainArg!, env).rule;
            const i = c.rules.findIndex((x) => x.text === r.text);
            if (i < 0) throw new CommitError('Bad rule (does a matching rule exist in that chain?).');
            c.rules.splice(i, 1);
          }
          break;
        }
        case '-N':
        case '--new-chain': {
          if (chainArg === undefined) throw new ParamError('option "-N" requires an argument');
          if (t.chains.has(chainArg)) throw new CommitError('Chain already exists.');
          if (chainArg.length > 28) throw new ParamError(`chain name \`${chainArg}' too long (must be under 29 chars)`);
          t.chains.set(chainArg, new Chain(chainArg, false));
          break;
        }
        case '-X':
        case '--delete-chain': {
          const victims = chainArg === undefined ? t.userChains() : [getChain()];
          for (const c of victims) {
            if (c.builtin) throw new CommitError('No chain/target/match by that name.');
            const referenced = [...t.chains.values()].some((o) => o !== c && o.rules.some((r) => r.jumpName === c.name));
            if (referenced || c.rules.length > 0) throw new CommitError('', `CHAIN_DEL failed (Device or resource busy): chain ${c.name}`);
          }
          for (const c of victims) t.chains.delete(c.name);
          break;
        }
        case '-F':
        case '--flush': {
          const victims = chainArg === undefined ? [...t.chains.values()] : [getChain()];
          for (const c of victims) {
            const nc = c.clone();
            nc.rules = [];
            t.chains.set(c.name, nc);
          }
          break;
        }
        case '-Z':
        case '--zero': {
          const victims = chainArg === undefined ? [...t.chains.values()] : [getChain()];
          for (const c of victims) {
            const nc = c.clone();
            nc.pkts = nc.bytes = 0;
            nc.rules = c.rules.map((r) => r.copyZeroed());
            t.chains.set(c.name, nc);
          }
          break;
        }
        case '-P':
        case '--policy': {
          const c = getChain();
          const p = args[2];
          if (!c.builtin || (p !== 'ACCEPT' && p !== 'DROP')) throw new CommitError('Bad policy name.');
          const nc = c.clone();
          nc.policy = p;
          t.chains.set(c.name, nc);
          break;
        }
        default:
          throw new ParamError(`Bad argument \`${cmd ?? ''}'`);
      }
    } catch (e) {
      if (e instanceof ParamError) throw RestoreError.param(lineNo, e.message);
      if (e instanceof CommitError) throw RestoreError.commit(lineNo, e);
      throw e;
    }
  }
  if (table !== null) throw RestoreError.commitExpected(lines.length + 1);
  for (const name of copied) work.get(name)!.link();
  return { tables: work, result: { tables: [...touchedTables], rules, lines: lines.length } };
}
