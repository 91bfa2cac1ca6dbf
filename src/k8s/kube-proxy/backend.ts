/**
 * What kube-proxy needs from iptables (pkg/util/iptables Interface, the part it uses), and an
 * in-memory implementation with the semantics of `iptables-restore --noflush` for chains and
 * rules: a chain line creates or flushes the chain, "-X" deletes it, unmentioned chains stay,
 * and a table is refused (left as it was) when a rule would jump to a chain that does not
 * exist, e.g. because it was just deleted while an old rule still references it. The
 * netfilter model implements the same interface for real packet processing.
 */
import { formatDump, getChain, parseDump, parseRule, type DumpTable } from './restore-dump.js';

export type TableName = 'filter' | 'nat' | 'mangle' | 'raw';

export interface IptablesBackend {
  /** iptables-restore --noflush --counters <text>; throws on failure. */
  restoreAll(text: string): void;
  /** The chains of a table, as `iptables-save -t TABLE` would list them. */
  listChains(table: TableName): string[];
  /** iptables -N (if missing); answers whether it existed. */
  ensureChain(table: TableName, chain: string): boolean;
  /** iptables -C, then -I CHAIN 1 (prepend) or -A; answers whether it existed. */
  ensureRule(position: 'prepend' | 'append', table: TableName, chain: string, args: readonly string[]): boolean;
  /** Whether MASQUERADE --random-fully is supported (iptables >= 1.6.2). */
  readonly hasRandomFully: boolean;
}

const BUILTIN_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'DNAT', 'SNAT', 'MASQUERADE', 'MARK']);

export class IptablesRestoreError extends Error {
  override readonly name = 'IptablesRestoreError';
}

/** In-memory iptables, as upstream's FakeIPTables behaves. */
export class MemoryIptables implements IptablesBackend {
  readonly tables: DumpTable[];

  constructor(readonly hasRandomFully = true) {
    const c = (name: string) => ({ name, packets: 0, bytes: 0, rules: [], deleted: false });
    this.tables = [
      { name: 'nat', chains: [c('PREROUTING'), c('INPUT'), c('OUTPUT'), c('POSTROUTING')] },
      { name: 'filter', chains: [c('INPUT'), c('FORWARD'), c('OUTPUT')] },
      { name: 'mangle', chains: [c('PREROUTING'), c('INPUT'), c('FORWARD'), c('OUTPUT'), c('POSTROUTING')] },
    ];
  }

  private table(name: string): DumpTable {
    const t = this.tables.find((x) => x.name === name);
    if (t === undefined) throw new IptablesRestoreError(`no such table "${name}"`);
    return t;
  }

  listChains(table: TableName): string[] {
    return this.table(table).chains.map((c) => c.name);
  }

  ensureChain(table: TableName, chain: string): boolean {
    const t = this.table(table);
    if (getChain(t, chain) !== undefined) return true;
    t.chains.push({ name: chain, packets: 0, bytes: 0, rules: [], deleted: false });
    return false;
  }

  ensureRule(position: 'prepend' | 'append', table: TableName, chain: string, args: readonly string[]): boolean {
    const c = getChain(this.table(table), chain);
    if (c === undefined) throw new IptablesRestoreError(`no such chain "${chain}"`);
    const raw = `-A ${chain} ${args.join(' ')}`;
    if (c.rules.some((r) => r.raw === raw)) return true;
    const rule = parseRule(raw);
    if (position === 'append') c.rules.push(rule);
    else c.rules.unshift(rule);
    return false;
  }

  restoreAll(text: string): void {
    const dump = parseDump(text);
    for (const nt of dump) {
      const old = this.table(nt.name);
      const backup = old.chains.map((c) => ({ ...c, rules: [...c.rules] }));
      const byName = new Map(old.chains.map((c) => [c.name, c]));
      const deleted = new Set<string>();
      for (const nc of nt.chains) {
        const oc = byName.get(nc.name);
        if (oc === undefined && !nc.deleted) {
          const c = { ...nc, rules: [...nc.rules] };
          old.chains.push(c);
          byName.set(c.name, c);
        } else if (oc !== undefined && nc.deleted) {
          byName.delete(nc.name);
          deleted.add(nc.name);
        } else if (oc !== undefined) {
          oc.rules = [...nc.rules];
          oc.packets = nc.packets;
          oc.bytes = nc.bytes;
        }
      }
      if (deleted.size > 0) old.chains = old.chains.filter((c) => !deleted.has(c.name));
      for (const c of old.chains) {
        for (const r of c.rules) {
          if (r.jump === undefined || BUILTIN_TARGETS.has(r.jump)) continue;
          if (byName.has(r.jump)) continue;
          old.chains = backup;
          const deleted = getChain(nt, r.jump);
          throw new IptablesRestoreError(
            deleted !== undefined
              ? `deleted chain "${r.jump}" is referenced by existing rules`
              : `rule "${r.raw}" jumps to a non-existent chain`,
          );
        }
      }
    }
  }

  /** The whole state in restore form. */
  dump(): string {
    return formatDump(this.tables);
  }
}
