import { createHash } from 'node:crypto';
import { Dispenser } from './corefile/dispenser.js';
import { CorefileError } from './corefile/errors.js';
import { parseCorefile, type DirectiveUse, type ServerBlock } from './corefile/parser.js';
import { decodeMsg, emptyMsg, encodeMsg, newQuery, Rcode, rcodeName, setRcode, type Msg } from './dns/message.js';
import { PLUGIN_CFG, PLUGIN_INDEX } from './plugin-cfg.js';
import { clientWrote, invoke, type CoreDnsEnv, type HttpReply, type Handler, type RequestContext, type RequestInfo, type ResponseWriter, type ServerHandle } from './plugin.js';
import { PLUGINS } from './plugins/index.js';
import { registerCoreMetrics } from './plugins/prometheus/registry.js';
import { report } from './plugins/prometheus/index.js';
import { normName } from './zones.js';
import type { DatagramSocket, Endpoint, StreamSocket } from './transport.js';
import { StreamFramer, frame } from './transport.js';
import { truncateCompressed } from './dns/pack.js';
import { WireError } from '../../wire/error.js';

/** The version kubewire's CoreDNS model follows (coremain/version.go of the source read). */
export const COREDNS_VERSION = '1.14.7';
/** `releaseString()` parts for the startup banner: GOOS/GOARCH, Go version, git commit. */
export const COREDNS_RELEASE = 'linux/amd64, go1.25.0, 4b26cce';

/** The Corefile kubeadm installs (cmd/kubeadm/app/phases/addons/dns/manifests.go). */
export const KUBEADM_COREFILE = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

/** CoreDNS's own default when it finds no Corefile (core/dnsserver `defaultConfig`). */
export const BUILTIN_COREFILE = `.:53 {
    whoami
    log
}
`;

/** One zone of a server block with its plugin chain. */
export interface ZoneConfig {
  readonly zone: string;
  readonly port: number;
  readonly key: string;
  readonly chain: Handler | null;
  /** Handlers in execution (PLUGIN_CFG) order, for inspection and tests. */
  readonly handlers: readonly Handler[];
  readonly blockLine: number;
}

export interface LoadOptions {
  filename?: string;
  envVars?: Record<string, string>;
}

const VALID = new Set(PLUGIN_CFG);

/** `dns://:53`, the server label CoreDNS uses in metrics. */
function serverAddr(port: number): string {
  return `dns://:${port}`;
}

/**
 * A CoreDNS process: the Corefile's server blocks grouped by port, each zone with its
 * chain built in PLUGIN_CFG order (core/dnsserver). `load` is atomic: a bad Corefile throws
 * a CorefileError and nothing is built.
 */
export class CoreDns implements ServerHandle {
  readonly zones = new Map<number, Map<string, ZoneConfig[]>>();
  private startup: (() => void)[] = [];
  /** Set by a fatal log (loop): the process has exited and answers nothing. */
  crashed = false;
  private httpRoutes = new Map<string, () => HttpReply>();
  private shutdownHooks: (() => number | void)[] = [];
  private readinessChecks = new Map<string, () => boolean>();

  private constructor(readonly env: CoreDnsEnv) {}

  static load(corefile: string, env: CoreDnsEnv, opts: LoadOptions = {}): CoreDns {
    const filename = opts.filename ?? 'Corefile';
    const blocks = parseCorefile(corefile, {
      filename,
      files: env.files,
      env: opts.envVars ?? {},
      validDirectives: VALID,
    });
    const s = new CoreDns(env);
    registerCoreMetrics(env.metrics);
    env.metrics.set('coredns_build_info', [COREDNS_VERSION, '4b26cce', 'go1.25.0'], 1);
    for (const b of blocks) s.addBlock(b, filename);
    // What the process prints once the servers are up (OnStartupComplete, reload, showVersion).
    // Real CoreDNS starts one server per listen address from a Go map (random order); ports ascend here.
    for (const port of s.ports()) for (const z of [...s.zones.get(port)!.keys()].sort()) env.stdout(`${z}:${port}`);
    if (blocks.some((b) => b.directives.some((d) => d.name === 'reload'))) {
      env.stdout(`[INFO] plugin/reload: Running configuration SHA512 = ${createHash('sha512').update(corefile).digest('hex')}`);
    }
    env.stdout(`CoreDNS-${COREDNS_VERSION}`);
    env.stdout(COREDNS_RELEASE);
    for (const f of s.startup) f();
    return s;
  }

