import { formatDnsEvent } from '../../apps/coredns/trace.js';
import { TcpdumpPrinter } from '../../pcap/tcpdump.js';
import type { TraceEventBase } from '../../sim/trace.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';
import type { ExchangeResult, Step } from './exchange.js';

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
      return `nat     ${s('manip')} ${s('from')} -> ${s('to')} (${s('how')}, ct ${s('ctId')})`;
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

/** The human trace: grouped by machine and namespace, one line per frame and per decision. */
export function formatTraceText(r: ExchangeResult, verbose = false): string {
  const out: string[] = [];
  const port = r.to.port !== undefined && r.proto !== 'icmp' ? `:${r.to.port}` : '';
  out.push(`trace ${r.from.label} (${r.from.ip}) -> ${r.to.label}${r.to.label.includes(formatIpv4(r.to.ip)) ? '' : ` (${formatIpv4(r.to.ip)}${port})`} ${r.proto}`);
  if (r.lookup) out.push(`getaddrinfo("${r.lookup.name}"): ${r.lookup.status}${r.lookup.answeredBy ? ` as ${r.lookup.answeredBy}` : ''}${r.lookup.addresses.length ? ` -> ${r.lookup.addresses.join(' ')}` : ''}`);
  const tcpdump = new TcpdumpPrinter();
  let at = '';
  for (const st of r.steps) {
    let line: string | null;
    let time: number;
    if (st.type === 'frame') {
      time = st.time;
      const summary = tcpdump.frame(st.bytes).split('\n');
      line = `${st.dev} ${st.direction === 'out' ? '>' : '<'}  ${summary.join('\n' + ' '.repeat(14 + st.dev.length + 4))}`;
    } else {
      time = st.event.time;
      line = describeEvent(st.event as Ev, verbose);
      if (line !== null && st.event.dev && !line.startsWith('route') && !line.startsWith('neigh') && !line.startsWith('fdb')) line = `${line}  (${st.event.dev})`;
    }
    if (line === null) continue;
    const w = where(st);
    if (w !== at) {
      out.push(w);
      at = w;
    }
    out.push(`  ${secs(time)}  ${line}`);
  }
  const frames = r.steps.filter((s) => s.type === 'frame').length;
  const machines = new Set(r.steps.map((s) => (s.type === 'frame' ? s.node : s.event.node))).size;
  out.push(r.delivered ? `delivered: ${r.response ? `answered "${r.response.trim()}"` : 'answered'} (${frames} frames on ${machines} machines)` : `NOT delivered: ${r.reason} (${frames} frames on ${machines} machines)`);
  return out.join('\n') + '\n';
}
