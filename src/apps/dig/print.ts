import type { Msg, RR } from '../coredns/dns/message.js';
import { flagNames, opcodeName, rcodeName } from '../coredns/dns/message.js';
import { MONTHS, pad2, utcTime, WEEKDAYS } from '../../sim/calendar.js';

/**
 * The dig kubewire imitates, byte for byte: BIND 9.18 as Debian 12 ships it (the goldens
 * are checked against this binary). Pod images carry other versions; only this line and
 * the mDNS warning differ between 9.16 and 9.18 for the outputs modelled here.
 */
export const DIG_VERSION = '9.18.49-1~deb12u3-Debian';

/** Which parts dig prints (`+[no]cmd`, `+[no]comments`, `+[no]question`, ..., `+short`). */
export interface DigDisplay {
  cmd: boolean;
  comments: boolean;
  question: boolean;
  answer: boolean;
  authority: boolean;
  additional: boolean;
  stats: boolean;
  short: boolean;
}

export const DEFAULT_DISPLAY: DigDisplay = {
  cmd: true,
  comments: true,
  question: true,
  answer: true,
  authority: true,
  additional: true,
  stats: true,
  short: false,
};

export interface DigExchange {
  /** The command line after `dig`, echoed in the banner. */
  readonly argv: string;
  /** `; (1 server found)`: printed when `@server` came before the name. */
  readonly serverFound: boolean;
  readonly query: Msg;
  readonly reply: Msg;
  readonly replySize: number;
  readonly server: { readonly addr: string; readonly port: number; readonly name?: string };
  readonly proto: 'UDP' | 'TCP';
  /** Simulated time from send to receive, nanoseconds. */
  readonly elapsedNs: number;
  /** Unix seconds at receive time (the simulated wall clock). */
  readonly whenUnix: number;
  /** dig saw TC over UDP and is showing the TCP retry. */
  readonly truncatedRetry?: boolean;
}

// BIND's default presentation columns (masterdump.c dns_master_style_default as dig uses it).
const TTL_COL = 24;
const CLASS_COL = 32;
const TYPE_COL = 40;
const RDATA_COL = 48;
const TAB = 8;

/** masterdump.c `indent`: tabs to the column, at least one space when already past it. */
function indent(col: number, to: number): [string, number] {
  let target = to;
  if (target < col + 1) target = col + 1;
  const ntabs = Math.max(0, Math.floor(target / TAB) - Math.floor(col / TAB));
  let out = '\t'.repeat(ntabs);
  let from = ntabs > 0 ? Math.floor(target / TAB) * TAB : col;
  out += ' '.repeat(target - from);
  from = target;
  return [out, from];
}

export function absName(n: string): string {
  if (n === '.' || n === '') return '.';
  return n.endsWith('.') ? n : `${n}.`;
}

