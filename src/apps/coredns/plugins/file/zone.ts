import { fqdn, trimDot, type RR } from '../../dns/message.js';
import { isIPv4, isIPv6 } from '../../reverse.js';

/** A zone file that does not parse: miekg's `dns: bad A A: "..." at line: N:C` shape. */
export class ZoneParseError extends Error {
  constructor(
    msg: string,
    readonly line: number,
  ) {
    super(msg);
  }
}

/** Splits master-file text into logical lines of tokens: `;` comments, `( )` continuation, quotes. */
function logicalLines(text: string): { tokens: string[]; quoted: boolean[]; line: number; indented: boolean }[] {
  const out: { tokens: string[]; quoted: boolean[]; line: number; indented: boolean }[] = [];
  let cur: { tokens: string[]; quoted: boolean[]; line: number; indented: boolean } | null = null;
  let depth = 0;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.replace(/\r$/, '');
    if (depth === 0) {
      if (cur && cur.tokens.length) out.push(cur);
      cur = { tokens: [], quoted: [], line: n + 1, indented: /^[ \t]/.test(raw) };
    }
    let i = 0;
    while (i < raw.length) {
      const c = raw[i]!;
      if (c === ';') break;
      if (c === ' ' || c === '\t') {
        i++;
        continue;
      }
      if (c === '(') {
        depth++;
        i++;
        continue;
      }
      if (c === ')') {
        depth = Math.max(0, depth - 1);
        i++;
        continue;
      }
      if (c === '"') {
        let j = i + 1;
        let s = '';
        while (j < raw.length && raw[j] !== '"') {
          if (raw[j] === '\\' && j + 1 < raw.length) {
            s += raw[j + 1];
            j += 2;
            continue;
          }
          s += raw[j];
          j++;
        }
        cur!.tokens.push(s);
        cur!.quoted.push(true);
        i = j + 1;
        continue;
      }
      let j = i;
      while (j < raw.length && !' \t;()"'.includes(raw[j]!)) j++;
      cur!.tokens.push(raw.slice(i, j));
      cur!.quoted.push(false);
      i = j;
    }
  }
  if (cur && cur.tokens.length) out.push(cur);
  return out;
}

const TYPES = new Set(['A', 'AAAA', 'CNAME', 'NS', 'PTR', 'SOA', 'MX', 'TXT', 'SRV']);

/**
 * Parses an RFC 1035 master file for `origin` (the record types a cluster's outside zones
 * need: A, AAAA, CNAME, NS, PTR, SOA, MX, TXT, SRV; `$ORIGIN`, `$TTL`, `@`, relative names,
 * omitted owners, parentheses). Owner names come out lower-cased, as miekg's zone parser.
 */
export function parseZone(text: string, origin: string): RR[] {
  let org = fqdn(origin.toLowerCase());
  let defTTL: number | null = null;
  let lastOwner = org;
  let lastTTL = 3600;
  const abs = (n: string): string => {
    if (n === '@') return org;
    if (n.endsWith('.')) return n.toLowerCase();
    return org === '.' ? `${n}.`.toLowerCase() : `${n}.${org}`.toLowerCase();
  };
  const out: RR[] = [];
  for (const l of logicalLines(text)) {
    const t = l.tokens;
    if (t[0] === '$ORIGIN') {
      org = fqdn((t[1] ?? org).toLowerCase());
      continue;
    }
    if (t[0] === '$TTL') {
      defTTL = Number(t[1]);
      continue;
    }
    if (t[0]?.startsWith('$')) continue;
    let i = 0;
    let owner = lastOwner;
    if (!l.indented) {
      owner = abs(t[0]!);
      i = 1;
    }
    let ttl: number | null = null;
    for (let k = 0; k < 2; k++) {
      if (/^\d+$/.test(t[i] ?? '')) ttl = Number(t[i++]);
      else if ((t[i] ?? '').toUpperCase() === 'IN') i++;
    }
    const type = (t[i++] ?? '').toUpperCase();
    if (!TYPES.has(type)) throw new ZoneParseError(`dns: unknown RR type: "${t[i - 1] ?? ''}" at line: ${l.line}:1`, l.line);
    const rd = t.slice(i);
    const bad = (): ZoneParseError => new ZoneParseError(`dns: bad ${type} ${type}: "${rd.join(' ')}" at line: ${l.line}:1`, l.line);
    const rrTTL = ttl ?? defTTL ?? lastTTL;
    lastOwner = owner;
    if (ttl !== null) lastTTL = ttl;
    const name = trimDot(owner);
    switch (type) {
      case 'A':
        if (rd.length !== 1 || !isIPv4(rd[0]!)) throw bad();
        out.push({ name, type: 'A', class: 'IN', ttl: rrTTL, data: rd[0]! });
        break;
      case 'AAAA':
        if (rd.length !== 1 || !isIPv6(rd[0]!)) throw bad();
        out.push({ name, type: 'AAAA', class: 'IN', ttl: rrTTL, data: rd[0]!.toLowerCase() });
        break;
      case 'CNAME':
      case 'NS':
      case 'PTR':
        if (rd.length !== 1) throw bad();
        out.push({ name, type, class: 'IN', ttl: rrTTL, data: trimDot(abs(rd[0]!)) } as RR);
        break;
      case 'MX':
        if (rd.length !== 2 || !/^\d+$/.test(rd[0]!)) throw bad();
        out.push({ name, type: 'MX', class: 'IN', ttl: rrTTL, data: { preference: Number(rd[0]), exchange: trimDot(abs(rd[1]!)) } });
        break;
      case 'SRV':
        if (rd.length !== 4 || !rd.slice(0, 3).every((x) => /^\d+$/.test(x))) throw bad();
        out.push({ name, type: 'SRV', class: 'IN', ttl: rrTTL, data: { priority: Number(rd[0]), weight: Number(rd[1]), port: Number(rd[2]), target: trimDot(abs(rd[3]!)) } });
        break;
      case 'TXT':
        if (rd.length === 0) throw bad();
        out.push({ name, type: 'TXT', class: 'IN', ttl: rrTTL, data: rd });
        break;
      case 'SOA': {
        if (rd.length !== 7 || !rd.slice(2).every((x) => /^\d+$/.test(x))) throw bad();
        const [mname, rname, serial, refresh, retry, expire, minimum] = rd as [string, string, string, string, string, string, string];
        out.push({
          name,
          type: 'SOA',
          class: 'IN',
          ttl: rrTTL,
          data: { mname: trimDot(abs(mname)), rname: trimDot(abs(rname)), serial: Number(serial), refresh: Number(refresh), retry: Number(retry), expire: Number(expire), minimum: Number(minimum) },
        });
        if (defTTL === null && ttl === null) lastTTL = Number(minimum);
        break;
      }
    }
  }
  return out;
}
