import type { CaptureSink, Direction } from '../../pcap/capture.js';
import { captureDevice } from '../../linux/capture.js';
import type { TraceEventBase, TraceSink } from '../../sim/trace.js';
import { formatIpv4, parseIpv4, tryParseIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { parseHttpUrl, type CurlUrl } from '../../apps/http/curl.js';
import { httpExchange, udpGreeting } from '../../apps/http/exchange-client.js';
import { streamsFor } from '../../apps/http/socket-adapter.js';
import { EndpointError, resolvePlace, type Place } from '../endpoints.js';
import { StubResolver } from '../../apps/resolver/stub.js';
import { parseResolvConf as parseStubResolvConf } from '../../apps/resolver/resolvconf.js';
import { dnsNet } from '../dns-net.js';
import { resolvConfOf } from '../resolv.js';
import type { Runtime } from '../runtime.js';

export type Proto = 'tcp' | 'udp' | 'icmp';

/** Where an exchange goes: an address and (for tcp/udp) a port, and how the user named it. */
export interface Target {
  readonly label: string;
  readonly ip: Ipv4Addr;
  readonly port: number | undefined;
  /** For `http://HOST/PATH`: the URL curl is given. */
  readonly url?: CurlUrl;
  /** A name the sender resolves first (through its resolv.conf, over the dataplane). */
  readonly name?: string;
}

/** One entry of what happened, in order: a frame seen on a device, or a decision. */
export type Step =
  | { readonly type: 'frame'; readonly time: number; readonly iface: string; readonly node: string; readonly netns: string; readonly dev: string; readonly direction: Direction; readonly bytes: Uint8Array; readonly packet?: number }
  | { readonly type: 'event'; readonly event: TraceEventBase };

export interface ExchangeResult {
  readonly from: Place;
  readonly to: Target;
  readonly proto: Proto;
  readonly delivered: boolean;
  /** Why not delivered, in errno or kernel words (ECONNREFUSED, timed out, ICMP ...). */
  readonly reason: string | null;
  /** What the far end answered (text), when it did. */
  readonly response: string | null;
  /** The sender's name lookup, when the target was a name: what getaddrinfo answered. */
  readonly lookup: { readonly name: string; readonly status: string; readonly answeredBy: string | null; readonly addresses: readonly string[] } | null;
  readonly steps: readonly Step[];
}

const dec = new TextDecoder();

/**
 * Resolves `--to`: an IP or IP:PORT, `svc/NS/NAME:PORT` (the Service's ClusterIP),
 * `pod/NS/NAME:PORT`, `node/NAME:PORT`, `host/NAME:PORT`.
 */
export function resolveTarget(rt: Runtime, text: string): Target {
  if (/^https?:\/\//i.test(text)) {
    let url: CurlUrl;
    try {
      url = parseHttpUrl(text);
    } catch (e) {
      throw new EndpointError(`"${text}": ${(e as Error).message}`);
    }
    const literal = tryParseIpv4(url.host);
    if (literal !== undefined) return { label: text, ip: literal, port: url.port, url };
    return { label: text, ip: 0 as Ipv4Addr, port: url.port, url, name: url.host };
  }
  const m = /^(.*?)(?::(\d+))?$/.exec(text)!;
  const what = m[1]!;
  const port = m[2] !== undefined ? Number(m[2]) : undefined;
  if (port !== undefined && !(port >= 1 && port <= 65535)) throw new EndpointError(`"${text}": port ${port} is out of range`);
  const ip = tryParseIpv4(what);
  if (ip !== undefined) return { label: text, ip, port };
  if (what.startsWith('svc/')) {
    const [, ns, name] = what.split('/');
    const svc = rt.state.services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
    if (!svc) throw new EndpointError(`no Service ${ns}/${name}`);
    const cip = svc.spec.clusterIP;
    if (!cip || cip === 'None') throw new EndpointError(`Service ${ns}/${name} has no ClusterIP (headless or ExternalName)`);
    return { label: text, ip: parseIpv4(cip), port: port ?? svc.spec.ports?.[0]?.port };
  }
  if (/^(pod|node|host)\//.test(what)) {
    const p = resolvePlace(rt, what);
    return { label: text, ip: parseIpv4(p.ip), port };
  }
  if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\.?$/i.test(what) && !/^(pod|node|host|svc)$/.test(what)) {
    return { label: text, ip: 0 as Ipv4Addr, port, name: what };
  }
  throw new EndpointError(`"${text}": expected IP[:PORT], svc/NS/NAME[:PORT], pod/NS/NAME:PORT, node/NAME:PORT, host/NAME:PORT, DNSNAME:PORT or http://HOST/PATH`);
}

/** Records decisions and frames into one ordered list (both happen in event order). */
class Recorder implements TraceSink<TraceEventBase>, CaptureSink {
  readonly steps: Step[] = [];
  record(event: TraceEventBase): void {
    this.steps.push({ type: 'event', event });
  }
  frame(iface: string, time: number, bytes: Uint8Array, direction: Direction, _comment?: string, packet = 0): void {
    const [node = '', netns = '', ...dev] = iface.split('/');
    this.steps.push({ type: 'frame', time, iface, node, netns, dev: dev.join('/'), direction, bytes: bytes.slice(), packet });
  }
}