function txtString(b: Uint8Array | string): string {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  let s = '"';
  for (const c of bytes) {
    if (c === 0x22 || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c < 0x20 || c > 0x7e) s += `\\${String(c).padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return `${s}"`;
}

/** The rdata in BIND presentation format. */
export function rdataText(r: RR): string {
  const d = r.data as unknown;
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return String(d);
    case 'CNAME':
    case 'NS':
    case 'PTR':
    case 'DNAME':
      return absName(String(d));
    case 'SOA': {
      const s = d as { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
      return `${absName(s.mname)} ${absName(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case 'SRV': {
      const s = d as { priority?: number; weight?: number; port: number; target: string };
      return `${s.priority ?? 0} ${s.weight ?? 0} ${s.port} ${absName(s.target)}`;
    }
    case 'MX': {
      const m = d as { preference?: number; exchange: string };
      return `${m.preference ?? 0} ${absName(m.exchange)}`;
    }
    case 'TXT': {
      const parts = Array.isArray(d) ? (d as (string | Uint8Array)[]) : [d as string | Uint8Array];
      return parts.map(txtString).join(' ');
    }
    case 'HINFO': {
      const h = d as { cpu: string; os: string };
      return `${txtString(h.cpu)} ${txtString(h.os)}`;
    }
    default: {
      const b = Buffer.isBuffer(d) ? d : Buffer.alloc(0);
      return b.length ? `\\# ${b.length} ${b.toString('hex').toUpperCase()}` : '\\# 0';
    }
  }
}

/** One record line as dig prints it in a section. */
export function rrLine(r: RR): string {
  let line = absName(r.name);
  let col = line.length;
  let pad: string;
  const add = (to: number, text: string): void => {
    [pad, col] = indent(col, to);
    line += pad + text;
    col += text.length;
  };
  add(TTL_COL, String(r.ttl ?? 0));
  add(CLASS_COL, r.class ?? 'IN');
  add(TYPE_COL, r.type);
  add(RDATA_COL, rdataText(r));
  return line;
}

/** A question line: `;name.<tab>IN<tab>A` (the `;` does not count toward the columns). */
export function questionLine(q: { name: string; type: string; class: string }): string {
  let line = absName(q.name);
  let col = line.length;
  let pad: string;
  [pad, col] = indent(col, CLASS_COL);
  line += pad + q.class;
  col += q.class.length;
  [pad, col] = indent(col, TYPE_COL);
  line += pad + q.type;
  return `;${line}`;
}

export function flagsText(m: Msg): string {
  return flagNames(m).join(' ');
}

/** `strftime("%a %b %d %H:%M:%S %Z %Y")` in UTC, from Unix seconds. */
export function digWhen(unix: number): string {
  const t = utcTime(unix);
  return `${WEEKDAYS[t.weekday]} ${MONTHS[t.month - 1]} ${pad2(t.day)} ${pad2(t.hour)}:${pad2(t.minute)}:${pad2(t.second)} UTC ${t.year}`;
}

function cookieOf(m: Msg): Uint8Array | null {
  const o = m.edns?.options.find((x) => x.code === 10);
  return o?.data ? new Uint8Array(o.data) : null;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** The OPT pseudosection lines (dig `printmessage` with EDNS). */
function optLines(reply: Msg, query: Msg): string[] {
  const e = reply.edns!;
  const out = [';; OPT PSEUDOSECTION:', `; EDNS: version: ${e.version}, flags:${e.do ? ' do' : ''}; udp: ${e.udpSize}`];
  const rc = cookieOf(reply);
  if (rc) {
    const sent = cookieOf(query);
    let verdict = '';
    if (sent && rc.length === 8 && hex(rc) === hex(sent)) verdict = ' (echoed)';
    else if (sent && rc.length >= 16 && hex(rc.slice(0, 8)) === hex(sent)) verdict = ' (good)';
    else if (sent) verdict = ' (bad)';
    out.push(`; COOKIE: ${hex(rc)}${verdict}`);
  }
  for (const o of e.options) {
    if (o.code === 10) continue;
    if (o.code === 3) out.push(`; NSID: ${o.data ? hex(o.data) : ''}`);
  }
  return out;
}

/** Prints one dig run the way `dig` 9.18 does, from the query it sent and the reply it got. */
export function printDig(x: DigExchange, display: DigDisplay = DEFAULT_DISPLAY): string {
  const { reply, query } = x;
  if (display.short) {
    return reply.answer.map((r) => `${rdataText(r)}\n`).join('');
  }
  const L: string[] = [];
  // dig prints this before the banner, when it moves the lookup to TCP (dighost.c).
  if (x.truncatedRetry && display.comments) L.push(';; Truncated, retrying in TCP mode.');
  if (display.cmd) {
    L.push('');
    L.push(`; <<>> DiG ${DIG_VERSION} <<>> ${x.argv}`);
    if (x.serverFound) L.push('; (1 server found)');
    L.push(';; global options: +cmd');
  }
  const q = reply.question[0] ?? query.question[0];
  if (display.comments) {
    L.push(';; Got answer:');
    if (q && /(^|\.)local\.?$/i.test(q.name)) {
      L.push(';; WARNING: .local is reserved for Multicast DNS');
      L.push(';; You are currently testing what happens when an mDNS query is leaked to DNS');
    }
    L.push(`;; ->>HEADER<<- opcode: ${opcodeName(reply.opcode)}, status: ${rcodeName(reply.rcode)}, id: ${reply.id}`);
    const addl = reply.extra.length + (reply.edns ? 1 : 0);
    L.push(`;; flags: ${flagsText(reply)}; QUERY: ${reply.question.length}, ANSWER: ${reply.answer.length}, AUTHORITY: ${reply.ns.length}, ADDITIONAL: ${addl}`);
    if (query.rd && !reply.ra) L.push(';; WARNING: recursion requested but not available');
    L.push('');
    if (reply.edns) L.push(...optLines(reply, query));
  }
  const section = (title: string, rrs: RR[], on: boolean): void => {
    if (!on || rrs.length === 0) return;
    if (display.comments) L.push(`;; ${title} SECTION:`);
    for (const r of rrs) L.push(rrLine(r));
    if (display.comments) L.push('');
  };
  if (display.question && reply.question.length) {
    if (display.comments) L.push(';; QUESTION SECTION:');
    for (const qq of reply.question) L.push(questionLine(qq));
    if (display.comments) L.push('');
  }
  section('ANSWER', reply.answer, display.answer);
  section('AUTHORITY', reply.ns, display.authority);
  section('ADDITIONAL', reply.extra, display.additional);
  if (display.stats) {
    const srv = x.server;
    L.push(`;; Query time: ${Math.floor(x.elapsedNs / 1e6)} msec`);
    L.push(`;; SERVER: ${srv.addr}#${srv.port}(${srv.name ?? srv.addr}) (${x.proto})`);
    L.push(`;; WHEN: ${digWhen(x.whenUnix)}`);
    L.push(`;; MSG SIZE  rcvd: ${x.replySize}`);
    L.push('');
  }
  return L.length ? `${L.join('\n')}\n` : '';
}

/** What dig prints when no try got an answer (9.18: one line per failed try, then the banner). */
export function printDigSearch(runs: readonly { exchange: DigExchange | null; failures: string[] }[], showsearch: boolean, display: DigDisplay = DEFAULT_DISPLAY): string {
  const shown = showsearch ? runs : runs.slice(-1);
  return shown.map((r) => (r.exchange ? printDig(r.exchange, display) : '')).join('');
}

export function printDigFailure(argv: string, serverFound: boolean, server: string, port: number, failures: readonly string[]): string {
  const L = failures.map((f) => `;; communications error to ${server}#${port}: ${f}`);
  L.push('', `; <<>> DiG ${DIG_VERSION} <<>> ${argv}`);
  if (serverFound) L.push('; (1 server found)');
  L.push(';; global options: +cmd', ';; no servers could be reached');
  return `${L.join('\n')}\n`;
}