  private addBlock(b: ServerBlock, filename: string): void {
    const keys = b.keys.map((k) => parseKey(k, filename, b.line));
    for (const k of keys) {
      const byZone = this.zones.get(k.port) ?? new Map<string, ZoneConfig[]>();
      if (byZone.has(k.zone)) {
        throw new CorefileError(`cannot serve dns://${k.zone}:${k.port} - it is already defined`, filename, b.line);
      }
      this.zones.set(k.port, byZone);
    }
    for (const k of keys) {
      // One setup call per directive with all its uses (as Caddy hands a plugin every token of
      // its directive in the block), in PLUGIN_CFG order.
      const byName = new Map<string, DirectiveUse[]>();
      for (const use of b.directives) byName.set(use.name, [...(byName.get(use.name) ?? []), use]);
      const names = [...byName.keys()].sort((x, y) => PLUGIN_INDEX.get(x)! - PLUGIN_INDEX.get(y)!);
      const handlers: Handler[] = [];
      for (const name of names) {
        const uses = byName.get(name)!;
        const def = PLUGINS.get(name);
        const d = new Dispenser(
          uses.flatMap((u) => u.tokens),
          name,
          filename,
        );
        if (!def) {
          d.next();
          throw d.plain(`${filename}:${uses[0]!.tokens[0]!.line} - Error during parsing: plugin not supported by kubewire`);
        }
        if (def.once && uses.length > 1) {
          const d2 = new Dispenser(uses[1]!.tokens, name, filename);
          d2.next();
          throw d2.err('this plugin can only be used once per Server Block');
        }
        const h = def.setup({
          d,
          env: this.env,
          zones: [k.zone],
          port: k.port,
          serverAddr: serverAddr(k.port),
          onStartup: (fn) => {
            this.startup.push(fn);
          },
          http: (addr, path, fn) => {
            this.httpRoutes.set(`${httpPort(addr)}${path}`, fn);
          },
          readiness: (name, fn) => {
            this.readinessChecks.set(name, fn);
          },
          notReady: () => [...this.readinessChecks].filter(([, f]) => !f()).map(([n]) => n),
          fatal: (line) => {
            this.env.stdout(line);
            this.crashed = true;
          },
          onShutdown: (fn) => {
            this.shutdownHooks.push(fn);
          },
          closeHttp: (addr, path) => {
            this.httpRoutes.delete(`${httpPort(addr)}${path}`);
          },
        });
        if (Array.isArray(h)) handlers.push(...h);
        else if (h) handlers.push(h);
        this.env.metrics.set('coredns_plugin_enabled', [serverAddr(k.port), k.zone, '', name], 1);
      }
      for (let i = 0; i < handlers.length; i++) handlers[i]!.next = handlers[i + 1] ?? null;
      const cfg: ZoneConfig = { zone: k.zone, port: k.port, key: k.key, chain: handlers[0] ?? null, handlers, blockLine: b.line };
      const byZone = this.zones.get(k.port)!;
      byZone.set(k.zone, [cfg]);
    }
  }

  /**
   * SIGTERM as the kubelet sends it (coredns/caddy sigtrap): the shutdown callbacks run in
   * order, health sleeping its lameduck while DNS still answers, then every listener stops.
   * `done` is called when the process has exited.
   */
  sigterm(done?: () => void): void {
    if (this.crashed) return;
    this.env.stdout('[INFO] SIGTERM: Shutting down servers then terminating');
    const hooks = [...this.shutdownHooks];
    const next = (): void => {
      const h = hooks.shift();
      if (!h) {
        this.crashed = true;
        done?.();
        return;
      }
      const wait = h();
      if (typeof wait === 'number' && wait > 0) this.env.eq.schedule(Math.round(wait * 1e9), next);
      else next();
    };
    next();
  }

  /** An HTTP GET on the pod (`:8080/health`, `:8181/ready`, `:9153/metrics`); null = nothing listens. */
  httpGet(port: number, path: string): HttpReply | null {
    if (this.crashed) return null;
    const f = this.httpRoutes.get(`${port}${path}`);
    return f ? f() : null;
  }

  /** HTTP ports the plugins listen on. */
  httpPorts(): number[] {
    return [...new Set([...this.httpRoutes.keys()].map((k) => Number(/^\d+/.exec(k)![0])))].sort((a, b) => a - b);
  }

  /** Ports the Corefile listens on (UDP and TCP each). */
  ports(): number[] {
    return [...this.zones.keys()].sort((a, b) => a - b);
  }

  /** The zone configs of a port, by zone. */
  configs(port: number): ZoneConfig[] {
    return [...(this.zones.get(port)?.values() ?? [])].flat();
  }

