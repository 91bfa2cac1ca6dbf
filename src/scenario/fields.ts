import { isNode, type Node } from 'yaml';
import { parseCidr, parseIpv4, type Ipv4Cidr, type Ipv4Addr } from '../wire/ipv4-address.js';
import { parseMac } from '../wire/mac-address.js';
import type { Diagnostic, SourcePos } from './error.js';
import { posAt, type SourceDoc } from './source.js';

export type Path = readonly (string | number)[];

/**
 * Typed reads of one document's fields. Every problem is recorded as a diagnostic at the
 * position of the offending node (or of its nearest existing parent), so messages name
 * file:line:col; reads answer undefined on error and the caller goes on, collecting them all.
 */
export class FieldReader {
  constructor(
    readonly src: SourceDoc,
    readonly diags: Diagnostic[],
  ) {}

  pos(path: Path, key = false): SourcePos {
    for (let n = path.length; n >= 0; n--) {
      const sub = path.slice(0, n);
      let node: unknown;
      if (key && n === path.length && n > 0) {
        // Position of the key itself, for "unknown field" messages.
        const parent = this.src.doc.getIn(sub.slice(0, -1), true) as unknown;
        const pair = isNode(parent) && 'items' in parent ? (parent.items as { key: unknown }[]).find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === sub[sub.length - 1]) : undefined;
        node = pair?.key;
      } else {
        node = sub.length === 0 ? this.src.doc.contents : this.src.doc.getIn(sub, true);
      }
      if (isNode(node) && (node as Node).range) return posAt(this.src.file, this.src.lines, (node as Node).range![0]);
    }
    return posAt(this.src.file, this.src.lines, this.src.doc.range[0]);
  }

  error(path: Path, message: string, key = false): void {
    this.diags.push({ severity: 'error', pos: this.pos(path, key), message });
  }

  warn(path: Path, message: string): void {
    this.diags.push({ severity: 'warning', pos: this.pos(path), message });
  }

  get(path: Path): unknown {
    let v: unknown = this.src.value;
    for (const k of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string | number, unknown>)[k];
    }
    return v;
  }

  has(path: Path): boolean {
    return this.get(path) !== undefined && this.get(path) !== null;
  }

  private need(path: Path, required: boolean): unknown {
    const v = this.get(path);
    if ((v === undefined || v === null) && required) this.error(path, `missing required field "${dotted(path)}"`);
    return v ?? undefined;
  }

  str(path: Path, opts: { required?: boolean; oneOf?: readonly string[] } = {}): string | undefined {
    const v = this.need(path, opts.required ?? false);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.error(path, `"${dotted(path)}" must be a string`);
      return undefined;
    }
    if (opts.oneOf && !opts.oneOf.includes(v)) {
      this.error(path, `"${dotted(path)}" must be one of ${opts.oneOf.join(', ')}, not "${v}"`);
      return undefined;
    }
    return v;
  }

  int(path: Path, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.need(path, opts.required ?? false);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.error(path, `"${dotted(path)}" must be an integer`);
      return undefined;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      this.error(path, `"${dotted(path)}" must be between ${opts.min ?? '-inf'} and ${opts.max ?? 'inf'}, not ${v}`);
      return undefined;
    }
    return v;
  }

  bool(path: Path): boolean | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.error(path, `"${dotted(path)}" must be true or false`);
      return undefined;
    }
    return v;
  }

  ipv4(path: Path, opts: { required?: boolean } = {}): Ipv4Addr | undefined {
    const s = this.str(path, opts);
    if (s === undefined) return undefined;
    try {
      return parseIpv4(s);
    } catch {
      this.error(path, `"${dotted(path)}": "${s}" is not an IPv4 address`);
      return undefined;
    }
  }

  cidr(path: Path, opts: { required?: boolean } = {}): Ipv4Cidr | undefined {
    const s = this.str(path, opts);
    if (s === undefined) return undefined;
    try {
      const c = parseCidr(s);
      if (!s.includes('/')) throw new Error('no prefix length');
      return c;
    } catch {
      this.error(path, `"${dotted(path)}": "${s}" is not an IPv4 CIDR (a.b.c.d/len)`);
      return undefined;
    }
  }

  mac(path: Path): string | undefined {
    const s = this.str(path);
    if (s === undefined) return undefined;
    try {
      parseMac(s);
      return s.toLowerCase();
    } catch {
      this.error(path, `"${dotted(path)}": "${s}" is not a MAC address`);
      return undefined;
    }
  }

  list(path: Path, opts: { required?: boolean; max?: number } = {}): unknown[] | undefined {
    const v = this.need(path, opts.required ?? false);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.error(path, `"${dotted(path)}" must be a list`);
      return undefined;
    }
    if (opts.max !== undefined && v.length > opts.max) {
      this.error(path, `"${dotted(path)}" has ${v.length} items, more than the limit of ${opts.max}`);
      return undefined;
    }
    return v;
  }

  map(path: Path, opts: { required?: boolean } = {}): Record<string, unknown> | undefined {
    const v = this.need(path, opts.required ?? false);
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v) || v === null) {
      this.error(path, `"${dotted(path)}" must be a mapping`);
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  /** Flags keys of a mapping that are not in `known` (typos would otherwise be ignored). */
  onlyKeys(path: Path, known: readonly string[]): void {
    const m = this.get(path);
    if (!m || typeof m !== 'object' || Array.isArray(m)) return;
    for (const k of Object.keys(m)) {
      if (!known.includes(k)) this.error([...path, k], `unknown field "${dotted([...path, k])}"`, true);
    }
  }

  stringMap(path: Path): Record<string, string> | undefined {
    const m = this.map(path);
    if (!m) return undefined;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') this.error([...path, k], `"${dotted([...path, k])}" must be a string`);
    }
    return m as Record<string, string>;
  }
}

export function dotted(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
