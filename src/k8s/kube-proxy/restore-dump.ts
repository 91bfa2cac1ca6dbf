/**
 * A parsed iptables-restore payload: tables, chain lines, "-A" rules and "-X" deletions, in
 * the shape upstream's pkg/util/iptables/testing IPTablesDump has. Used by the in-memory
 * backend and to compare payloads the way upstream's tests do. Rules stay raw text: the
 * netfilter model is what gives them meaning.
 */

export interface DumpRule {
  raw: string;
  chain: string;
  /** --comment value, quotes removed */
  comment: string | undefined;
  /** -j target */
  jump: string | undefined;
}

export interface DumpChain {
  name: string;
  packets: number;
  bytes: number;
  rules: DumpRule[];
  deleted: boolean;
}

export interface DumpTable {
  name: string;
  chains: DumpChain[];
}

export class DumpParseError extends Error {
  override readonly name = 'DumpParseError';
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const WORD_RE = /(?:^|\s)("[^"]*"|[^"]\S*)/g;

/** Splits a rule into words; a double-quoted string is one word (quotes removed). */
export function ruleWords(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(WORD_RE)) out.push(m[1]!.replace(/^"|"$/g, ''));
  return out;
}

export function parseRule(raw: string): DumpRule {
  const words = ruleWords(raw);
  if (words.length < 2 || words[0] !== '-A') throw new Error('bad iptables rule (does not start with "-A CHAIN")');
  if (words.length < 3) throw new Error('bad iptables rule (no match rules)');
  let comment: string | undefined;
  let jump: string | undefined;
  for (let i = 2; i < words.length; i++) {
    if (words[i] === '--comment' && i + 1 < words.length) comment = words[++i];
    else if (words[i] === '-j' && i + 1 < words.length) jump = words[++i];
  }
  return { raw, chain: words[1]!, comment, jump };
}

export function getChain(t: DumpTable, name: string): DumpChain | undefined {
  return t.chains.find((c) => c.name === name);
}

/** ParseIPTablesDump: chain lines must precede rules within a table. */
export function parseDump(data: string): DumpTable[] {
  const tables: DumpTable[] = [];
  let t: DumpTable | undefined;
  let index = new Map<string, DumpChain>(); // chains of the current table by name
  let state: 'table' | 'chains' | 'rules' = 'table';
  const lines = data.replace(/^\n+|\n+$/g, '').split('\n');
  lines.forEach((rawLine, idx) => {
    const n = idx + 1;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    if (state === 'table') {
      const m = /^\*(.*)$/.exec(line);
      if (m === null) throw new DumpParseError(n, `table ${tables.length + 1} starts with "${line}" not a table name`);
      t = { name: m[1]!, chains: [] };
      tables.push(t);
      index = new Map();
      state = 'chains';
      return;
    }
    const table = t!;
    if (state === 'chains') {
      const m = /^:([^ ]*) - \[([0-9]*):([0-9]*)\]$/.exec(line);
      if (m !== null) {
        const c: DumpChain = { name: m[1]!, packets: Number(m[2]), bytes: Number(m[3]), rules: [], deleted: false };
        table.chains.push(c);
        if (!index.has(c.name)) index.set(c.name, c);
        return;
      }
      state = 'rules';
    }
    if (line.startsWith('-A ')) {
      const r = parseRule(line);
      const c = index.get(r.chain);
      if (c === undefined) throw new DumpParseError(n, `error parsing rule "${line}": no such chain "${r.chain}"`);
      if (c.deleted) throw new DumpParseError(n, `cannot add rules to deleted chain "${r.chain}"`);
      c.rules.push(r);
    } else if (line.startsWith('-X ')) {
      const name = line.slice(3);
      const c = index.get(name);
      if (c === undefined) throw new DumpParseError(n, `error parsing rule "${line}": no such chain "${name}"`);
      if (c.rules.length !== 0) throw new DumpParseError(n, `cannot delete chain "${name}" after adding rules`);
      c.deleted = true;
    } else if (line === 'COMMIT') {
      state = 'table';
    } else {
      throw new DumpParseError(n, `error parsing rule "${line}"`);
    }
  });
  if (state !== 'table') throw new DumpParseError(lines.length, 'could not parse iptables data (no COMMIT line?)');
  return tables;
}

/** IPTablesDump.String(): chain lines, rules grouped by chain, then -X lines. */
export function formatDump(tables: readonly DumpTable[]): string {
  let s = '';
  for (const t of tables) {
    s += `*${t.name}\n`;
    for (const c of t.chains) s += `:${c.name} - [${c.packets}:${c.bytes}]\n`;
    for (const c of t.chains) for (const r of c.rules) s += `${r.raw}\n`;
    for (const c of t.chains) if (c.deleted) s += `-X ${c.name}\n`;
    s += 'COMMIT\n';
  }
  return s;
}

function commentServiceName(r: DumpRule): string | undefined {
  if (r.comment === undefined) return undefined;
  const i = r.comment.search(/[ :]/);
  return i === -1 ? r.comment : r.comment.slice(0, i);
}

function byServiceName(a: DumpRule, b: DumpRule): number {
  const x = commentServiceName(a);
  const y = commentServiceName(b);
  if (x === undefined || y === undefined) return 0;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * sortIPTablesRules from upstream proxier_test.go: tables by name; chains KUBE-NODEPORTS,
 * KUBE-SERVICES, other KUBE-* alphabetically, then the rest; KUBE-NODEPORTS and
 * KUBE-SERVICES rules stably sorted by the service name in their comment (the nat
 * "must be the last rule" rule kept last). This is how upstream compares a payload whose
 * per-service order follows Go map iteration.
 */
export function sortDump(data: string): string {
  const tables = parseDump(data);
  tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rank = (n: string): number => (n === 'KUBE-NODEPORTS' ? 0 : n === 'KUBE-SERVICES' ? 1 : n.startsWith('KUBE-') ? 2 : 3);
  for (const t of tables) {
    t.chains.sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const np = getChain(t, 'KUBE-NODEPORTS');
    if (np !== undefined && (t.name === 'filter' || t.name === 'nat')) np.rules.sort(byServiceName);
    const sv = getChain(t, 'KUBE-SERVICES');
    if (sv !== undefined && t.name === 'filter') sv.rules.sort(byServiceName);
    if (sv !== undefined && t.name === 'nat') {
      const isLast = (r: DumpRule): boolean => r.comment?.includes('must be the last rule') ?? false;
      sv.rules.sort((a, b) => (isLast(a) ? (isLast(b) ? 0 : 1) : isLast(b) ? -1 : byServiceName(a, b)));
    }
  }
  return formatDump(tables);
}
