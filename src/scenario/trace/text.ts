import { formatDnsEvent } from '../../apps/coredns/trace.js';
import { TcpdumpPrinter } from '../../pcap/tcpdump.js';
import type { TraceEventBase } from '../../sim/trace.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';
import type { ExchangeResult, Step } from './exchange.js';
import { packetOfSteps } from './packets.js';

/** Seconds with microseconds, as `tcpdump -ttt`-style relative times read. */
function secs(ns: number): string {
  return (ns / 1e9).toFixed(6);
}

type Ev = TraceEventBase & Record<string, unknown>;

/**
 * One line for a decision, naming the object that made it; null for events the frame lines
 * already show (ARP, per-device rcv/xmit) or that would only repeat (rules that did not match).
 */
export function describeEvent(e: Ev, verbose: boolean): string | null {
  const s = (k: string): string => String(e[k] ?? '');
  switch (e.kind) {
    case 'linux.fib':
      return `route   ${e.route ?? `no route to ${s('dst')}`}  [${e.step}${e.verdict ? ' ' + e.verdict : ''}]`;
    case 'linux.neigh':
      return `neigh   ${s('entry').trimEnd()}${e.verdict ? `  [${e.verdict}]` : ''}`;
    case 'linux.fdb':
      return `fdb     ${e.entry ?? `${s('mac')} not found: flood`}${e.verdict ? `  [${e.verdict}]` : ''}`;
    case 'linux.ttl':
      return `ttl     ${s('ttl')}  [${e.step}]`;
    case 'linux.icmp':
      return `icmp    send type ${s('type')} code ${s('code')} to ${s('to')}  [${e.step}]`;
    case 'linux.drop':
      return `DROP    ${s('reason')}  [${e.step}]`;
    case 'linux.deliver':
      return verbose ? `deliver protocol ${s('proto')}  [${e.step}]` : null;
    case 'linux.nf_hook':
      return verbose ? `hook    ${s('hook')} ${s('owner')} (priority ${s('priority')})${e.verdict ? ' ' + e.verdict : ''}` : null;
    case 'linux.arp':
    case 'linux.rcv':
    case 'linux.xmit':
      return null;
    case 'nf.rule':
      return e.matched || verbose ? `${e.matched ? 'rule   ' : 'skip   '} ${s('table')}:${s('chain')}:rule:${s('ruleNum')}  ${s('rule')}` : null;
    case 'nf.policy':
      return `policy  ${s('table')}:${s('chain')}:policy:${s('ruleNum')}${e.verdict ? ' ' + e.verdict : ''}`;
    case 'nf.return':
      return verbose ? `return  ${s('table')}:${s('chain')}:return:${s('ruleNum')}` : null;
    case 'nf.table':
      return `table   ${s('table')} ${s('hook')}: ${s('evaluated')} rules evaluated${e.verdict ? ', ' + e.verdict : ''}`;
    case 'nf.nat':
      // nf_nat_alloc_null_binding: the connection is NATed to itself (no rule translated it).
      return e.how === 'null-binding' ? `nat     ${s('manip')} null binding (ct ${s('ctId')})` : `nat     ${s('manip')} ${s('from')} -> ${s('to')} (${s('how')}, ct ${s('ctId')})`;
    case 'nf.ct':
      return `ct      ${s('action')}${e.ctinfo ? ' ' + s('ctinfo') : ''}${e.entry ? '  ' + s('entry') : ''}`;
    case 'nf.log':
    case 'nf.trace':
      return `log     ${s('text')}`;
    case 'nf.reject':
      return `REJECT  with ${s('with')}`;
    case 'ipvs.service':
      return `ipvs    service ${s('text')}`;
    case 'ipvs.schedule':
      return `ipvs    schedule: ${s('why')}`;
    case 'ipvs.conn':
      return `ipvs    conn ${s('action')}: ${s('text')}`;
    case 'ipvs.nat':
      return `ipvs    ${s('direction')} ${s('text')}`;
    case 'ipvs.drop':
      return `DROP    ipvs: ${s('reason')}`;
    case 'sock.lookup':
      return `socket  ${s('how')}${e.socket ? ' ' + s('socket') : ''}`;
    case 'tcp.state':
      return `tcp     ${s('from')} -> ${s('to')} (${s('why')})`;
    case 'tcp.rst':
    case 'tcp.retransmit':
    case 'tcp.timeout':
      return `tcp     ${String(e.kind).slice(4)} ${s('dir')} [${s('flags')}]: ${s('why')}`;
    case 'tcp.syn':
      return verbose ? `tcp     SYN ${s('dir')} [${s('flags')}]` : null;
    case 'sock.error':
      return `socket  error ${s('errno')}: ${s('why')}`;
    case 'sock.deliver':
      return verbose ? `socket  ${s('bytes')} bytes to the application` : null;
    case 'lb':
      return `lb      client ${s('client')} -> ${e.target ? `node ${s('target')}, a new connection from ${s('upstreamLocal')}` : 'no node answered'}  [${s('verdict')}]`;
    case 'ingress-nginx':
      return `nginx   ${s('rule')}${e.ingress ? `, Ingress ${s('ingress')}` : ''}${e.service ? `, Service ${s('service')}` : ''}: ${s('step')}${e.upstream ? ` to ${s('upstream')}` : ''}, ${s('verdict')}`;
    default: {
      if (String(e.kind).startsWith('dns.')) return `dns     ${formatDnsEvent(e as never)}`;
      const { kind, time: _t, node: _n, netns: _ns, dev: _d, step, verdict, ...rest } = e;
      const fields = Object.entries(rest).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => `${k}=${String(v)}`);
      return `${kind} ${step}${verdict ? ' ' + verdict : ''} ${fields.join(' ')}`.trimEnd();
    }
  }
}

