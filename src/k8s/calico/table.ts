import { ruleHashes } from './hash.js';

/**
 * One Felix rule as felix/generictables.Rule: match fragments in the order the match builder
 * appended them (felix/iptables/match_builder.go), the action's fragment
 * (felix/iptables/actions.go ToFragment) and extra comments. This is Felix's own text, not
 * iptables-save's: the hash is computed over it, and iptables normalises it when it loads it.
 */
export interface FelixRule {
  readonly match?: readonly string[];
  readonly action?: Action;
  readonly comment?: readonly string[];
}

export interface FelixChain {
  readonly name: string;
  readonly rules: readonly FelixRule[];
}

/** An action's iptables fragment and, for jump/goto, the chain it refers to (Referrer). */
export interface Action {
  readonly fragment: string;
  readonly target?: string;
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** felix/iptables/actions.go, each ToFragment as written there. */
export const act = {
  accept: { fragment: '--jump ACCEPT' } as Action,
  drop: { fragment: '--jump DROP' } as Action,
  ret: { fragment: '--jump RETURN' } as Action,
  reject: { fragment: '--jump REJECT' } as Action,
  jump: (t: string): Action => ({ fragment: `--jump ${t}`, target: t }),
  goto: (t: string): Action => ({ fragment: `--goto ${t}`, target: t }),
  /** ClearMarkAction: `--set-mark 0/mask`. */
  clearMark: (mask: number): Action => ({ fragment: `--jump MARK --set-mark 0/${hex(mask)}` }),
  /** SetMarkAction: the bits as value and mask. */
  setMark: (mark: number): Action => ({ fragment: `--jump MARK --set-mark ${hex(mark)}/${hex(mark)}` }),
  setMaskedMark: (mark: number, mask: number): Action => ({ fragment: `--jump MARK --set-mark ${hex(mark)}/${hex(mask)}` }),
  masq: (randomFully: boolean): Action => ({ fragment: `--jump MASQUERADE${randomFully ? ' --random-fully' : ''}` }),
  snat: (to: string, randomFully: boolean): Action => ({ fragment: `--jump SNAT --to-source ${to}${randomFully ? ' --random-fully' : ''}` }),
  dnat: (to: string): Action => ({ fragment: `--jump DNAT --to-destination ${to}` }),
};

/** felix/iptables/match_builder.go, each method's fragment. */
export const m = {
  markClear: (mark: number): string => `-m mark --mark 0/${hex(mark)}`,
  markNotClear: (mark: number): string => `-m mark ! --mark 0/${hex(mark)}`,
  markSingleBitSet: (mark: number): string => `-m mark --mark ${hex(mark)}/${hex(mark)}`,
  markMatchesWithMask: (mark: number, mask: number): string => `-m mark --mark ${hex(mark)}/${hex(mask)}`,
  notMarkMatchesWithMask: (mark: number, mask: number): string => `-m mark ! --mark ${hex(mark)}/${hex(mask)}`,
  inInterface: (i: string): string => `--in-interface ${i}`,
  outInterface: (i: string): string => `--out-interface ${i}`,
  rpfCheckFailed: (): string => '-m rpfilter --invert --validmark',
  conntrackState: (s: string): string => `-m conntrack --ctstate ${s}`,
  notConntrackState: (s: string): string => `-m conntrack ! --ctstate ${s}`,
  protocol: (p: string): string => `-p ${p}`,
  protocolNum: (n: number): string => `-p ${n}`,
  sourceNet: (n: string): string => `--source ${n}`,
  destNet: (n: string): string => `--destination ${n}`,
  sourceIPSet: (s: string): string => `-m set --match-set ${s} src`,
  notSourceIPSet: (s: string): string => `-m set ! --match-set ${s} src`,
  destIPSet: (s: string): string => `-m set --match-set ${s} dst`,
  notDestIPSet: (s: string): string => `-m set ! --match-set ${s} dst`,
  destPorts: (ports: readonly (number | string)[]): string => `-m multiport --destination-ports ${ports.join(',')}`,
  srcAddrType: (t: string, limitIfaceOut: boolean): string => `-m addrtype --src-type ${t}${limitIfaceOut ? ' --limit-iface-out' : ''}`,
  notSrcAddrType: (t: string, limitIfaceOut: boolean): string => `-m addrtype ! --src-type ${t}${limitIfaceOut ? ' --limit-iface-out' : ''}`,
};

/** renderer.go escapeComment: anything outside `[\w @%+=:,./-]` becomes `_`; 256 chars at most. */
function commentFragment(c: string): string {
  return `-m comment --comment "${c.replace(/[^\w @%+=:,./-]/g, '_').slice(0, 256)}"`;
}

/** iptablesRenderer.renderInner after the command words (`-A chain`, `-I chain`). */
function renderInner(head: string[], hashFrag: string, r: FelixRule): string {
  const f = [...head];
  if (hashFrag) f.push(hashFrag);
  for (const c of r.comment ?? []) f.push(commentFragment(c));
  const match = (r.match ?? []).join(' ');
  if (match) f.push(match);
  if (r.action && r.action.fragment) f.push(r.action.fragment);
  return f.join(' ');
}

const hashComment = (prefix: string, hash: string): string => `-m comment --comment "${prefix}${hash}"`;

/** RuleHashes: each rule rendered as an append with the literal `HASH` as its comment. */
export function chainHashes(chain: FelixChain): string[] {
  return ruleHashes(chain.name, chain.rules.map((r) => renderInner(['-A', chain.name], 'HASH', r)));
}

export const RULE_HASH_PREFIX = 'cali:';

export function renderAppend(chain: string, r: FelixRule, hash: string): string {
  return renderInner(['-A', chain], hashComment(RULE_HASH_PREFIX, hash), r);
}

export function renderInsert(chain: string, r: FelixRule, hash: string): string {
  return renderInner(['-I', chain], hashComment(RULE_HASH_PREFIX, hash), r);
}

/**
 * One Felix table (felix/iptables/table.go) in its default insert mode: the chains Felix owns
 * (programmed only while referenced, counted from the rules it inserts into or appends to the
 * kernel's chains, transitively), the rules inserted at the top of built-in chains and those
 * always appended. `restoreText()` is the iptables-restore input of the first apply against a
 * table holding none of Felix's state: a forward reference `:chain - -` per chain (flushing
 * it), the chains' rules, the inserts in reverse order (`-I` pushes to the top) and the
 * appends, one transaction per table, for `iptables-restore --noflush`.
 */
export class FelixTable {
  private readonly chains = new Map<string, FelixChain>();
  private readonly inserts = new Map<string, FelixRule[]>();
  private readonly appends = new Map<string, FelixRule[]>();

