import type { EventQueue } from '../../../../sim/event-queue.js';
import type { Random } from '../../../../sim/random.js';
import { seconds } from '../../../../sim/clock.js';
import { copyMsg, decodeMsg, encodeMsg, fqdn, newQuery, Rcode, setRcode, type Msg } from '../../dns/message.js';
import type { Registry } from '../prometheus/registry.js';
import { nextOrFailure, note, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { frame, StreamFramer, type DatagramSocket, type DnsNet } from '../../transport.js';
import { isSubDomain } from '../../zones.js';

export type Policy = 'random' | 'round_robin' | 'sequential';

export interface Upstream {
  readonly addr: string;
  readonly port: number;
  /** Failed health checks since the last good one (pkg/proxy `fails`). */
  fails: number;
  /** A health probe is running (pkg/proxy/up.Probe). */
  probing?: boolean;
}

export interface ForwardConfig {
  from: string;
  except: string[];
  upstreams: Upstream[];
  policy: Policy;
  forceTcp: boolean;
  preferUdp: boolean;
  maxFails: number;
  expireSec: number;
  /** 0 = until the 5 s deadline (older CoreDNS); default 2 x upstreams. */
  maxConnectAttempts: number;
  maxConcurrent: number;
  healthCheckSec: number;
  /** `health_check ... no_rec` clears RD; `domain FQDN` changes the probe name (default `.`). */
  healthRecursion: boolean;
  healthDomain: string;
  failfastAllUnhealthy: boolean;
  next: number[];
}

/** Read timeout per exchange and overall deadline, as plugin/pkg/proxy and forward.go. */
const READ_TIMEOUT_S = 2;
const DEADLINE_S = 5;

interface Pooled {
  sock: DatagramSocket;
  returned: number;
}

/**
 * forward: sends the query, with a fresh random ID, to an upstream picked by the policy
 * (plugin/forward), and writes the upstream's reply with the client's ID restored. Sockets
 * are pooled per upstream and reused for `expire`. A timeout (2 s) or error moves on to the
 * next upstream until the attempts or the 5 s deadline run out; then it returns SERVFAIL
 * without writing, so the server sends the bare SERVFAIL and `errors` logs why.
 */
export class ForwardHandler implements Handler {
  readonly name = 'forward';
  next: Handler | null = null;
  private rr = 0;
  private inflight = 0;
  private pools = new Map<Upstream, Pooled[]>();

  constructor(
    readonly cfg: ForwardConfig,
    private readonly net: DnsNet | null,
    private readonly eq: EventQueue,
    private readonly rng: Random,
    private readonly metrics: Registry | null = null,
  ) {}

  /**
   * `proxy.Healthcheck`: unless a probe already runs, ask the upstream `. IN NS` (RD unless
   * no_rec) with a 1 s read timeout, again every health_check interval until one answers;
   * each failure counts toward max_fails, a reply of any kind resets the count.
   */
  healthcheck(up: Upstream): void {
    if (up.probing || !this.net) return;
    up.probing = true;
    const check = (): void => {
      const sock = this.net!.udp();
      const q = newQuery(this.rng.int(65536), this.cfg.healthDomain, 'NS', { rd: this.cfg.healthRecursion });
      let answered = false;
      sock.onMessage((b, from) => {
        if (answered || from.addr !== up.addr || from.port !== up.port) return;
        try {
          if (decodeMsg(b).id !== q.id) return;
        } catch {
          return;
        }
        answered = true;
        sock.close();
        up.fails = 0;
        up.probing = false;
      });
      sock.sendTo(encodeMsg(q), up.addr, up.port);
      this.eq.schedule(seconds(1), () => {
        if (answered) return;
        sock.close();
        up.fails++;
        this.metrics?.add('coredns_proxy_healthcheck_failures_total', ['forward', `${up.addr}:${up.port}`]);
        this.eq.schedule(seconds(this.cfg.healthCheckSec), check);
      });
    };
    check();
  }

  /** The upstreams in the order this query tries them (forward/policy.go). */
  list(): Upstream[] {
    const u = this.cfg.upstreams;
    switch (this.cfg.policy) {
      case 'sequential':
        return [...u];
      case 'round_robin': {
        const i = this.rr++ % u.length;
        return [...u.slice(i), ...u.slice(0, i)];
      }
      case 'random': {
        if (u.length === 1) return [...u];
        if (u.length === 2) return this.rng.int(2) === 0 ? [u[0]!, u[1]!] : [u[1]!, u[0]!];
        const p = [...u];
        for (let i = p.length - 1; i > 0; i--) {
          const j = this.rng.int(i + 1);
          [p[i], p[j]] = [p[j]!, p[i]!];
        }
        return p;
      }
    }
  }

  private matches(qname: string): boolean {
    if (!isSubDomain(this.cfg.from, qname)) return false;
    return !this.cfg.except.some((e) => isSubDomain(e, qname));
  }

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0]!;
    const qname = fqdn(q.name.toLowerCase());
    if (!this.matches(qname)) {
      nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    if (this.cfg.maxConcurrent > 0 && this.inflight + 1 > this.cfg.maxConcurrent) {
      this.metrics?.add('coredns_forward_max_concurrent_rejects_total', []);
      done(Rcode.REFUSED, new Error('concurrent queries exceeded maximum'));
      return;
    }
    if (!this.net) {
      done(Rcode.SERVFAIL, new Error('no network to reach the upstreams'));
      return;
    }
    this.inflight++;
    const list = this.list();
    const deadline = this.eq.now + seconds(DEADLINE_S);
    const maxAttempts = this.cfg.maxConnectAttempts;
    let attempts = 0;
    let i = 0;
    let fails = 0;
    let lastErr: Error | null = null;
    let tcp = this.cfg.forceTcp || w.info.proto === 'tcp';
    const finish = (rcode: number, err?: Error | null): void => {
      this.inflight--;
      done(rcode, err ?? null);
    };
    const attempt = (): void => {
      for (;;) {
        if (!(this.eq.now < deadline) || (maxAttempts > 0 && attempts >= maxAttempts)) {
          finish(Rcode.SERVFAIL, lastErr ?? new Error('no healthy proxies'));
          return;
        }
        if (i >= list.length) {
          i = 0;
          fails = 0;
        }
        let up = list[i++]!;
        if (this.cfg.maxFails > 0 && up.fails > this.cfg.maxFails) {
          fails++;
          if (fails < list.length) continue;
          this.metrics?.add('coredns_forward_healthcheck_broken_total', []);
          if (this.cfg.failfastAllUnhealthy) {
            finish(Rcode.SERVFAIL, new Error('no healthy proxies'));
            return;
          }
          up = list[this.rng.int(list.length)]!;
        }
        attempts++;
        const to = `${up.addr}:${up.port}`;
        note(ctx, this.name, 'upstream', to);
        note(ctx, this.name, 'proto', tcp ? 'tcp' : 'udp');
        note(ctx, this.name, 'attempts', attempts);
        this.exchange(up, r, tcp, (ret, err) => {
          if (err || !ret) {
            if (this.cfg.maxFails !== 0) this.healthcheck(up);
            lastErr = err ?? new Error('no reply');
            attempt();
            return;
          }
          if (ret.tc && !tcp && this.cfg.preferUdp) {
            tcp = true;
            attempt();
            return;
          }
          const rq = ret.question[0];
          if (!ret.qr || !rq || rq.name.toLowerCase() !== q.name.toLowerCase() || rq.type !== q.type) {
            w.writeMsg(setRcode(r, Rcode.FORMERR));
            finish(Rcode.NOERROR);
            return;
          }
          if (this.cfg.next.includes(ret.rcode) && this.next) {
            this.inflight--;
            nextOrFailure(this.name, this.next, ctx, w, r, done);
            return;
          }
          note(ctx, this.name, 'rcode', ret.rcode);
          w.writeMsg(ret);
          finish(Rcode.NOERROR);
        });
        return;
      }
    };
    attempt();
  }

  /** One exchange with one upstream: fresh ID, question/flags/OPT as received. */
  private exchange(up: Upstream, r: Msg, tcp: boolean, cb: (m: Msg | null, err: Error | null) => void): void {
    const net = this.net!;
    const id = this.rng.int(65536);
    const out = copyMsg(r);
    out.id = id;
    const bytes = encodeMsg(out);
    let finished = false;
    const restore = (m: Msg): Msg => {
      m.id = r.id;
      return m;
    };
    if (tcp) {
      const timer = this.eq.schedule(seconds(READ_TIMEOUT_S), () => {
        if (finished) return;
        finished = true;
        cb(null, new Error(`read tcp ${up.addr}:${up.port}: i/o timeout`));
      });
      net.tcp(up.addr, up.port, (conn) => {
        if (finished) {
          if (!(conn instanceof Error)) conn.close();
          return;
        }
        if (conn instanceof Error) {
          finished = true;
          timer.cancelled = true;
          cb(null, new Error(`dial tcp ${up.addr}:${up.port}: ${conn.message}`));
          return;
        }
        const framer = new StreamFramer((b) => {
          if (finished) return;
          let m: Msg;
          try {
            m = decodeMsg(b);
          } catch {
            return;
          }
          if (m.id !== id) return;
          finished = true;
          timer.cancelled = true;
          conn.close();
          cb(restore(m), null);
        });
        conn.onData((d) => framer.push(d));
        conn.write(frame(bytes));
      });
      return;
    }
    const p = this.take(up);
    const sock = p.sock;
    const timer = this.eq.schedule(seconds(READ_TIMEOUT_S), () => {
      if (finished) return;
      finished = true;
      sock.close(); // CoreDNS drops a connection that failed
      cb(null, new Error(`read udp ${sock.local.addr}:${sock.local.port}->${up.addr}:${up.port}: i/o timeout`));
    });
    sock.onMessage((b, from) => {
      if (finished || from.addr !== up.addr || from.port !== up.port) return;
      let m: Msg;
      try {
        m = decodeMsg(b);
      } catch {
        return;
      }
      if (m.id !== id) return; // foreign ID: keep waiting, as miekg's client
      finished = true;
      timer.cancelled = true;
      this.give(up, p);
      cb(restore(m), null);
    });
    sock.sendTo(bytes, up.addr, up.port);
  }

  private take(up: Upstream): Pooled {
    const pool = this.pools.get(up) ?? [];
    this.pools.set(up, pool);
    const now = this.eq.now;
    while (pool.length) {
      const p = pool.pop()!;
      if (now - p.returned < seconds(this.cfg.expireSec)) return p;
      p.sock.close();
    }
    return { sock: this.net!.udp(), returned: now };
  }

  private give(up: Upstream, p: Pooled): void {
    p.returned = this.eq.now;
    this.pools.get(up)!.push(p);
  }
}