export interface ExchangeOptions {
  /** Also write every frame here (the --pcap writer). */
  readonly capture?: CaptureSink;
  /** How long to wait for an answer, simulated ns (Linux 6.18 TCP gives up on a SYN after 131 s). */
  readonly timeout?: number;
}

/**
 * Sends one exchange and records everything: TCP is a handshake, one request and its
 * response, and the close; UDP one datagram and its answer; ICMP one echo request and reply.
 */
export function runExchange(rt: Runtime, from: Place, to: Target, proto: Proto, opts: ExchangeOptions = {}): ExchangeResult {
  const w = rt.world;
  const rec = new Recorder();
  const tee: CaptureSink = opts.capture ? { frame: (i, t, b, d, c, n) => (rec.frame(i, t, b, d, c, n), opts.capture!.frame(i, t, b, d, c)) } : rec;
  // Capture for this exchange only: a runtime that serves several exchanges must not keep
  // feeding (and stacking wrappers for) the earlier ones' recorders.
  const stops: (() => void)[] = [];
  const restore: (() => void)[] = [];
  for (const ns of w.allNetns()) {
    for (const d of ns.devicesInOrder()) stops.push(captureDevice(d, tee));
    const prev = ns.onRegister;
    ns.onRegister = (d) => {
      prev?.(d);
      stops.push(captureDevice(d, tee));
    };
    restore.push(() => (ns.onRegister = prev));
  }
  w.trace = rec;
  let delivered = false;
  let reason: string | null = null;
  let response: string | null = null;
  const done = (ok: boolean, why: string | null, text: string | null): void => {
    if (delivered || reason !== null) return;
    delivered = ok;
    reason = why;
    response = text;
  };
  if ((proto === 'tcp' || proto === 'udp') && to.port === undefined) throw new EndpointError(`--to ${to.label}: ${proto} needs a port`);
  let lookup: ExchangeResult['lookup'] = null;
  let target = to;
  const client: { stop: (() => void) | null } = { stop: null };
  const send = (ip: Ipv4Addr): void => {
    target = { ...to, ip };
    client.stop = sendExchange(from, target, proto, done);
  };
  if (to.name !== undefined) {
    // getaddrinfo(AF_UNSPEC) in the sender, with its resolv.conf, over the dataplane.
    const rc = parseStubResolvConf(resolvConfOf(rt, from));
    const name = to.name;
    new StubResolver(dnsNet(from.sockets), w.clock, w.rng.fork(`resolver:${from.label}`), rc).getaddrinfo(name, 'unspec', (res) => {
      const v4 = res.addresses.filter((a) => tryParseIpv4(a) !== undefined);
      lookup = { name, status: res.status, answeredBy: res.name, addresses: res.addresses };
      if (res.status !== 'OK' || v4.length === 0) return done(false, `getaddrinfo(${name}): ${res.status === 'OK' ? 'no IPv4 address' : res.status}`, null);
      send(parseIpv4(v4[0]!));
    });
  } else send(to.ip);
  // Run until answered (or failed) and the close has settled, or until the timeout.
  const deadline = w.clock.now + (opts.timeout ?? 135e9);
  while (!delivered && reason === null && w.clock.now < deadline) {
    // An empty queue means nothing more can happen: the exchange is stuck for good.
    if (w.clock.run(Math.min(deadline, w.clock.now + 100e6)) === 'idle') break;
  }
  if (w.clock.now < deadline) w.clock.run(Math.min(deadline, w.clock.now + 1e9));
  w.trace = null;
  for (const f of [...stops.reverse(), ...restore]) f();
  if (!delivered && reason === null) {
    reason = 'timed out';
    // The client gives up: its socket must not keep retransmitting into a later exchange.
    client.stop?.();
  }
  return { from, to: target, proto, delivered, reason, response, lookup, steps: rec.steps };
}

/** Starts the client; answers how to stop it (the client process exits: its socket closes). */
function sendExchange(from: Place, to: Target, proto: Proto, done: (ok: boolean, why: string | null, text: string | null) => void): () => void {
  if (to.url || proto === 'tcp') {
    // TCP exchanges are one HTTP request, as workloads serve HTTP (curl's request, Host = the target).
    const c = httpExchange(streamsFor(from.sockets).connector, to.ip, to, done);
    return () => c.abort();
  } else if (proto === 'udp') {
    const u = from.sockets.udp();
    u.connect(to.ip, to.port!);
    u.onMessage = (d) => done(true, null, dec.decode(d));
    u.onError = (errno: string) => done(false, errno, null);
    u.send(udpGreeting(from.label));
    return () => u.close();
  } else {
    const p = from.sockets.ping();
    p.onReply = () => done(true, null, null);
    p.onError = (e) => done(false, `ICMP type ${e.type} code ${e.code} from ${formatIpv4(e.from)}`, null);
    p.send(to.ip);
    return () => p.close();
  }
}