function where(st: Step): string {
  return st.type === 'frame' ? `${st.node} ${st.netns}` : `${st.event.node} ${st.event.netns}`;
}

/** What `tcpdump -nn -i DEV` prints for each frame: one printer per device, as one tcpdump each. */
export function frameSummaries(steps: readonly Step[]): (string | null)[] {
  const printers = new Map<string, TcpdumpPrinter>();
  return steps.map((st) => {
    if (st.type !== 'frame') return null;
    let pr = printers.get(st.iface);
    if (!pr) printers.set(st.iface, (pr = new TcpdumpPrinter()));
    return pr.frame(st.bytes);
  });
}

interface Line {
  readonly where: string;
  readonly text: string;
}

/** The printable lines of the steps, in order (null for steps nothing is printed for). */
function stepLines(r: ExchangeResult, summaries: readonly (string | null)[], verbose: boolean, indent: number): (Line | null)[] {
  return r.steps.map((st, i) => {
    let line: string | null;
    let time: number;
    if (st.type === 'frame') {
      time = st.time;
      const prefix = `${secs(time)}  ${st.dev} ${st.direction === 'out' ? '>' : '<'}  `;
      return { where: where(st), text: prefix + summaries[i]!.split('\n').join('\n' + ' '.repeat(indent + prefix.length)) };
    }
    time = st.event.time;
    line = describeEvent(st.event as Ev, verbose);
    if (line === null) return null;
    if (st.event.dev && !line.startsWith('route') && !line.startsWith('neigh') && !line.startsWith('fdb')) line = `${line}  (${st.event.dev})`;
    return { where: where(st), text: `${secs(time)}  ${line}` };
  });
}

/** Decisions that end a packet's way: drops, missing routes, DROP/REJECT verdicts, failed neighbours. */
function isDeath(e: Ev): boolean {
  switch (e.kind) {
    case 'linux.drop':
    case 'nf.reject':
    case 'ipvs.drop':
      return true;
    case 'linux.fib':
      return e.route === null || e.verdict === 'unreachable' || e.verdict === 'blackhole' || e.verdict === 'prohibit';
    case 'linux.ttl':
      return e.verdict === 'EXCEEDED';
    case 'linux.neigh':
      return e.state === 'FAILED';
    case 'nf.policy':
      return e.verdict === 'DROP';
    case 'nf.rule':
      return e.matched === true && / -j (DROP|REJECT)\b/.test(String(e.rule));
    default:
      return false;
  }
}

