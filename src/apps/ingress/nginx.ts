/**
 * The data path of the ingress-nginx controller pod: nginx listening on :80 (and the
 * built-in default server on :8181), routing each request by the configuration the
 * controller half built (model.ts), and proxying it over a NEW TCP connection from the pod
 * to the chosen upstream (pod IP:targetPort, or ClusterIP:port with service-upstream), as
 * the `location` blocks of nginx.tmpl and ngx_http_proxy_module do:
 *
 * Request to the upstream (proxy_http_version 1.1): the request line with the original
 * request-target (or the rewritten, escaped `$uri?$args`), then the proxy_set_header list in
 * nginx.tmpl order, empty values omitted:
 *   Host $best_http_host | Upgrade $http_upgrade | Connection $connection_upgrade ("" with
 *   upstream keepalive, "close" without, "upgrade" for an Upgrade) | X-Request-ID $req_id |
 *   X-Real-IP $remote_addr | X-Forwarded-For $remote_addr (or "$http_x_forwarded_for,
 *   $realip_remote_addr" with use-forwarded-headers + compute-full-forwarded-for) |
 *   X-Forwarded-Host $best_http_host | X-Forwarded-Port $pass_port | X-Forwarded-Proto,
 *   X-Forwarded-Scheme, X-Scheme $pass_access_scheme | X-Original-Forwarded-For
 *   $http_x_forwarded_for | Proxy ""
 * then nginx's defaults not set above (Content-Length of the buffered body), then the
 * client's headers, in order, except those named above (ngx_http_proxy_create_request).
 *
 * Response to the client (ngx_http_header_filter_module order): Server (cleared by
 * `more_clear_headers Server` unless show-server-tokens), Date (nginx's clock),
 * Content-Type, Content-Length, Transfer-Encoding, Connection (keep-alive / close), then
 * the upstream's other headers in order (Location and Last-Modified among them); the upstream's Date,
 * Server, X-Pad, X-Accel-*, Connection, Keep-Alive and Transfer-Encoding are not passed.
 *
 * nginx answers itself with its built-in page when no location matches (404), when the
 * backend has no balancer because it has no ready endpoint (balancer.lua rewrite: 503),
 * when every upstream try fails (502), and for malformed requests (400/413/414/494).
 * Idle upstream connections are kept (upstream-keepalive-connections 320, 60 s) and reused
 * for the same peer, as nginx's keepalive module does.
 */
