import type { TraceEventBase } from '../../sim/trace.js';

/**
 * One plugin finished with a query: who (plugin), what it returned (rcode; `wrote` false
 * means the server writes the error reply), and its notes: `cache: hit|miss`,
 * `upstream: 192.168.4.1:53`, `rewrite: from -> to`.
 */
export interface DnsPluginEvent extends TraceEventBase {
  readonly kind: 'dns.plugin';
  readonly plugin: string;
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: number;
  readonly wrote: boolean;
  readonly depth: number;
  readonly notes: Readonly<Record<string, string | number | boolean>>;
  readonly error?: string;
}

/** The server answered a query (one per client query, after the chain). */
export interface DnsServerEvent extends TraceEventBase {
  readonly kind: 'dns.server';
  readonly server: string;
  readonly zone: string;
  readonly qname: string;
  readonly qtype: string;
  readonly rcode: string;
  /** The plugin that wrote the reply, '' when the server wrote an error reply. */
  readonly plugin: string;
  readonly remote: string;
}

export type DnsTraceEvent = DnsPluginEvent | DnsServerEvent;

/**
 * One line of text per DNS event, for `kubewire trace` and `dig` with tracing:
 * `coredns[node/netns] cache: miss`, `coredns[...] forward: 192.168.4.1:53 udp -> NOERROR`,
 * `coredns[...] kubernetes: NOERROR (answered)`, `coredns[...] answered A xxx.com. NOERROR by cache`.
 */
export function formatDnsEvent(e: DnsTraceEvent): string {
  const where = `coredns[${e.node}/${e.netns}]`;
  if (e.kind === 'dns.server') {
    return `${where} answered ${e.qtype} ${e.qname}. ${e.rcode} by ${e.plugin || 'server'} for ${e.remote}`;
  }
  const n = e.notes;
  const rc = RCODE_TEXT[e.rcode] ?? String(e.rcode);
  let detail: string;
  if (e.plugin === 'cache' && n['cache']) {
    detail = n['cache'] === 'miss' ? 'miss' : `${String(n['cache'])} (${String(n['type'])}, ttl ${String(n['ttl'])})`;
  } else if (e.plugin === 'forward' && n['upstream']) {
    detail = `${String(n['upstream'])} ${String(n['proto'])}, attempt ${String(n['attempts'])} -> ${e.wrote ? RCODE_TEXT[Number(n['rcode'] ?? 0)] ?? rc : `${rc} (not written)`}`;
  } else if (e.plugin === 'rewrite' && n['rewrite']) {
    detail = String(n['rewrite']);
  } else detail = `${rc}${e.wrote ? '' : ' (not written)'}`;
  const indent = '  '.repeat(e.depth);
  return `${indent}${where} ${e.plugin}: ${detail}${e.error ? ` [${e.error}]` : ''}`;
}

const RCODE_TEXT: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