  constructor(readonly name: 'raw' | 'mangle' | 'nat' | 'filter') {}

  updateChain(c: FelixChain): void {
    this.chains.set(c.name, c);
  }

  updateChains(cs: readonly FelixChain[]): void {
    for (const c of cs) this.updateChain(c);
  }

  insertOrAppendRules(chain: string, rules: FelixRule[]): void {
    this.inserts.set(chain, rules);
  }

  appendRules(chain: string, rules: FelixRule[]): void {
    this.appends.set(chain, rules);
  }

  /** The chains reachable from the inserted/appended rules: what Felix programs. */
  referencedChains(): string[] {
    const seen = new Set<string>();
    const visit = (rules: readonly FelixRule[]): void => {
      for (const r of rules) {
        const t = r.action?.target;
        if (!t || seen.has(t) || !t.startsWith('cali-')) continue;
        seen.add(t);
        const c = this.chains.get(t);
        if (c) visit(c.rules);
      }
    };
    for (const rs of [...this.inserts.values(), ...this.appends.values()]) visit(rs);
    return [...seen].sort();
  }

  chain(name: string): FelixChain | undefined {
    return this.chains.get(name);
  }

  restoreText(): string {
    const names = this.referencedChains();
    const missing = names.filter((n) => !this.chains.has(n));
    if (missing.length) throw new Error(`felix: ${this.name} table refers to chains it does not program: ${missing.join(', ')}`);
    const out: string[] = [`*${this.name}`];
    // Go map order in Felix; sorted here so the same cluster always writes the same text.
    for (const n of names) out.push(`:${n} - -`);
    for (const n of names) {
      const c = this.chains.get(n)!;
      const hashes = chainHashes(c);
      c.rules.forEach((r, i) => out.push(renderAppend(n, r, hashes[i]!)));
    }
    for (const [chain, rules] of [...this.inserts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const hashes = chainHashes({ name: chain, rules });
      for (let i = rules.length - 1; i >= 0; i--) out.push(renderInsert(chain, rules[i]!, hashes[i]!));
    }
    for (const [chain, rules] of [...this.appends].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      // expectedHashesForInsertAppendChain: appends hash under "<chain>*appends*".
      const hashes = chainHashes({ name: `${chain}*appends*`, rules });
      rules.forEach((r, i) => out.push(renderAppend(chain, r, hashes[i]!)));
    }
    out.push('COMMIT');
    return out.join('\n') + '\n';
  }
}
