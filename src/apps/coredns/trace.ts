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