  /**
   * `Server.ServeDNS`: picks the block with the longest matching zone (then `.`), runs its
   * chain, and writes the error reply itself when the chain did not write.
   */
  serveDNS(port: number, info: RequestInfo, r: Msg, w: ResponseWriter, depth = 0): void {
    const env = this.env;
    const addr = serverAddr(port);
    const scrub = new ScrubWriter(r, w);
    const byZone = this.zones.get(port);
    const ctx = (zone: string): RequestContext => ({
      server: this,
      blockZone: zone,
      serverAddr: addr,
      start: env.eq.now,
      current: '',
      writer: null,
      notes: new Map(),
      depth,
    });
    const errorReply = (rcode: number): void => {
      const m = setRcode(r, rcode);
      scrub.writeMsg(m);
    };
    // errorAndMetricsFunc: refused before any chain ran, counted under zone "dropped".
    const dropped = (rcode: number): void => {
      errorReply(rcode);
      report(env.metrics, addr, info, r, 'dropped', rcodeName(rcode), '');
    };
    const q = r.question[0];
    if (!q || !byZone) {
      dropped(Rcode.SERVFAIL);
      return;
    }
    // Other classes only reach chains with chaos or forward (EnableChaos in server.go).
    const chaosOk = [...byZone.values()].some((cs) => cs.some((c) => c.handlers.some((h) => h.name === 'forward' || h.name === 'chaos')));
    if (q.class !== 'IN' && !chaosOk) {
      dropped(Rcode.REFUSED);
      return;
    }
    if (r.edns && r.edns.version !== 0) {
      const m = setRcode(r, Rcode.BADVERS);
      m.edns = { udpSize: 0, do: false, version: 0, extRcode: 1, options: [] }; // edns.Version: a bare OPT, UDP size 0
      w.writeMsg(m);
      return;
    }
    const qn = normName(q.name);
    let cfg: ZoneConfig | undefined;
    for (let name = qn; ; ) {
      const c = byZone.get(name)?.[0];
      if (c) {
        cfg = c;
        break;
      }
      if (name === '.') break;
      const dot = name.indexOf('.');
      name = dot === name.length - 1 ? '.' : name.slice(dot + 1);
    }
    if (!cfg || !cfg.chain) {
      dropped(Rcode.REFUSED);
      return;
    }
    const c = ctx(cfg.zone);
    const recorder: ResponseWriter = {
      info,
      writeMsg: (m) => {
        if (c.writer === null) c.writer = c.current;
        scrub.writeMsg(m);
      },
    };
    invoke(cfg.chain, c, recorder, r, (rcode) => {
      if (!clientWrote(rcode)) {
        c.writer = '';
        errorReply(rcode);
      }
      env.trace?.record({
        kind: 'dns.server',
        time: env.eq.now,
        node: env.node,
        netns: env.netns,
        step: 'coredns',
        verdict: rcodeName(scrub.written?.rcode ?? rcode),
        server: addr,
        zone: cfg.zone,
        qname: q.name,
        qtype: q.type,
        rcode: rcodeName(scrub.written?.rcode ?? rcode),
        plugin: c.writer ?? '',
        remote: `${info.remote.addr}:${info.remote.port}`,
      });
    });
  }

  /** `pkg/upstream.Lookup`: the full server again, with a fresh RD=1 question. */
  lookup(ctx: RequestContext, info: RequestInfo, name: string, type: string, cb: (m: Msg | null) => void): void {
    if (ctx.depth > 7) {
      cb(null);
      return;
    }
    const req = newQuery(this.env.rng.int(65536), name, type);
    const port = Number(/:(\d+)$/.exec(ctx.serverAddr)?.[1] ?? 53);
    let done = false;
    this.serveDNS(
      port,
      info,
      req,
      {
        info,
        writeMsg: (m) => {
          if (!done) {
            done = true;
            cb(m);
          }
        },
      },
      ctx.depth + 1,
    );
  }

  /** One datagram from a client; the reply (if any) goes to `reply`. Bad bytes never throw. */
  handleDatagram(port: number, bytes: Uint8Array, remote: Endpoint, local: Endpoint, reply: (b: Uint8Array) => void, proto: 'udp' | 'tcp' = 'udp'): void {
    if (this.crashed) return;
    let r: Msg;
    try {
      r = decodeMsg(bytes);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      if (bytes.length >= 12) {
        // miekg answers a header it could read but a body it could not with a fresh
        // `SetRcodeFormatError`: the ID, QR, FORMERR and nothing else.
        const m = emptyMsg();
        m.id = (bytes[0]! << 8) | bytes[1]!;
        m.qr = true;
        m.rcode = Rcode.FORMERR;
        reply(encodeMsg(m));
      }
      return;
    }
    // miekg DefaultMsgAcceptFunc: responses are ignored; odd counts are FORMERR and opcodes
    // other than QUERY/NOTIFY NOTIMP, written back as the request itself with QR set.
    if (r.qr) return;
    const arcount = r.extra.length + (r.edns ? 1 : 0);
    const notimp = r.opcode !== 0 && r.opcode !== 4;
    if (r.question.length !== 1 || r.answer.length > 1 || r.ns.length > 1 || arcount > 2 || notimp) {
      const m: Msg = { ...r, qr: true, aa: false, z: false, opcode: notimp ? r.opcode : 0, rcode: notimp ? Rcode.NOTIMP : Rcode.FORMERR, answer: [], ns: [], extra: [], edns: null };
      reply(encodeMsg(m));
      return;
    }
    const info: RequestInfo = { remote, local, proto, size: bytes.length };
    this.serveDNS(port, info, r, { info, writeMsg: (m) => reply(encodeMsg(m)) });
  }

