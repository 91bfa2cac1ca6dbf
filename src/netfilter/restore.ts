import type { NfEnv } from './module.js';
import { Chain, Table, isTableName, type TableName } from './tables.js';
import { Rule, parseRuleSpec, type RuleSpec } from './rule.js';
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
 * Parsed `-A` lines by their text, per table, shared by every namespace of the process: a
 * line's parse depends only on its text, its table and its chain (which the line names), so
 * a node loading the payload another node loaded, or kube-proxy rewriting KUBE-SERVICES
 * unchanged on a partial sync, reuses the specs instead of parsing again. Only lines that
 * parsed are kept. Two generations bound it: when the young map is full it becomes the old
 * one and the previous old one is dropped (specs still in some table stay alive there).
 */
class SpecCache {
  private young = new Map<string, RuleSpec>();
  private old = new Map<string, RuleSpec>();
  constructor(private readonly limit: number) {}
  get(line: string): RuleSpec | undefined {
    const y = this.young.get(line);
    if (y !== undefined) return y;
    const o = this.old.get(line);
    if (o !== undefined) this.put(line, o);
    return o;
  }
  put(line: string, spec: RuleSpec): void {
    if (this.young.size >= this.limit) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(line, spec);
  }
}
const CACHE_LIMIT = 1 << 18;
const specCaches = new Map<TableName, SpecCache>();
function cacheFor(t: TableName): SpecCache {
  let c = specCaches.get(t);
  if (!c) specCaches.set(t, (c = new SpecCache(CACHE_LIMIT)));
  return c;
}

/**
 * Forgets every cached line (the benchmark measures a cold first sync this way). Tables keep
 * their rules; only later restores parse again.
 */
export function clearRestoreCache(): void {
  specCaches.clear();
}

/**
 * A copy of `s` that does not keep the string it was sliced from alive. Lines of a restore
 * are slices of the whole payload; a spec made from a mostly-cached payload (a partial sync)
 * would otherwise hold all of that payload for its few new lines.
 */
function detach(s: string): string {
  return (' ' + s).slice(1);
}

let txnSeq = 0;

function chainOf(t: Table, name: string | undefined): Chain {
  const c = name === undefined ? undefined : t.chains.get(name);
  if (!c) throw new CommitError('No chain/target/match by that name.');
  return c;
}

function isNum(s: string | undefined): s is string {
  return s !== undefined && /^[0-9]+$/.test(s);
}

/** Whether `line[from..to)` is a plain token (no blank other than the space ending it, no quote). */
function plainToken(line: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = line.charCodeAt(i);
    if (c === 34 || c === 9 || c === 13) return false;
  }
  return true;
}

/** `:NAME POLICY [p:b]` split on blanks, as `line.slice(1).trim().split(/\s+/)` (single spaces fast). */
function chainLineParts(line: string): string[] {
  const a = line.indexOf(' ', 1);
  if (a > 1) {
    const b = line.indexOf(' ', a + 1);
    if (b > a + 1 && line.indexOf(' ', b + 1) < 0 && b + 1 < line.length) {
      const parts = [line.slice(1, a), line.slice(a + 1, b), line.slice(b + 1)];
      let plain = true;
      for (const p of parts) if (!plainToken(p, 0, p.length)) plain = false;
      for (let i = 0; plain && i < line.length; i++) {
        const c = line.charCodeAt(i);
        if (c === 10 || c === 11 || c === 12 || c > 127) plain = false;
      }
      if (plain) return parts;
    }
  }
  return line.slice(1).trim().split(/\s+/);
}

