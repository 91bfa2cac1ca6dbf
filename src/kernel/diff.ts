// The differential suite's comparison: the model's and the kernel's text for one item
// (a namespace's `ip route`, an interface's frames), a unified diff when they differ, and a
// narrow allowlist of known differences, each a whole line with the reason it is allowed.

export interface DiffLine {
  readonly op: ' ' | '-' | '+';
  readonly text: string;
}

/** Line diff by longest common subsequence (the texts are a few hundred lines at most). */
export function diffLines(a: readonly string[], b: readonly string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ op: ' ', text: a[i++]! });
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push({ op: '+', text: b[j++]! });
    else out.push({ op: '-', text: a[i++]! });
  }
  // Deletions before insertions within a run of changes, as diff -u prints them.
  for (let k = 0; k < out.length; ) {
    if (out[k]!.op === ' ') {
      k++;
      continue;
    }
    let e = k;
    while (e < out.length && out[e]!.op !== ' ') e++;
    const run = out.slice(k, e);
    out.splice(k, e - k, ...run.filter((l) => l.op === '-'), ...run.filter((l) => l.op === '+'));
    k = e;
  }
  return out;
}

function splitText(t: string): string[] {
  const lines = t.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** `diff -u`-style text (hunks with `context` lines around), or '' when equal. */
export function unifiedDiff(aName: string, bName: string, a: string | readonly string[], b: string | readonly string[], context = 3): string {
  const al = typeof a === 'string' ? splitText(a) : a;
  const bl = typeof b === 'string' ? splitText(b) : b;
  return formatHunks(aName, bName, diffLines(al, bl), context);
}

export function formatHunks(aName: string, bName: string, d: readonly DiffLine[], context = 3): string {
  if (!d.some((l) => l.op !== ' ')) return '';
  const out = [`--- ${aName}`, `+++ ${bName}`];
  const changed = d.map((l) => l.op !== ' ');
  let k = 0;
  while (k < d.length) {
    if (!changed[k]) {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // Extend while the next change is within 2*context lines.
    for (;;) {
      let next = end + 1;
      while (next < d.length && !changed[next]) next++;
      if (next < d.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(d.length, end + context + 1);
    let aStart = 1;
    let bStart = 1;
    for (let x = 0; x < start; x++) {
      if (d[x]!.op !== '+') aStart++;
      if (d[x]!.op !== '-') bStart++;
    }
    const hunk = d.slice(start, stop);
    const aLen = hunk.filter((l) => l.op !== '+').length;
    const bLen = hunk.filter((l) => l.op !== '-').length;
    out.push(`@@ -${aLen ? aStart : aStart - 1},${aLen} +${bLen ? bStart : bStart - 1},${bLen} @@`);
    for (const l of hunk) out.push(`${l.op}${l.text}`);
    k = stop;
  }
  return `${out.join('\n')}\n`;
}

/** A difference the suite knows about and allows: one whole line, on one side, in matching items. */
export interface KnownDifference {
  /** The item name, or a RegExp over it (e.g. /iptables-save$/). */
  readonly item: string | RegExp;
  /** '-' the model has this line and the kernel does not, '+' the other way. */
  readonly op: '-' | '+';
  /** The exact line, or a RegExp over it. */
  readonly line: string | RegExp;
  /** Why it differs (and where it is recorded: docs/kernel-mode.md "Known differences"). */
  readonly why: string;
}

export interface Compared {
  readonly item: string;
  readonly model: string;
  readonly kernel: string;
}

export interface ComparisonReport {
  /** The unified diffs left after removing known differences; empty when all agree. */
  readonly failures: string;
  /** Known differences that were seen (line, item, why). */
  readonly known: { readonly item: string; readonly line: string; readonly why: string }[];
  /** Known differences that matched nothing: the model or the kernel changed. */
  readonly unused: readonly KnownDifference[];
}

const matches = (p: string | RegExp, s: string): boolean => (typeof p === 'string' ? p === s : p.test(s));

/** Compares every item; a line on one side only fails unless a known difference names it. */
export function compareAll(items: readonly Compared[], allow: readonly KnownDifference[] = []): ComparisonReport {
  const used = new Set<KnownDifference>();
  const known: ComparisonReport['known'] = [];
  const parts: string[] = [];
  for (const it of items) {
    const d = diffLines(splitText(it.model), splitText(it.kernel));
    const kept = d.map((l) => {
      if (l.op === ' ') return l;
      const k = allow.find((a) => a.op === l.op && matches(a.item, it.item) && matches(a.line, l.text));
      if (!k) return l;
      used.add(k);
      known.push({ item: it.item, line: `${l.op}${l.text}`, why: k.why });
      // A known model-only line drops out; a known kernel-only line too.
      return null;
    }).filter((l): l is DiffLine => l !== null);
    const text = formatHunks(`model ${it.item}`, `kernel ${it.item}`, kept);
    if (text) parts.push(text);
  }
  return { failures: parts.join('\n'), known, unused: allow.filter((a) => !used.has(a)) };
}