  /** Serves DNS on a bound UDP socket. */
  serveUdp(sock: DatagramSocket): void {
    sock.onMessage((bytes, from) => this.handleDatagram(sock.local.port, bytes, from, sock.local, (b) => sock.sendTo(b, from.addr, from.port)));
  }

  /** Serves DNS on an accepted TCP connection (length-framed, many queries per connection). */
  serveStream(conn: StreamSocket): void {
    const framer = new StreamFramer((m) => this.handleDatagram(conn.local.port, m, conn.remote, conn.local, (b) => conn.write(frame(b)), 'tcp'));
    conn.onData((d) => framer.push(d));
  }
}

/**
 * `request.ScrubWriter`: echoes the client's OPT (size, DO; options filtered) and makes the
 * reply fit the client's buffer: sent uncompressed when that fits (what CoreDNS does), else
 * compressed and cut to whole records with TC set, as miekg `Truncate`.
 */
export class ScrubWriter implements ResponseWriter {
  written: Msg | null = null;
  constructor(
    private readonly req: Msg,
    private readonly w: ResponseWriter,
  ) {}
  get info(): RequestInfo {
    return this.w.info;
  }
  writeMsg(m: Msg): void {
    sizeAndDo(this.req, m);
    const size = this.info.proto === 'tcp' ? 65535 : Math.max(512, this.req.edns?.udpSize ?? 512);
    truncate(m, size);
    this.written = m;
    this.w.writeMsg(m);
  }
}

/** `request.SizeAndDo`: the reply carries OPT only if the query did, with the query's size. */
export function sizeAndDo(req: Msg, m: Msg): void {
  const o = req.edns;
  if (!o) return;
  const supported = new Set([3, 9, 10, 11, 12]); // NSID, EXPIRE, COOKIE, TCP-KEEPALIVE, PADDING
  if (m.edns) {
    m.edns = { ...m.edns, udpSize: o.udpSize, version: 0, do: o.do || false };
    return;
  }
  m.edns = { udpSize: o.udpSize, do: o.do, version: 0, extRcode: 0, options: o.options.filter((x) => supported.has(x.code)) };
}

/** miekg `Truncate`: uncompressed if it fits, else compressed and cut to whole records. */
function truncate(m: Msg, size: number): void {
  delete m.wire;
  m.compress = false;
  const plain = encodeMsg(m);
  if (plain.length <= size) {
    m.wire = plain;
    return;
  }
  m.compress = true;
  truncateCompressed(m, size);
  m.wire = encodeMsg(m);
}

function httpPort(addr: string): number {
  const m = /:(\d+)$/.exec(addr);
  return m ? Number(m[1]) : 80;
}

interface Key {
  key: string;
  zone: string;
  port: number;
}

/** Parses a server block key (`register.go`): `[dns://]zone[:port]`, zone may be a CIDR. */
function parseKey(key: string, filename: string, line: number): Key {
  let k = key.toLowerCase();
  const scheme = /^([a-z0-9]+):\/\//.exec(k);
  if (scheme) {
    if (scheme[1] !== 'dns') throw new CorefileError(`${filename}:${line} - Error during parsing: kubewire serves only dns://, not ${scheme[1]}://`, filename, line);
    k = k.slice(scheme[0].length);
  }
  let port = 53;
  const m = /^(.*?):(\d+)$/.exec(k);
  if (m) {
    k = m[1]!;
    port = Number(m[2]);
    if (port < 1 || port > 65535) throw new CorefileError(`invalid port '${m[2]}'`, filename, line);
  } else if (k.startsWith(':')) {
    throw new CorefileError(`invalid port '${k.slice(1)}'`, filename, line);
  }
  if (k === '') k = '.';
  const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(k);
  let zone: string;
  if (cidr) {
    const len = Number(cidr[2]);
    const oct = cidr[1]!.split('.');
    zone = `${oct.slice(0, Math.floor(len / 8)).reverse().join('.')}.in-addr.arpa.`;
  } else zone = normName(k);
  return { key, zone, port };
}
