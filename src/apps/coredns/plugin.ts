import type { EventQueue } from '../../sim/event-queue.js';
import type { Random } from '../../sim/random.js';
import type { TraceSink } from '../../sim/trace.js';
import type { Dispenser } from './corefile/dispenser.js';
import { Rcode, type Msg } from './dns/message.js';
import type { DnsTraceEvent } from './trace.js';
import type { DnsNet, Endpoint } from './transport.js';
import type { KubeStore } from './plugins/kubernetes/store.js';
import type { Registry } from './plugins/prometheus/registry.js';

/** Facts about the exchange a plugin may look at (`request.Request` without the message). */
export interface RequestInfo {
  readonly remote: Endpoint;
  readonly local: Endpoint;
  readonly proto: 'udp' | 'tcp';
  /** Wire length of the query as received. */
  readonly size: number;
}

/** `dns.ResponseWriter`: plugins that wrap the reply path (cache, loadbalance, rewrite) wrap this. */
export interface ResponseWriter {
  readonly info: RequestInfo;
  writeMsg(m: Msg): void;
}

/**
 * Per-query state shared down the chain (Go's ctx): which plugin runs now (so the metrics
 * `plugin` label and the trace know who wrote), notes for the trace, and the server block.
 */
export interface RequestContext {
  readonly server: ServerHandle;
  /** The server block's zone that matched (`.`, `cluster.local.`). */
  readonly blockZone: string;
  /** `dns://:53` as the metrics label. */
  readonly serverAddr: string;
  readonly start: number;
  /** Name of the plugin being run (set by `invoke`). */
  current: string;
  /** The plugin whose writeMsg reached the client first, '' if the server wrote an error. */
  writer: string | null;
  /** Details the plugins add for their trace event (cache hit/miss, upstream used). */
  notes: Map<string, Record<string, string | number | boolean>>;
  /** Re-entry depth (ExternalName lookups, loop guards). */
  depth: number;
}

/** What a plugin can ask of the server that runs it. */
export interface ServerHandle {
  readonly env: CoreDnsEnv;
  /** Re-enters the server with a new question (`pkg/upstream.Lookup`); answers the reply. */
  lookup(ctx: RequestContext, info: RequestInfo, name: string, type: string, cb: (m: Msg | null) => void): void;
}

/** `ServeDNS` returns (rcode, err) in Go; here it calls `done` once, maybe later (forward). */
export type Done = (rcode: number, err?: Error | null) => void;

export interface Handler {
  readonly name: string;
  /** Set by the server when it builds the chain in PLUGIN_CFG order. */
  next: Handler | null;
  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void;
}

/** Everything a CoreDNS process gets from its pod: clock, randomness, files, the API, sockets. */
export interface CoreDnsEnv {
  readonly eq: EventQueue;
  readonly rng: Random;
  readonly trace: TraceSink<DnsTraceEvent> | null;
  readonly node: string;
  readonly netns: string;
  /** Unix time (s) at simulated time 0; wall-clock readings are epoch + eq.now. */
  readonly epochSeconds: number;
  /** Files in the pod: Corefile imports, hosts files, /etc/resolv.conf (the node's). */
  readonly files: Readonly<Record<string, string>>;
  readonly k8s: KubeStore | null;
  /** Sockets for forward and loop; null = no network (forward answers SERVFAIL). */
  readonly net: DnsNet | null;
  /** The pod's own IPs (kubernetes NS records, loop's listen address). */
  readonly localIPs: readonly string[];
  /** Process stdout, one line per call (log, errors, loop). */
  readonly stdout: (line: string) => void;
  readonly metrics: Registry;
}

/** The setup context of one directive use: `caddy.Controller`. */
export interface SetupContext {
  readonly d: Dispenser;
  readonly env: CoreDnsEnv;
  /** The server block's zones (FQDN, lower case) and port. */
  readonly zones: readonly string[];
  readonly port: number;
  /** `dns://:53`. */
  readonly serverAddr: string;
  /** Registers something to run once the whole server is built (loop's probe, ready). */
  onStartup(fn: () => void): void;
  /** Serves an HTTP path on `addr` (`:8080`), as health, ready and prometheus do. */
  http(addr: string, path: string, fn: () => HttpReply): void;
  /** Registers a readiness check for the ready plugin (`ready.Readiness`). */
  readiness(plugin: string, ready: () => boolean): void;
  /** Names of the readiness plugins not ready yet. */
  notReady(): string[];
  /** Logs a fatal line and stops the process from serving (log.Fatal). */
  fatal(line: string): void;
  /**
   * Runs at SIGTERM, in setup (plugin.cfg) order, before the servers stop (Caddy's
   * OnFinalShutdown). A number returned is seconds the callback blocks (health's lameduck).
   */
  onShutdown(fn: () => number | void): void;
  /** Stops serving an HTTP path (ready closes its listener at shutdown). */
  closeHttp(addr: string, path: string): void;
}

export interface HttpReply {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

/**
 * A plugin's setup, called once per server block with every use of its directive: a handler
 * for the chain, several (forward, one per use, in Corefile order), or null for setup-only
 * plugins (reload, health).
 */
export type SetupFn = (c: SetupContext) => Handler | Handler[] | null;

export interface PluginDef {
  readonly name: string;
  readonly setup: SetupFn;
  /** `this plugin can only be used once per Server Block`. */
  readonly once?: boolean;
}

/** `plugin.ClientWrite`: these rcodes mean the plugin did not write, the server must. */
export function clientWrote(rcode: number): boolean {
  return !(rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED || rcode === Rcode.FORMERR || rcode === Rcode.NOTIMP);
}

/** Runs `h` with the context's current plugin set, tracing its outcome. */
export function invoke(h: Handler, ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
  const prev = ctx.current;
  ctx.current = h.name;
  const env = ctx.server.env;
  h.serveDNS(ctx, w, r, (rcode, err) => {
    const sink = env.trace;
    if (sink) {
      const q = r.question[0];
      const e: DnsTraceEvent = {
        kind: 'dns.plugin',
        time: env.eq.now,
        node: env.node,
        netns: env.netns,
        step: `coredns:${h.name}`,
        verdict: rcodeVerdict(rcode, err),
        plugin: h.name,
        qname: q ? q.name : '',
        qtype: q ? q.type : '',
        rcode,
        wrote: clientWrote(rcode),
        depth: ctx.depth,
        notes: { ...(ctx.notes.get(h.name) ?? {}) },
      };
      if (err) (e as { error?: string }).error = err.message;
      sink.record(e);
    }
    ctx.current = prev;
    done(rcode, err);
  });
}

function rcodeVerdict(rcode: number, err?: Error | null): string {
  return err ? `rcode ${rcode}: ${err.message}` : `rcode ${rcode}`;
}

/** `plugin.NextOrFailure`: runs the next handler, or SERVFAIL when there is none. */
export function nextOrFailure(name: string, next: Handler | null, ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
  if (next) invoke(next, ctx, w, r, done);
  else done(Rcode.SERVFAIL, new Error(`plugin/${name}: no next plugin found`));
}

/** Adds a trace note for the running plugin. */
export function note(ctx: RequestContext, plugin: string, key: string, value: string | number | boolean): void {
  let n = ctx.notes.get(plugin);
  if (!n) ctx.notes.set(plugin, (n = {}));
  n[key] = value;
}