/** A name the chain-name checks accept at once: starts with [A-Za-z0-9], no blanks. */
function plainChainName(name: string): boolean {
  const c = name.charCodeAt(0);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * iptables-restore: applies `text` to a copy of `current` and answers the new tables, or
 * throws RestoreError naming the line, with `current` untouched. The real tool commits each
 * table at its COMMIT line; the model applies the whole input or nothing (see README).
 * The copy is shallow: a table's chain map is copied when the input first names the table,
 * a chain when the input first changes it.
 */
export function iptablesRestore(
  text: string,
  current: ReadonlyMap<TableName, Table>,
  env: NfEnv,
  opts: RestoreOptions = {},
): { tables: Map<TableName, Table> ; result: RestoreResult } {
  const txn = ++txnSeq;
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
  /** A fresh chain owned by this transaction. */
  const fresh = (name: string, builtin: boolean): Chain => {
    const c = new Chain(name, builtin);
    c.txn = txn;
    return c;
  };
  /** Chain objects this transaction took out of a table: jumps to them are resolved again. */
  const replaced: Chain[] = [];
  /** The chain, cloned into this transaction first if an earlier state owns it. */
  const mutable = (t: Table, c: Chain): Chain => {
    if (c.txn === txn) return c;
    const nc = c.clone();
    nc.txn = txn;
    t.chains.set(c.name, nc);
    replaced.push(c);
    return nc;
  };
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let table: TableName | null = null;
  let cache: SpecCache | null = null;
  /** A table is created (and flushed without --noflush) by its first chain line or rule. */
  let touched = false;
  let rules = 0;
  /** Lines parsed (not found in the cache) so far; see `detach`. */
  let parsed = 0;
  const detachBelow = lines.length >> 3;
  const touchedTables = new Set<TableName>();
  const pendingJumps = new Set<string>();
  /** Jump references per chain name, built at the first -X of a table and dropped on change. */
  let refs: Map<string, number> | null = null;

  const tableForWrite = (): Table => {
    const name = table!;
    if (!touched) {
      touched = true;
      touchedTables.add(name);
      if (!opts.noflush) {
        // Without --noflush the table is replaced: user chains go, built-ins are emptied.
        const t = new Table(name);
        for (const c of t.chains.values()) c.txn = txn;
        work.set(name, t);
        copied.add(name);
      }
    }
    return writable(name);
  };

  /** Misses in a row, and the line before which lookups are skipped (a payload of new lines). */
  let missRun = 0;
  let skipBefore = -1;
  /** The spec of a rule line: from the cache, or parsed (and then cached). */
  const specOf = (n: number, key: string, line: string, from: number, chain: string): RuleSpec => {
    let spec = n < skipBefore ? undefined : cache!.get(key);
    if (spec !== undefined) missRun = 0;
    else if (n >= skipBefore && ++missRun >= 512) {
      // A run of new lines (a cold full sync): parse the next ones without asking the cache,
      // then look again.
      skipBefore = n + 4096;
      missRun = 0;
    }
    if (spec === undefined) {
      // Few new lines in a big payload: parse from a private copy so the specs do not keep
      // the payload alive (a full sync's payload is mostly new lines and is kept instead).
      let src = line;
      let k = key;
      if (parsed < detachBelow || lines.length < 64) {
        src = detach(line);
        k = src.length === line.length ? src : detach(key);
      }
      parsed++;
      spec = parseRuleSpec(splitArgs(src, from), 0, table!, chain);
      cache!.put(k, spec);
    }
    return spec;
  };

  const newRule = (t: Table, spec: RuleSpec, counters: [number, number] | undefined): Rule => {
    const r = new Rule(spec, env);
    if (spec.jumpName !== null) {
      // Resolved now (Table.link only revisits jumps that are unresolved or went stale).
      const j = t.chains.get(spec.jumpName);
      if (j) r.jump = j;
      else pendingJumps.add(spec.jumpName);
    }
    if (opts.counters) {
      const cnt = counters ?? spec.counters;
      if (cnt) {
        r.pkts = cnt[0];
        r.bytes = cnt[1];
      }
    }
    rules++;
    return r;
  };

  for (let n = 0; n < lines.length; n++) {
    const lineNo = n + 1;
    let line = lines[n]!;
    if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
    const c0 = line.charCodeAt(0);
    if (c0 === 35 || line.length === 0 || ((c0 === 32 || c0 === 9 || c0 === 10 || c0 === 13 || c0 === 11 || c0 === 12 || c0 > 127) && line.trim() === '')) continue;
    try {
      if (table === null) {
        if (c0 === 42) {
          const name = line.slice(1).trim();
          if (!isTableName(name)) throw new ParamError(`iptables-restore: line ${lineNo} table name '${name}' invalid`);
          table = name;
          cache = cacheFor(name);
          touched = false;
          refs = null;
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
      if (c0 === 42) throw new ParamError(`Bad argument \`${line.split(/\s+/)[0]}'`);
      if (c0 === 58) {
        const parts = chainLineParts(line);
        let name = parts[0] ?? '';
        const policy = parts[1];
        if (name === '') throw new ParamError('iptables-restore: empty chain name');
        if (name.length > 28) throw new ParamError(`chain name \`${name}' too long (must be under 29 chars)`);
        if (policy === undefined) throw new ParamError(`iptables-restore: unable to chain policy`);
        const t = tableForWrite();
        const c = t.chains.get(name);
        refs = null;
        const m = parts[2] !== undefined && parts[2].charCodeAt(0) === 91 ? /^\[([0-9]+):([0-9]+)\]$/.exec(parts[2]) : null;
        if (c?.builtin) {
          if (policy !== 'ACCEPT' && policy !== 'DROP') throw new CommitError('Bad policy name.');
          const nc = fresh(c.name, true);
          nc.policy = policy;
          if (opts.noflush) nc.rules = c.rules.slice();
          if (opts.counters && m) {
            nc.pkts = Number(m[1]);
            nc.bytes = Number(m[2]);
          } else {
            nc.pkts = c.pkts;
            nc.bytes = c.bytes;
          }
          t.chains.set(c.name, nc);
          replaced.push(c);
        } else {
          if (!plainChainName(name) && !/^[^\s!-][^\s]*$/.test(name) && !/^[A-Za-z0-9]/.test(name)) throw new ParamError(`Invalid chain name \`${name}'`);
          // A chain line creates the chain, or flushes it when it exists (even with --noflush).
          // The name string of an existing chain is kept (it is not a slice of this payload).
          if (c) {
            name = c.name;
            replaced.push(c);
          } else if (parsed < detachBelow || lines.length < 64) name = detach(name);
          t.chains.set(name, fresh(name, false));
        }
        continue;
      }
      let rest = line;
      let counters: [number, number] | undefined;
      if (c0 === 91) {
        const cm = /^\[([0-9]+):([0-9]+)\]\s*/.exec(rest);
        if (cm) {
          counters = [Number(cm[1]), Number(cm[2])];
          rest = rest.slice(cm[0].length);
        }
      }
      // The hot path of a large restore: `-A CHAIN rule...` with a plain chain name goes
      // straight to the cache / parser without splitting the command part.
      if (rest.charCodeAt(0) === 45 && rest.charCodeAt(1) === 65 && rest.charCodeAt(2) === 32) {
        let sp = rest.indexOf(' ', 3);
        if (sp < 0) sp = rest.length;
        if (plainToken(rest, 3, sp)) {
          const chainName = rest.slice(3, sp);
          const t = tableForWrite();
          const c = mutable(t, chainOf(t, chainName));
          c.rules.push(newRule(t, specOf(n, rest, rest, sp, chainName), counters));
          refs = null;
          continue;
        }
      }
      const args = splitArgs(rest);
      const cmd = args[0];
      const t = tableForWrite();
      const chainArg = args[1];
      const getChain = (): Chain => chainOf(t, chainArg);
      const ruleAt = (from: number): Rule => {
        return newRule(t, parseRuleSpec(args, from, table!, chainArg!), counters);
      };
      if (cmd !== '-X' && cmd !== '--delete-chain') refs = null;
      switch (cmd) {
        case '-A':
        case '--append': {
          if (chainArg === undefined) throw new ParamError('option "-A" requires an argument');
          const c = mutable(t, getChain());
          c.rules.push(ruleAt(2));
          break;
        }
        case '-I':
        case '--insert': {
          if (chainArg === undefined) throw new ParamError('option "-I" requires an argument');
          let c = getChain();
          let pos = 1;
          let from = 2;
          if (isNum(args[2])) {
            pos = Number(args[2]);
            from = 3;
            if (pos < 1) throw new ParamError(`Invalid rule number \`${args[2]}'`);
          }
          const r = ruleAt(from);
          if (pos > c.rules.length + 1) throw new CommitError('Index of insertion too big.');
          c = mutable(t, c);
          c.rules.splice(pos - 1, 0, r);
          break;
        }
        case '-R':
        case '--replace': {
          let c = getChain();
          if (!isNum(args[2])) throw new ParamError('-R requires a rule number');
          const pos = Number(args[2]);
          const r = ruleAt(3);
          if (pos < 1 || pos > c.rules.length) throw new CommitError('No chain/target/match by that name.');
          c = mutable(t, c);
          c.rules[pos - 1] = r;
          break;
        }
        case '-D':
        case '--delete': {
          let c = getChain();
          if (isNum(args[2]) && args.length === 3) {
            const pos = Number(args[2]);
            if (pos < 1 || pos > c.rules.length) throw new CommitError('No chain/target/match by that name.');
            c = mutable(t, c);
            c.rules.splice(pos - 1, 1);
          } else {
            // Compiled like any rule (a missing set fails here as it does in the real tool).
            const text = new Rule(parseRuleSpec(args, 2, table, chainArg!), env).text;
            const i = c.rules.findIndex((x) => x.text === text);
            if (i < 0) throw new CommitError('Bad rule (does a matching rule exist in that chain?).');
            c = mutable(t, c);
            c.rules.splice(i, 1);
          }
          break;
        }
        case '-N':
        case '--new-chain': {
          if (chainArg === undefined) throw new ParamError('option "-N" requires an argument');
          if (t.chains.has(chainArg)) throw new CommitError('Chain already exists.');
          if (chainArg.length > 28) throw new ParamError(`chain name \`${chainArg}' too long (must be under 29 chars)`);
          const name = detach(chainArg);
          t.chains.set(name, fresh(name, false));
          break;
        }
        case '-X':
        case '--delete-chain': {
          const victims = chainArg === undefined ? t.userChains() : [getChain()];
          if (refs === null) {
            // One count of every chain's jump references, not a scan of the table per -X.
            refs = new Map();
            for (const o of t.chains.values())
              for (const r of o.rules) if (r.jumpName !== null) refs.set(r.jumpName, (refs.get(r.jumpName) ?? 0) + 1);
          }
          for (const c of victims) {
            if (c.builtin) throw new CommitError('No chain/target/match by that name.');
            let self = 0;
            for (const r of c.rules) if (r.jumpName === c.name) self++;
            const referenced = (refs.get(c.name) ?? 0) - self > 0;
            if (referenced || c.rules.length > 0) throw new CommitError('', `CHAIN_DEL failed (Device or resource busy): chain ${c.name}`);
          }
          for (const c of victims) {
            t.chains.delete(c.name);
            replaced.push(c);
          }
          break;
        }
        case '-F':
        case '--flush': {
          const victims = chainArg === undefined ? [...t.chains.values()] : [getChain()];
          for (const c of victims) {
            const nc = c.clone();
            nc.txn = txn;
            nc.rules = [];
            t.chains.set(c.name, nc);
            replaced.push(c);
          }
          break;
        }
        case '-Z':
        case '--zero': {
          const victims = chainArg === undefined ? [...t.chains.values()] : [getChain()];
          for (const c of victims) {
            const nc = c.clone();
            nc.txn = txn;
            nc.pkts = nc.bytes = 0;
            nc.rules = c.rules.map((r) => r.copyZeroed());
            t.chains.set(c.name, nc);
            replaced.push(c);
          }
          break;
        }
        case '-P':
        case '--policy': {
          const c = getChain();
          const p = args[2];
          if (!c.builtin || (p !== 'ACCEPT' && p !== 'DROP')) throw new CommitError('Bad policy name.');
          const nc = c.clone();
          nc.txn = txn;
          nc.policy = p;
          t.chains.set(c.name, nc);
          replaced.push(c);
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
  for (const name of copied) work.get(name)!.link(txn, replaced);
  return { tables: work, result: { tables: [...touchedTables], rules, lines: lines.length } };
}
