import type { EventQueue } from '../../sim/event-queue.js';
import type { Random } from '../../sim/random.js';
import { seconds } from '../../sim/clock.js';
import { decodeMsg, encodeMsg, newQuery, type Msg } from '../coredns/dns/message.js';
import { frame, StreamFramer, type DnsNet } from '../coredns/transport.js';
import type { DigExchange } from './print.js';
import { planSearch } from '../resolver/plan.js';
import type { ResolvConf } from '../resolver/resolvconf.js';

export interface DigOptions {
  server: string;
  port?: number;
  /** The server as the user named it (shown in `;; SERVER: ip#53(name)`). */
  serverName?: string;
  tcp?: boolean;
  /** `+[no]edns`: EDNS with UDP size 1232 (dig 9.18 default). */
  edns?: boolean;
  bufsize?: number;
  cookie?: boolean;
  dnssec?: boolean;
  recurse?: boolean;
  adflag?: boolean;
  /** `+time=T` (default 5 s) and `+tries=N` (default 3) for UDP. */
  timeoutSec?: number;
  tries?: number;
  /** `+[no]ignore`: retry over TCP when the UDP reply is truncated (default true). */
  retryTcpOnTc?: boolean;
  argv: string;
  serverFound?: boolean;
  /** Reuse this client cookie (dig keeps one per server for the whole run). */
  clientCookie?: Buffer;
}

export interface DigRun {
  readonly exchange: DigExchange | null;
  /** Per failed try: `timed out` / `connection refused` (see printDigFailure). */
  readonly failures: string[];
  readonly queries: Msg[];
}

/**
 * What dig does on the wire: a query with RD and AD set, EDNS(0) UDP 1232 with an 8-byte
 * client cookie (dig 9.18 defaults), up to 3 tries of 5 s over UDP, TCP retry on TC.
 */
export function runDig(
  net: DnsNet,
  eq: EventQueue,
  rng: Random,
  epochSeconds: number,
  name: string,
  type: string,
  o: DigOptions,
  cb: (r: DigRun) => void,
): void {
  const port = o.port ?? 53;
  const q = newQuery(rng.int(65536), name, type, { rd: o.recurse ?? true });
  q.ad = o.adflag ?? true;
  if (o.edns ?? true) {
    const options: { code: number; data?: Buffer }[] = [];
    if (o.cookie ?? true) {
      const c = o.clientCookie ?? Buffer.alloc(8);
      if (!o.clientCookie) for (let i = 0; i < 8; i++) c[i] = rng.byte();
      options.push({ code: 10, data: c });
    }
    q.edns = { udpSize: o.bufsize ?? 1232, do: o.dnssec ?? false, version: 0, extRcode: 0, options };
  }
  const bytes = encodeMsg(q);
  const queries: Msg[] = [q];
  const failures: string[] = [];
  const done = (reply: Msg | null, size: number, proto: 'UDP' | 'TCP', start: number, err: string | null, tcRetry = false): void => {
    if (err) failures.push(err);
    if (!reply) {
      cb({ exchange: null, failures, queries });
      return;
    }
    cb({
      exchange: {
        argv: o.argv,
        serverFound: o.serverFound ?? false,
        query: q,
        reply,
        replySize: size,
        server: o.serverName ? { addr: o.server, port, name: o.serverName } : { addr: o.server, port },
        proto,
        elapsedNs: eq.now - start,
        whenUnix: epochSeconds + eq.now / 1e9,
        truncatedRetry: tcRetry,
      },
      failures,
      queries,
    });
  };
  const viaTcp = (tcRetry: boolean): void => {
    const start = eq.now;
    let finished = false;
    const timer = eq.schedule(seconds(o.timeoutSec ?? 5), () => {
      if (finished) return;
      finished = true;
      done(null, 0, 'TCP', start, 'timed out');
    });
    net.tcp(o.server, port, (conn) => {
      if (finished) return;
      if (conn instanceof Error) {
        finished = true;
        timer.cancelled = true;
        done(null, 0, 'TCP', start, 'connection refused');
        return;
      }
      const framer = new StreamFramer((b) => {
        if (finished) return;
        finished = true;
        timer.cancelled = true;
        conn.close();
        done(decodeMsg(b), b.length, 'TCP', start, null, tcRetry);
      });
      conn.onData((d) => framer.push(d));
      conn.write(frame(bytes));
    });
  };
  if (o.tcp) {
    viaTcp(false);
    return;
  }
  const sock = net.udp();
  let tries = 0;
  let finished = false;
  const start = eq.now;
  sock.onMessage((b) => {
    if (finished) return;
    let m: Msg;
    try {
      m = decodeMsg(b);
    } catch {
      return;
    }
    if (m.id !== q.id) return;
    finished = true;
    sock.close();
    if (m.tc && (o.retryTcpOnTc ?? true)) {
      viaTcp(true);
      return;
    }
    done(m, b.length, 'UDP', start, null);
  });
  let timer: { cancelled: boolean } | null = null;
  // ICMP port unreachable: dig reports it and moves to the next try at once.
  sock.onError?.((code) => {
    if (finished || code !== 'ECONNREFUSED') return;
    if (timer) timer.cancelled = true;
    failures.push('connection refused');
    send(false);
  });
  const send = (timedOut = true): void => {
    if (finished) return;
    if (tries > 0 && timedOut) failures.push('timed out');
    if (tries >= (o.tries ?? 3)) {
      finished = true;
      sock.close();
      done(null, 0, 'UDP', start, null);
      return;
    }
    tries++;
    sock.sendTo(bytes, o.server, port);
    timer = eq.schedule(seconds(o.timeoutSec ?? 5), () => send(true));
  };
  send();
}

/**
 * The names `dig +search` asks, in order (dighost.c): a name with at least `ndots` dots or a
 * trailing dot only as written; otherwise each search domain, then the name itself. Unlike
 * glibc there is no search after a failed absolute name. Checked against dig 9.18.
 */
export function digSearchNames(name: string, rc: ResolvConf): string[] {
  return planSearch(name, rc, { libc: 'musl', family: 'inet' }).map((s) => s.name);
}

/**
 * `dig +search`: dig's own walk of the resolv.conf search list (names from digSearchNames),
 * moving on only after NXDOMAIN (SERVFAIL stops, as +servfail_stops), one
 * client cookie for the whole run. All runs are returned; `printDigSearch` shows the last,
 * or every one with `+showsearch`.
 */
export function runDigSearch(
  net: DnsNet,
  eq: EventQueue,
  rng: Random,
  epochSeconds: number,
  names: readonly string[],
  type: string,
  o: DigOptions,
  cb: (runs: DigRun[]) => void,
): void {
  const runs: DigRun[] = [];
  const cookie = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) cookie[i] = rng.byte();
  const step = (i: number): void => {
    if (i >= names.length) {
      cb(runs);
      return;
    }
    runDig(net, eq, rng, epochSeconds, names[i]!, type, { ...o, clientCookie: cookie }, (r) => {
      runs.push(r);
      if (r.exchange && r.exchange.reply.rcode === 3) step(i + 1);
      else cb(runs);
    });
  };
  step(0);
}