/** Where the first packet the sender sent that met its end did (for NOT delivered). */
function whereItDied(r: ExchangeResult, packets: readonly number[]): { where: string; packet: number; line: string } | null {
  const fromHere = new Set<number>();
  r.steps.forEach((st, i) => {
    if (st.type === 'frame' && st.node === r.from.machine.name && st.netns === r.from.netns.netns && st.direction === 'out') fromHere.add(packets[i]!);
  });
  let fallback: { where: string; packet: number; line: string } | null = null;
  for (let i = 0; i < r.steps.length; i++) {
    const st = r.steps[i]!;
    if (st.type !== 'event' || !isDeath(st.event as Ev)) continue;
    const line = describeEvent(st.event as Ev, true);
    if (line === null) continue;
    const d = { where: where(st), packet: packets[i]!, line };
    if (fromHere.has(packets[i]!)) return d;
    fallback ??= d;
  }
  return fallback;
}

/**
 * The human trace, grouped per packet (numbered by first appearance, headed by what tcpdump
 * prints for it where it first appears) and, within a packet, per machine and namespace in
 * the order it crossed them: one line per frame and per decision.
 */
export function formatTraceText(r: ExchangeResult, verbose = false): string {
  const out: string[] = [];
  const port = r.to.port !== undefined && r.proto !== 'icmp' ? `:${r.to.port}` : '';
  out.push(`trace ${r.from.label} (${r.from.ip}) -> ${r.to.label}${r.to.label.includes(formatIpv4(r.to.ip)) ? '' : ` (${formatIpv4(r.to.ip)}${port})`} ${r.proto}`);
  if (r.lookup) out.push(`getaddrinfo("${r.lookup.name}"): ${r.lookup.status}${r.lookup.answeredBy ? ` as ${r.lookup.answeredBy}` : ''}${r.lookup.addresses.length ? ` -> ${r.lookup.addresses.join(' ')}` : ''}`);
  const packets = packetOfSteps(r.steps);
  const grouped = packets.some((n) => n !== 0);
  const summaries = frameSummaries(r.steps);
  const lines = stepLines(r, summaries, verbose, grouped ? 4 : 2);
  if (!grouped) {
    // Steps that name no packet (a kernel capture): in time order, per machine and namespace.
    let at = '';
    for (const l of lines) {
      if (l === null) continue;
      if (l.where !== at) out.push((at = l.where));
      out.push(`  ${l.text}`);
    }
  } else {
    const order: number[] = [];
    const members = new Map<number, number[]>();
    packets.forEach((n, i) => {
      let m = members.get(n);
      if (!m) {
        members.set(n, (m = []));
        order.push(n);
      }
      m.push(i);
    });
    // Steps tied to no packet at all come last.
    order.sort((a, b) => (a === 0 ? 1 : b === 0 ? -1 : a - b));
    for (const n of order) {
      const idx = members.get(n)!;
      const printed = idx.filter((i) => lines[i] !== null);
      if (printed.length === 0) continue;
      const first = idx.find((i) => r.steps[i]!.type === 'frame');
      out.push(n === 0 ? 'no packet' : `packet ${n}  ${first !== undefined ? summaries[first]!.split('\n').pop()! : '(not seen on any device)'}`);
      let at = '';
      for (const i of printed) {
        const l = lines[i]!;
        if (l.where !== at) out.push(`  ${(at = l.where)}`);
        out.push(`    ${l.text}`);
      }
    }
  }
  if (!r.delivered) {
    const d = whereItDied(r, packets);
    if (d !== null) out.push(`died at ${d.where}${d.packet ? ` (packet ${d.packet})` : ''}: ${d.line.replace(/^[\d.]+ {2}/, '')}`);
  }
  const frames = r.steps.filter((s) => s.type === 'frame').length;
  const machines = new Set(r.steps.map((s) => (s.type === 'frame' ? s.node : s.event.node))).size;
  out.push(r.delivered ? `delivered: ${r.response ? `answered "${r.response.trim()}"` : 'answered'} (${frames} frames on ${machines} machines)` : `NOT delivered: ${r.reason} (${frames} frames on ${machines} machines)`);
  return out.join('\n') + '\n';
}