import type { EventQueue } from '../../sim/event-queue.js';
import type { Random } from '../../sim/random.js';
import type { TraceSink } from '../../sim/trace.js';
import { NS_PER_S } from '../../sim/clock.js';
import { formatIpv4, tryParseIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { httpDate } from '../http/date.js';
import { HttpError } from '../http/errors.js';
import { nginxErrorPage, nginxReason, wireStatus } from '../http/error-pages.js';
import { getHeader, getHeaders, h, keepAlive, latin1Bytes, type HttpHeader, type HttpRequest, type HttpResponse } from '../http/message.js';
import { HttpParser, NGINX_UPSTREAM_LIMITS, nginxValidHeaderName } from '../http/parser.js';
import { serialize } from '../http/serialize.js';
import { listenHttp } from '../http/server.js';
import { isConnectFailure, type TcpConnection, type TcpConnector, type TcpListenerHost } from '../http/stream.js';
import { RoundRobin } from './balancer.js';
import { applyRewrite, escapeUri, hostFromHeader, matchLocation, matchServer, parseTarget } from './match.js';
import { buildConfiguration, type Backend, type IngressConfiguration, type IngressInputs } from './model.js';
import { INGRESS_NGINX_DEFAULTS, type IngressNginxOptions } from './options.js';
import { ruleOf, type IngressDecision, type IngressTraceEvent, type UpstreamAttempt } from './trace.js';

export interface IngressNginxDeps {
  /** Where nginx listens (the controller pod's, or the node's with hostNetwork). */
  readonly listener: TcpListenerHost;
  /** Where upstream connections are opened from (the same network namespace). */
  readonly connector: TcpConnector;
  readonly clock: EventQueue;
  readonly rng: Random;
  readonly trace: TraceSink<IngressTraceEvent> | null;
  readonly node: string;
  readonly netns: string;
  /** Unix time at simulated time 0 (for Date). */
  readonly epochSeconds?: number;
}

/** Headers the proxy never passes from the upstream response (proxy_hide_header defaults + hop-by-hop). */
const HIDDEN_RESPONSE = new Set(['date', 'server', 'x-pad', 'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset', 'connection', 'keep-alive', 'transfer-encoding']);
/**
 * Upstream headers nginx prints in fixed slots of its header filter (they live in
 * headers_out fields); Location and Last-Modified stay list entries, in upstream order.
 */
const SLOTTED = new Set(['content-type', 'content-length']);

interface PooledConn {
  readonly conn: TcpConnection;
  readonly peer: string;
  onData: ((b: Uint8Array) => void) | null;
  onEnd: (() => void) | null;
  idleTimer: { cancelled: boolean } | null;
  dead: boolean;
}

export class IngressNginx {
  readonly opts: IngressNginxOptions;
  config: IngressConfiguration;
  readonly decisions: IngressDecision[] = [];
  private readonly balancers = new Map<string, RoundRobin>();
  private readonly idle = new Map<string, PooledConn[]>();
  private readonly reqIdRng: Random;
  private readonly lbRng: Random;

  constructor(
    private readonly deps: IngressNginxDeps,
    opts: Partial<IngressNginxOptions> = {},
  ) {
    this.opts = { ...INGRESS_NGINX_DEFAULTS, ...opts };
    this.reqIdRng = deps.rng.fork('request-id');
    this.lbRng = deps.rng.fork('balancer');
    this.config = buildConfiguration({ ingresses: [], ingressClasses: [], services: [], endpointSlices: [] }, this.opts);
    this.syncBalancers();
  }

  /** The controller's sync: rebuild the configuration; balancers follow endpoint changes. */
  sync(inputs: IngressInputs): IngressConfiguration {
    this.config = buildConfiguration(inputs, this.opts);
    this.syncBalancers();
    return this.config;
  }

  /** balancer.lua sync_backends: a balancer per backend with endpoints; reinit when they change. */
  private syncBalancers(): void {
    const keep = new Set<string>();
    for (const b of this.config.backends.values()) {
      if (b.endpoints.length === 0) continue;
      keep.add(b.name);
      const nodes = b.endpoints.map((e) => `${e.address}:${e.port}`);
      const cur = this.balancers.get(b.name);
      if (!cur) this.balancers.set(b.name, new RoundRobin(this.lbRng, nodes));
      else if (cur.members.join(',') !== nodes.join(',')) cur.reinit(nodes);
    }
    for (const k of [...this.balancers.keys()]) if (!keep.has(k)) this.balancers.delete(k);
  }

  /** Starts listening on the HTTP port and the built-in default server's port. */
  start(): void {
    // keepalive_timeout 75s (ingress-nginx keep-alive)
    const idle = { clock: this.deps.clock, ns: this.opts.keepAliveSeconds * NS_PER_S };
    listenHttp(this.deps.listener, this.opts.httpPort, {
      onRequest: (req, conn, respond) => this.handle(req, conn, respond),
      onBadRequest: (err) => this.ownResponse(err.status, null),
    }, undefined, idle);
    // `server { listen 8181 default_server; location / { return 404; } }`
    listenHttp(this.deps.listener, this.opts.defaultServerPort, {
      onRequest: (req, _conn, respond) => respond(this.ownResponse(404, req)),
      onBadRequest: (err) => this.ownResponse(err.status, null),
    }, undefined, idle);
  }

  private date(): string {
    return httpDate(this.deps.clock, this.deps.epochSeconds);
  }

  private serverHeader(): HttpHeader[] {
    return this.opts.showServerTokens ? [h('Server', `nginx/${this.opts.nginxVersion}`)] : [];
  }

  /** nginx's special response (ngx_http_special_response_handler) for `code`. */
  ownResponse(code: number, req: HttpRequest | null): HttpResponse {
    const page = nginxErrorPage(code, this.opts.showServerTokens ? `nginx/${this.opts.nginxVersion}` : 'nginx') ?? '';
    const status = wireStatus(code);
    const body = latin1Bytes(page);
    const closeAfter = [400, 413, 414, 494, 500, 501].includes(code) || req === null || !keepAlive(req);
    const hs = [...this.serverHeader(), h('Date', this.date())];
    if (page !== '') hs.push(h('Content-Type', 'text/html'));
    hs.push(h('Content-Length', String(body.length)), h('Connection', closeAfter ? 'close' : 'keep-alive'));
    return { kind: 'response', version: 'HTTP/1.1', status, reason: nginxReason(status), headers: hs, body: req?.method === 'HEAD' ? new Uint8Array(0) : body, chunked: false, trailers: [] };
  }

  private record(d: IngressDecision): void {
    this.decisions.push(d);
    const upstream = d.attempts.length > 0 ? d.attempts[d.attempts.length - 1]!.endpoint : null;
    this.deps.trace?.record({ kind: 'ingress-nginx', time: this.deps.clock.now, node: this.deps.node, netns: this.deps.netns, step: d.answeredBy === 'upstream' ? 'proxy_pass' : 'return', verdict: String(d.status), rule: ruleOf(d), ingress: d.ingress, service: d.service, upstream, decision: d });
  }

  private requestId(req: HttpRequest): string | null {
    const given = getHeader(req.headers, 'x-request-id');
    if (given !== undefined && given !== '') return given;
    if (!this.opts.generateRequestId) return null;
    // ngx_http_variable_request_id: 16 random bytes as 32 lower-case hex digits
    let s = '';
    for (let i = 0; i < 4; i++) s += this.reqIdRng.u32().toString(16).padStart(8, '0');
    return s;
  }

  private handle(raw: HttpRequest, conn: TcpConnection, respond: (res: HttpResponse) => void): void {
    // ignore_invalid_headers on, underscores_in_headers off: such headers are dropped unseen
    const req: HttpRequest = raw.headers.every((x) => nginxValidHeaderName(x.name)) ? raw : { ...raw, headers: raw.headers.filter((x) => nginxValidHeaderName(x.name)) };
    const client = `${formatIpv4(conn.remoteAddr)}:${conn.remotePort}`;
    const requestLine = `${req.method} ${req.target} ${req.version}`;
    const base = { client, requestLine, alsoMatched: [] as string[], ingress: null, service: null, backend: null, rewrite: null, upstreamTarget: null, attempts: [] as UpstreamAttempt[], requestId: null };
    const self = (code: number, why: string, extra: Partial<IngressDecision>): void => {
      const res = this.ownResponse(code, req);
      this.record({ ...base, host: null, server: '_', serverMatch: 'default', location: null, locationMatch: null, ...extra, status: res.status, answeredBy: 'nginx', why });
      respond(res);
    };
    // Host: required in HTTP/1.1, exactly one (ngx_http_process_host / process_request_header)
    const hosts = getHeaders(req.headers, 'host');
    if (hosts.length > 1) return self(400, 'client sent duplicate host header', {});
    if (hosts.length === 0 && req.version === 'HTTP/1.1') return self(400, 'client sent HTTP/1.1 request without "Host" header', {});
    let host: string | null = null;
    const absolute = /^https?:\/\/([^/?#]*)/i.exec(req.target);
    if (absolute) {
      // an absolute-form request-target names the host itself (ngx_http_process_request_uri)
      host = hostFromHeader(absolute[1]!);
      if (host === null) return self(400, 'client sent invalid host in request line', {});
    } else if (hosts.length === 1) {
      host = hostFromHeader(hosts[0]!);
      if (host === null) return self(400, 'client sent invalid host header', {});
    }
    let target;
    try {
      target = parseTarget(req.target);
    } catch (e) {
      if (e instanceof HttpError) return self(400, e.detail, { host });
      throw e;
    }
    const sm = matchServer(this.config, host);
    const where = { host, server: sm.server.hostname, serverMatch: sm.how };
    const lm = matchLocation(sm.server, target.uri);
    if (!lm) return self(404, `no location of server ${sm.server.serverName} matches ${target.uri}`, where);
    const loc = lm.location;
    const at = { ...where, location: loc.rendered, locationMatch: lm.how, alsoMatched: lm.alsoMatched, ingress: loc.ingress, service: loc.service, backend: loc.backend };
    const backend = this.config.backends.get(loc.backend);
    const balancer = this.balancers.get(loc.backend);
    if (!backend || !balancer) return self(503, `backend ${loc.backend} has no balancer: ${backend?.note ?? 'unknown backend'}`, at);

    // rewrite phase: rewrite-target, then the upstream request-target
    const rw = applyRewrite(loc, target.uri, target.args);
    let upstreamTarget: string;
    if (rw) upstreamTarget = escapeUri(rw.uri) + (rw.args !== null ? `?${rw.args}` : '');
    else upstreamTarget = /^https?:\/\//i.test(req.target) ? req.target.slice(req.target.indexOf('/', req.target.indexOf('//') + 2)) || '/' : req.target;
    const rewrite = rw ? { rule: rw.rule, from: target.uri, to: rw.uri + (rw.args !== null ? `?${rw.args}` : '') } : null;
    const requestId = this.requestId(req);
    const upReq = this.upstreamRequest(req, conn, upstreamTarget, requestId);
    const attempts: UpstreamAttempt[] = [];
    const done = (res: HttpResponse, answeredBy: 'upstream' | 'nginx', why: string): void => {
      this.record({ ...base, ...at, rewrite, upstreamTarget, attempts, requestId, status: res.status, answeredBy, why });
      respond(res);
    };
    const tryOnce = (n: number): void => {
      const peer = balancer.find();
      this.exchange(peer, upReq, (r) => {
        attempts.push({ endpoint: peer, result: r.kind === 'ok' ? 'ok' : r.why, local: r.local, reused: r.reused });
        if (r.kind === 'ok') return done(this.clientResponse(req, r.res), 'upstream', `${lm.how} match in server ${sm.server.serverName} (${sm.how})`);
        if (r.retry && n + 1 < this.opts.proxyNextUpstreamTries) return tryOnce(n + 1);
        done(this.ownResponse(502, req), 'nginx', `upstream ${peer}: ${r.why}`);
      });
    };
    tryOnce(0);
  }

  /** The request nginx sends upstream (ngx_http_proxy_create_request with nginx.tmpl's headers). */
  upstreamRequest(req: HttpRequest, conn: Pick<TcpConnection, 'remoteAddr' | 'localPort'>, target: string, requestId: string | null): HttpRequest {
    const o = this.opts;
    const peer = formatIpv4(conn.remoteAddr);
    const xff = getHeader(req.headers, 'x-forwarded-for');
    let remoteAddr = peer;
    if (o.useForwardedHeaders && xff !== undefined) {
      // real_ip_header X-Forwarded-For, set_real_ip_from 0.0.0.0/0, real_ip_recursive on
      const first = xff.split(',').map((s) => s.trim()).find((s) => tryParseIpv4(s) !== undefined);
      if (first !== undefined) remoteAddr = first;
    }
    const httpHost = getHeader(req.headers, 'host') ?? '';
    let bestHost = httpHost;
    let scheme = 'http';
    let serverPort = String(conn.localPort);
    if (o.useForwardedHeaders) {
      const xfp = getHeader(req.headers, 'x-forwarded-proto');
      const xfport = getHeader(req.headers, 'x-forwarded-port');
      const xfh = getHeader(req.headers, 'x-forwarded-host');
      if (xfp !== undefined) scheme = xfp;
      if (xfport !== undefined) serverPort = xfport;
      if (xfh !== undefined) bestHost = xfh.split(',')[0] ?? '';
    }
    const passPort = serverPort === String(o.httpsPort) ? '443' : serverPort;
    const upgrade = getHeader(req.headers, 'upgrade') ?? '';
    const connection = upgrade !== '' ? 'upgrade' : o.upstreamKeepaliveConnections > 0 ? '' : 'close';
    const fullXff = o.useForwardedHeaders && o.computeFullForwardedFor ? (xff !== undefined && xff !== '' ? `${xff}, ${peer}` : peer) : remoteAddr;
    const set: [string, string][] = [
      ['Host', bestHost],
      ['Upgrade', upgrade],
      ['Connection', connection],
      ['X-Request-ID', requestId ?? ''],
      ['X-Real-IP', remoteAddr],
      ['X-Forwarded-For', fullXff],
      ['X-Forwarded-Host', bestHost],
      ['X-Forwarded-Port', passPort],
      ['X-Forwarded-Proto', scheme],
      ['X-Forwarded-Scheme', scheme],
      ['X-Scheme', scheme],
      ['X-Original-Forwarded-For', xff ?? ''],
      ['Proxy', ''],
      // ngx_http_proxy_headers defaults not set above
      ['Content-Length', req.body.length > 0 || getHeader(req.headers, 'content-length') !== undefined || req.chunked ? String(req.body.length) : ''],
      ['Transfer-Encoding', ''],
      ['TE', ''],
      ['Keep-Alive', ''],
      ['Expect', ''],
    ];
    const names = new Set(set.map(([n]) => n.toLowerCase()));
    const headers: HttpHeader[] = set.filter(([, v]) => v !== '').map(([n, v]) => h(n, v));
    for (const x of req.headers) if (!names.has(x.name.toLowerCase())) headers.push(x);
    return { kind: 'request', method: req.method, target, version: 'HTTP/1.1', headers, body: req.body, chunked: false, trailers: [] };
  }

  /** The response nginx sends the client for an upstream response. */
  clientResponse(req: HttpRequest, up: HttpResponse): HttpResponse {
    const hs: HttpHeader[] = [...this.serverHeader(), h('Date', this.date())];
    const ct = getHeader(up.headers, 'content-type');
    if (ct !== undefined) hs.push(h('Content-Type', ct));
    const cl = getHeader(up.headers, 'content-length');
    const hasLength = cl !== undefined && !up.chunked;
    const noBody = req.method === 'HEAD' || up.status === 204 || up.status === 304 || (up.status >= 100 && up.status < 200);
    if (hasLength) hs.push(h('Content-Length', cl));
    // no length: chunked to an HTTP/1.1 client, close-delimited to HTTP/1.0
    const chunked = !hasLength && !noBody && req.version === 'HTTP/1.1';
    if (chunked) hs.push(h('Transfer-Encoding', 'chunked'));
    const ka = keepAlive(req) && (hasLength || chunked || noBody);
    hs.push(h('Connection', ka ? 'keep-alive' : 'close'));
    for (const x of up.headers) {
      const n = x.name.toLowerCase();
      if (HIDDEN_RESPONSE.has(n) || SLOTTED.has(n)) continue;
      hs.push(x);
    }
    return { kind: 'response', version: 'HTTP/1.1', status: up.status, reason: up.reason, headers: hs, body: noBody ? new Uint8Array(0) : up.body, chunked, trailers: [] };
  }

  /** One request/response over an idle pooled connection to `peer` or a new one. */
  private exchange(
    peer: string,
    req: HttpRequest,
    cb: (r: { kind: 'ok'; res: HttpResponse; local: string | null; reused: boolean } | { kind: 'error'; why: string; retry: boolean; local: string | null; reused: boolean }) => void,
  ): void {
    const [addrText, portText] = peer.split(':') as [string, string];
    const addr = tryParseIpv4(addrText) as Ipv4Addr;
    const port = Number(portText);
    const pool = this.idle.get(peer) ?? [];
    let pc = pool.pop();
    while (pc && pc.dead) pc = pool.pop();
    const run = (p: PooledConn, reused: boolean): void => {
      if (p.idleTimer) p.idleTimer.cancelled = true;
      p.idleTimer = null;
      const local = `${formatIpv4(p.conn.localAddr)}:${p.conn.localPort}`;
      let finished = false;
      const parser = new HttpParser<HttpResponse>('response', (res) => {
        if (finished) return;
        finished = true;
        p.onData = null;
        p.onEnd = null;
        if (keepAlive(res) && (getHeader(res.headers, 'content-length') !== undefined || res.chunked) && this.opts.upstreamKeepaliveConnections > 0) this.park(p);
        else this.discard(p);
        cb({ kind: 'ok', res, local, reused });
      }, NGINX_UPSTREAM_LIMITS);
      parser.expectResponseTo(req.method);
      p.onData = (b) => {
        try {
          parser.push(b);
        } catch (e) {
          if (!(e instanceof HttpError)) throw e;
          if (finished) return;
          finished = true;
          this.discard(p);
          cb({ kind: 'error', why: `upstream sent invalid response: ${e.detail}`, retry: false, local, reused });
        }
      };
      p.onEnd = () => {
        if (finished) return;
        try {
          parser.finish();
        } catch {
          finished = true;
          this.discard(p);
          cb({ kind: 'error', why: 'upstream prematurely closed connection', retry: true, local, reused });
        }
      };
      p.conn.write(serialize(req));
    };
    if (pc) {
      run(pc, true);
      return;
    }
    this.deps.connector.connect(addr, port, (c) => {
      if (isConnectFailure(c)) {
        cb({ kind: 'error', why: `connect() failed (${c.errno})`, retry: true, local: null, reused: false });
        return;
      }
      const p: PooledConn = { conn: c, peer, onData: null, onEnd: null, idleTimer: null, dead: false };
      c.onData((b) => p.onData?.(b));
      c.onEnd(() => {
        if (p.onEnd) p.onEnd();
        else this.discard(p); // an idle keepalive connection closed by the upstream
      });
      c.onClose(() => {
        p.dead = true;
      });
      run(p, false);
    });
  }

  private park(p: PooledConn): void {
    const pool = this.idle.get(p.peer) ?? [];
    const total = [...this.idle.values()].reduce((n, l) => n + l.length, 0);
    if (total >= this.opts.upstreamKeepaliveConnections) {
      this.discard(p);
      return;
    }
    pool.push(p);
    this.idle.set(p.peer, pool);
    p.idleTimer = this.deps.clock.schedule(this.opts.upstreamKeepaliveTimeoutSeconds * NS_PER_S, () => this.discard(p));
  }

  private discard(p: PooledConn): void {
    if (p.dead) return;
    p.dead = true;
    if (p.idleTimer) p.idleTimer.cancelled = true;
    const pool = this.idle.get(p.peer);
    if (pool) {
      const i = pool.indexOf(p);
      if (i >= 0) pool.splice(i, 1);
    }
    p.conn.close();
  }

  /** Idle upstream connections per peer (for tests and `show`). */
  idleConnections(): Map<string, number> {
    return new Map([...this.idle].map(([k, v]) => [k, v.filter((p) => !p.dead).length]));
  }
}

export type { Backend };
