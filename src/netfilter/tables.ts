import type { NfHook } from './hooks.js';
import type { Rule } from './rule.js';

/** The tables and their built-in chains, in the order the kernel registers their hooks. */
export const TABLE_CHAINS: Readonly<Record<TableName, readonly NfHook[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};
export type TableName = 'raw' | 'mangle' | 'nat' | 'filter' | 'security';

/** The order iptables-nft-save prints tables in (enum nft_table_type). */
export const SAVE_TABLE_ORDER: readonly TableName[] = ['mangle', 'security', 'raw', 'filter', 'nat'];

export function isTableName(s: string): s is TableName {
  return s in TABLE_CHAINS;
}

export const IP_WORDS = 6;
export const IPF_DINV = 1;
export const IPF_SINV = 2;
export const IPF_PINV = 4;
/** The rule also checks interfaces or the fragment flag: look at the Rule object. */
export const IPF_SLOW = 8;

const NO_IP: readonly number[] = [];

/**
 * The packed IP parts as a plain array of small integers (every value fits int32): cheaper to
 * make than a typed array (no ArrayBuffer per chain; a 10,000-Service node has 40,000 chains)
 * and as fast to read.
 */
function packIp(rules: readonly Rule[]): readonly number[] {
  if (rules.length === 0) return NO_IP;
  const v: number[] = [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    v.push(
      r.dst & r.dmsk,
      r.dmsk | 0,
      r.src & r.smsk,
      r.smsk | 0,
      r.proto,
      (r.dInv ? IPF_DINV : 0) | (r.sInv ? IPF_SINV : 0) | (r.pInv ? IPF_PINV : 0) | (r.inM !== null || r.outM !== null || r.frag ? IPF_SLOW : 0),
    );
  }
  return v;
}

/** One chain. Built-ins have a policy and policy counters; user chains are `-`. */
export class Chain {
  rules: Rule[] = [];
  /**
   * The IP part of every rule packed flat (IP_WORDS int32 per rule: dst, dmsk, src, smsk,
   * proto, flags), rebuilt by Table.link(): the walk rejects most rules from this array alone,
   * as the kernel reads its contiguous rule blob.
   */
  ipv: readonly number[] = NO_IP;
  policy: 'ACCEPT' | 'DROP' | null;
  pkts = 0;
  bytes = 0;
  /** The restore transaction that made this object (restore.ts): it may change it in place. */
  txn = 0;
  /** The transaction that replaced or deleted this object: jumps to it must be resolved again. */
  replacedIn = 0;
  constructor(
    readonly name: string,
    readonly builtin: boolean,
  ) {
    this.policy = builtin ? 'ACCEPT' : null;
  }

  /** A copy with its own rule list (rules are shared until replaced), for atomic restore. */
  clone(): Chain {
    const c = new Chain(this.name, this.builtin);
    c.rules = this.rules.slice();
    c.policy = this.policy;
    c.pkts = this.pkts;
    c.bytes = this.bytes;
    return c;
  }
}

export class Table {
  readonly chains = new Map<string, Chain>();
  constructor(readonly name: TableName) {
    for (const h of TABLE_CHAINS[name]) this.chains.set(h, new Chain(h, true));
  }

  builtin(hook: NfHook): Chain | undefined {
    const c = this.chains.get(hook);
    return c?.builtin ? c : undefined;
  }

  /**
   * A copy for a restore transaction: the chain map is copied, the chains themselves are
   * shared until the transaction changes one (restore.ts clones it then), so a restore that
   * rewrites a few chains of 40,000 copies only those.
   */
  clone(): Table {
    const t = new Table(this.name);
    t.chains.clear();
    for (const [n, c] of this.chains) t.chains.set(n, c);
    return t;
  }

  /** User chains sorted as iptables-save lists them (strcmp order). */
  userChains(): Chain[] {
    return [...this.chains.values()].filter((c) => !c.builtin).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Resolves jumps/gotos to chain objects and repacks the IP parts of the chains transaction
   * `txn` made. With txn 0 (outside a restore) every jump is resolved and every chain packed;
   * within a restore only jumps not yet resolved or pointing at a chain object the
   * transaction replaced (marked in `replaced`) are looked up again. Run after each
   * successful change.
   */
  link(txn = 0, replaced: readonly Chain[] = []): void {
    for (const c of replaced) c.replacedIn = txn;
    const chains = this.chains;
    for (const c of chains.values()) {
      const rules = c.rules;
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]!;
        const j = r.jumpName;
        if (j === null) continue;
        const cur = r.jump;
        if (txn === 0 || cur === null || cur.replacedIn === txn) r.jump = chains.get(j) ?? null;
      }
      if (txn === 0 || c.txn === txn) c.ipv = packIp(rules);
    }
  }
}
