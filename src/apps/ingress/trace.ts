/**
 * What the ingress controller tells a trace: one event per proxied request, carrying the
 * whole routing decision (which server and location matched and why, the upstream backend,
 * the endpoint chosen, the rewritten URI, the status sent).
 */
import type { TraceEventBase } from '../../sim/trace.js';

export interface UpstreamAttempt {
  /** `ip:port` the balancer chose. */
  readonly endpoint: string;
  /** `ok`, or the connect errno / `closed` when the upstream failed. */
  readonly result: string;
  /** The upstream connection's local side, when it connected. */
  readonly local: string | null;
  readonly reused: boolean;
}

export interface IngressDecision {
  readonly client: string;
  readonly requestLine: string;
  /** `$host` (null when the request had no usable Host). */
  readonly host: string | null;
  readonly server: string;
  readonly serverMatch: 'exact' | 'regex' | 'default';
  /** The matched location line (`location = /api/v1`), or null when none matched. */
  readonly location: string | null;
  readonly locationMatch: 'exact' | 'longest-prefix' | 'regex' | null;
  readonly alsoMatched: readonly string[];
  readonly ingress: string | null;
  readonly service: string | null;
  readonly backend: string | null;
  readonly rewrite: { readonly rule: string; readonly from: string; readonly to: string } | null;
  /** The request-target sent upstream. */
  readonly upstreamTarget: string | null;
  readonly attempts: readonly UpstreamAttempt[];
  readonly requestId: string | null;
  readonly status: number;
  /** Why nginx answered itself (`no ready endpoints: 503`, `no location`), when it did. */
  readonly answeredBy: 'upstream' | 'nginx';
  readonly why: string;
}

export interface IngressTraceEvent extends TraceEventBase {
  readonly kind: 'ingress-nginx';
  /**
   * The decision's gist as scalars, for the trace's text line and `--json` (which keep only
   * scalar fields): `api.example.com location = /api/v1 (exact)`, or the default server.
   */
  readonly rule: string;
  readonly ingress: string | null;
  readonly service: string | null;
  /** The endpoint of the last upstream try (`ip:port`), null when nginx answered itself. */
  readonly upstream: string | null;
  readonly decision: IngressDecision;
}

/** The `rule` of a decision: server (how it matched), then the location (how it matched). */
export function ruleOf(d: IngressDecision): string {
  const server = d.serverMatch === 'default' ? `${d.server} (default server)` : d.server;
  return d.location === null ? `${server}: no location` : `${server} ${d.location} (${d.locationMatch})`;
}
