import type { EventQueue, Timer } from '../../sim/event-queue.js';
import type { Random } from '../../sim/random.js';
import { seconds } from '../../sim/clock.js';
import { decodeMsg, encodeMsg, newQuery, Rcode, type Msg } from '../coredns/dns/message.js';
import { frame, StreamFramer, type DatagramSocket, type DnsNet } from '../coredns/transport.js';
import { planSearch, type Family, type SearchStep } from './plan.js';
import type { Libc, ResolvConf } from './resolvconf.js';

/** One packet event of a lookup, for `kubewire dig +search` and traces. */
export interface ResolverEvent {
  readonly time: number;
  readonly kind: 'send' | 'recv' | 'timeout' | 'refused' | 'tcp-retry' | 'single-request' | 'reopen';
  readonly step: number;
  readonly server: string;
  readonly proto: 'udp' | 'tcp';
  readonly srcPort: number;
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly rcode?: number;
  readonly answers?: number;
}

export type LookupStatus = 'OK' | 'EAI_NONAME' | 'EAI_NODATA' | 'EAI_AGAIN' | 'EAI_FAIL';

export interface LookupResult {
  readonly status: LookupStatus;
  /** The name that answered (the search step that succeeded). */
  readonly name: string | null;
  readonly addresses: string[];
  readonly events: ResolverEvent[];
  readonly steps: readonly SearchStep[];
  /** Index in `steps` of each step actually tried, in order. */
  readonly tried: number[];
}

type HErrno = 'OK' | 'HOST_NOT_FOUND' | 'NO_DATA' | 'TRY_AGAIN' | 'NO_RECOVERY';

interface StepOutcome {
  herrno: HErrno;
  /** The rcode of the reply that decided (SERVFAIL matters to the search loop). */
  rcode: number | null;
  replies: (Msg | null)[];
  refused: boolean;
}

/**
 * A stub resolver as a glibc program in a pod runs it (resolv/res_query.c, res_send.c), or
 * musl's (`libc: 'musl'`, src/network/lookup_name.c + res_msend.c), over the DnsNet
 * sockets on the simulated clock. Each search step opens a new UDP socket (new source port),
 * sends A then AAAA at once (unless single-request), waits `timeout << ns / nscount` s per
 * try, switches to single-request(-reopen) when only one of the two answers came back in
 * time, retries over TCP when a reply is truncated, and walks nameservers x attempts.
 */
export class StubResolver {
  /** glibc sets RES_SNGLKUP / RES_SNGLKUPREOP in the resolver state for good after a lost reply. */
  private singleRequest: boolean;
  private singleRequestReopen: boolean;
  private rotateNext = 0;

  constructor(
    private readonly net: DnsNet,
    private readonly eq: EventQueue,
    private readonly rng: Random,
    readonly rc: ResolvConf,
    readonly libc: Libc = 'glibc',
  ) {
    this.singleRequest = rc.singleRequest;
    this.singleRequestReopen = rc.singleRequestReopen;
  }

  /** getaddrinfo(name, AF_UNSPEC|AF_INET|AF_INET6): the search walk and its packets. */
  getaddrinfo(name: string, family: Family, cb: (r: LookupResult) => void): void {
    const steps = planSearch(name, this.rc, { libc: this.libc, family });
    const events: ResolverEvent[] = [];
    const tried: number[] = [];
    if (this.libc === 'musl') {
      this.muslSearch(steps, events, tried, cb);
      return;
    }
    const trailing = name.endsWith('.');
    let gotServfail = false;
    let gotNodata = false;
    const finish = (status: LookupStatus, stepIdx: number | null, out: StepOutcome | null): void => {
      cb({ status, name: stepIdx === null ? null : steps[stepIdx]!.name, addresses: out ? addresses(out.replies) : [], events, steps, tried });
    };
    const fail = (last: StepOutcome | null): void => {
      // glibc's final h_errno: NO_DATA wins over HOST_NOT_FOUND, SERVFAIL gives TRY_AGAIN.
      if (gotNodata) finish('EAI_NODATA', null, null);
      else if (gotServfail) finish('EAI_AGAIN', null, null);
      else if (last?.herrno === 'TRY_AGAIN') finish('EAI_AGAIN', null, null);
      else if (last?.herrno === 'NO_RECOVERY') finish('EAI_FAIL', null, null);
      else finish('EAI_NONAME', null, null);
    };
    let i = 0;
    let last: StepOutcome | null = null;
    const next = (): void => {
      if (i >= steps.length) {
        fail(last);
        return;
      }
      const idx = i++;
      const step = steps[idx]!;
      tried.push(idx);
      this.resSend(idx, step, events, (out) => {
        last = out;
        if (out.herrno === 'OK') {
          finish('OK', idx, out);
          return;
        }
        if (out.refused) {
          fail(out); // ECONNREFUSED ends the whole lookup at once
          return;
        }
        if (step.reason === 'as-is' && trailing) {
          fail(out);
          return;
        }
        if (step.reason === 'search') {
          if (out.herrno === 'NO_DATA') gotNodata = true;
          else if (out.herrno === 'TRY_AGAIN' && out.rcode === Rcode.SERVFAIL) gotServfail = true;
          else if (out.herrno !== 'HOST_NOT_FOUND') {
            // anything else ends the search list; the as-is query may still follow
            while (i < steps.length && steps[i]!.reason === 'search') i++;
          }
        }
        next();
      });
    };
    next();
  }

  /** res_send for one step: tries x nameservers, UDP with TCP fallback. */
  private resSend(stepIdx: number, step: SearchStep, events: ResolverEvent[], cb: (o: StepOutcome) => void): void {
    const rc = this.rc;
    const nscount = rc.nameservers.length;
    const offset = rc.rotate ? this.rotateNext++ % nscount : 0;
    const queries = step.types.map((t) => newQuery(this.rng.int(65536), step.name, t, { edns: rc.edns0 ? { udpSize: 1200, do: false, version: 0, extRcode: 0, options: [] } : null }));
    if (queries.length === 2 && queries[1]!.id === queries[0]!.id) queries[1]!.id = (queries[0]!.id + 1) & 0xffff;
    let sock: DatagramSocket | null = null;
    let lastBad: Msg | null = null;
    let refusedSeen = false;
    let attempt = 0;
    let shift = 0;
    const closeSock = (): void => {
      sock?.close();
      sock = null;
    };
    const outcome = (replies: (Msg | null)[]): StepOutcome => classify(replies, lastBad);
    const loop = (): void => {
      if (shift >= nscount) {
        shift = 0;
        attempt++;
      }
      if (attempt >= rc.attempts) {
        closeSock();
        const o = outcome([]);
        // errno ECONNREFUSED from the last try makes the search loop give up at once.
        cb(lastBad ? o : { herrno: 'TRY_AGAIN', rcode: null, replies: [], refused: refusedSeen });
        return;
      }
      const ns = (shift + offset) % nscount;
      shift++;
      const server = rc.nameservers[ns]!;
      if (rc.useVc) {
        this.sendVc(stepIdx, server, queries, ns, events, (replies) => {
          if (replies) {
            closeSock();
            cb(outcome(replies));
          } else loop();
        });
        return;
      }
      if (!sock) sock = this.net.udp();
      this.sendDg(stepIdx, server, ns, nscount, queries, () => sock!, () => {
        closeSock();
        sock = this.net.udp();
        return sock;
      }, events, (r) => {
        if (r.kind === 'tc') {
          closeSock();
          events.push(ev(this.eq, 'tcp-retry', stepIdx, server, 'tcp', 0, queries[0]!));
          this.sendVc(stepIdx, server, queries, ns, events, (replies) => {
            if (replies) cb(outcome(replies));
            else loop();
          });
          return;
        }
        if (r.kind === 'ok') {
          closeSock();
          cb(outcome(r.replies));
          return;
        }
        if (r.kind === 'bad') lastBad = r.bad;
        if (r.kind === 'refused') {
          // glibc closes the socket after the error; the next try opens a new one (new port)
          refusedSeen = true;
          closeSock();
        }
        loop();
      });
    };
    loop();
  }

  /** send_dg: both queries on one socket, one deadline, glibc's single-request fallbacks. */
  private sendDg(
    stepIdx: number,
    server: string,
    ns: number,
    nscount: number,
    queries: Msg[],
    sockOf: () => DatagramSocket,
    reopen: () => DatagramSocket,
    events: ResolverEvent[],
    cb: (r: { kind: 'ok'; replies: (Msg | null)[] } | { kind: 'tc' } | { kind: 'timeout' } | { kind: 'refused' } | { kind: 'bad'; bad: Msg }) => void,
  ): void {
    let secs = this.rc.timeout << ns;
    if (ns > 0) secs = Math.floor(secs / nscount);
    if (secs <= 0) secs = 1;
    const got: (Msg | null)[] = queries.map(() => null);
    const bad: (Msg | null)[] = queries.map(() => null);
    let finished = false;
    let timer: Timer | null = null;
    let sock = sockOf();
    const single = (): boolean => this.singleRequest || this.singleRequestReopen;
    const received = (i: number): boolean => got[i] !== null || bad[i] !== null;
    const sendOne = (i: number): void => {
      const q = queries[i]!;
      events.push(ev(this.eq, 'send', stepIdx, server, 'udp', sock.local.port, q));
      sock.sendTo(encodeMsg(q), server, 53);
    };
    const end = (r: Parameters<typeof cb>[0]): void => {
      finished = true;
      if (timer) timer.cancelled = true;
      cb(r);
    };
    const listen = (s: DatagramSocket): void => {
      // recvfrom on the connected socket fails with ECONNREFUSED after ICMP port unreachable.
      s.onError?.((code, from) => {
        if (finished || s !== sock || from.addr !== server || code !== 'ECONNREFUSED') return;
        events.push(ev(this.eq, 'refused', stepIdx, server, 'udp', s.local.port, queries[0]!));
        end({ kind: 'refused' });
      });
      s.onMessage((b, from) => {
        if (finished || s !== sock || from.addr !== server || from.port !== 53) return;
        let m: Msg;
        try {
          m = decodeMsg(b);
        } catch {
          return;
        }
        const i = queries.findIndex((q) => q.id === m.id && m.question[0]?.name.toLowerCase() === q.question[0]!.name.toLowerCase() && m.question[0]?.type === q.question[0]!.type);
        if (i < 0 || received(i)) return;
        events.push({ ...ev(this.eq, 'recv', stepIdx, server, 'udp', s.local.port, queries[i]!), rcode: m.rcode, answers: m.answer.length });
        if (m.tc) {
          end({ kind: 'tc' });
          return;
        }
        if (m.rcode === Rcode.SERVFAIL || m.rcode === Rcode.NOTIMP || m.rcode === Rcode.REFUSED) bad[i] = m;
        else got[i] = m;
        if (queries.every((_q, k) => received(k))) {
          if (got.some((x) => x !== null)) end({ kind: 'ok', replies: got });
          else end({ kind: 'bad', bad: m });
          return;
        }
        if (single() && i === 0 && queries.length > 1) {
          if (this.singleRequestReopen) {
            sock = reopen();
            listen(sock);
          }
          sendOne(1);
        }
      });
    };
    const start = (): void => {
      timer = this.eq.schedule(seconds(secs), onTimeout);
      sendOne(0);
      if (queries.length > 1 && !single()) sendOne(1);
    };
    const onTimeout = (): void => {
      if (finished) return;
      events.push(ev(this.eq, 'timeout', stepIdx, server, 'udp', sock.local.port, queries[0]!));
      const anyGood = got.some((x) => x !== null);
      if (anyGood && queries.length > 1) {
        if (!this.singleRequest) {
          this.singleRequest = true;
          events.push(ev(this.eq, 'single-request', stepIdx, server, 'udp', sock.local.port, queries[0]!));
          got.fill(null);
          bad.fill(null);
          start();
          return;
        }
        if (!this.singleRequestReopen) {
          this.singleRequestReopen = true;
          events.push(ev(this.eq, 'reopen', stepIdx, server, 'udp', sock.local.port, queries[0]!));
          sock = reopen();
          listen(sock);
          got.fill(null);
          bad.fill(null);
          start();
          return;
        }
        end({ kind: 'ok', replies: got });
        return;
      }
      end({ kind: 'timeout' });
    };
    listen(sock);
    start();
  }

  /** send_vc: one TCP connection, both queries, as glibc does after TC or with use-vc. */
  private sendVc(stepIdx: number, server: string, queries: Msg[], ns: number, events: ResolverEvent[], cb: (r: (Msg | null)[] | null) => void): void {
    let secs = this.rc.timeout << ns;
    if (ns > 0) secs = Math.floor(secs / this.rc.nameservers.length);
    if (secs <= 0) secs = 1;
    let finished = false;
    const got: (Msg | null)[] = queries.map(() => null);
    const timer = this.eq.schedule(seconds(secs), () => {
      if (finished) return;
      finished = true;
      cb(null);
    });
    this.net.tcp(server, 53, (conn) => {
      if (finished) return;
      if (conn instanceof Error) {
        finished = true;
        timer.cancelled = true;
        cb(null);
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
        const i = queries.findIndex((q) => q.id === m.id);
        if (i < 0) return;
        got[i] = m;
        events.push({ ...ev(this.eq, 'recv', stepIdx, server, 'tcp', conn.local.port, queries[i]!), rcode: m.rcode, answers: m.answer.length });
        if (got.every((x) => x !== null)) {
          finished = true;
          timer.cancelled = true;
          conn.close();
          cb(got);
        }
      });
      conn.onData((d) => framer.push(d));
      for (const q of queries) {
        events.push(ev(this.eq, 'send', stepIdx, server, 'tcp', conn.local.port, q));
        conn.write(frame(encodeMsg(q)));
      }
    });
  }

  /** musl: every step sends all queries to all nameservers; NXDOMAIN moves on, NODATA stops. */
  private muslSearch(steps: SearchStep[], events: ResolverEvent[], tried: number[], cb: (r: LookupResult) => void): void {
    let i = 0;
    const next = (): void => {
      if (i >= steps.length) {
        cb({ status: 'EAI_NONAME', name: null, addresses: [], events, steps, tried });
        return;
      }
      const idx = i++;
      tried.push(idx);
      this.msend(idx, steps[idx]!, events, (replies) => {
        if (replies.some((r) => r === null || r.rcode === Rcode.SERVFAIL)) {
          cb({ status: 'EAI_AGAIN', name: null, addresses: [], events, steps, tried });
          return;
        }
        if (replies.some((r) => r!.rcode === Rcode.NXDOMAIN)) {
          next();
          return;
        }
        if (replies.some((r) => r!.rcode !== Rcode.NOERROR)) {
          cb({ status: 'EAI_FAIL', name: null, addresses: [], events, steps, tried });
          return;
        }
        const addrs = addresses(replies);
        cb({ status: addrs.length ? 'OK' : 'EAI_NODATA', name: addrs.length ? steps[idx]!.name : null, addresses: addrs, events, steps, tried });
      });
    };
    next();
  }

  /** res_msend: all nameservers at once, resend every timeout/attempts, accept NOERROR/NXDOMAIN. */
  private msend(stepIdx: number, step: SearchStep, events: ResolverEvent[], cb: (r: (Msg | null)[]) => void): void {
    const rc = this.rc;
    const sock = this.net.udp();
    const queries = step.types.map((t) => newQuery(this.rng.int(65536), step.name, t));
    if (queries.length === 2 && queries[1]!.id === queries[0]!.id) queries[1]!.id = (queries[0]!.id + 1) & 0xffff;
    const got: (Msg | null)[] = queries.map(() => null);
    let servfailRetry = 2 * rc.nameservers.length;
    let finished = false;
    const retryMs = Math.floor((rc.timeout * 1000) / Math.max(1, rc.attempts));
    const sendAll = (): void => {
      for (let i = 0; i < queries.length; i++) {
        if (got[i]) continue;
        for (const ns of rc.nameservers) {
          events.push(ev(this.eq, 'send', stepIdx, ns, 'udp', sock.local.port, queries[i]!));
          sock.sendTo(encodeMsg(queries[i]!), ns, 53);
        }
      }
    };
    const end = (): void => {
      finished = true;
      sock.close();
      cb(got);
    };
    sock.onMessage((b, from) => {
      if (finished || !rc.nameservers.includes(from.addr) || from.port !== 53) return;
      let m: Msg;
      try {
        m = decodeMsg(b);
      } catch {
        return;
      }
      const i = queries.findIndex((q) => q.id === m.id);
      if (i < 0 || got[i]) return;
      events.push({ ...ev(this.eq, 'recv', stepIdx, from.addr, 'udp', sock.local.port, queries[i]!), rcode: m.rcode, answers: m.answer.length });
      if (m.rcode === Rcode.SERVFAIL) {
        if (servfailRetry > 0) {
          servfailRetry--;
          sock.sendTo(encodeMsg(queries[i]!), from.addr, 53);
        }
        return;
      }
      if (m.rcode !== Rcode.NOERROR && m.rcode !== Rcode.NXDOMAIN) return;
      got[i] = m;
      if (got.every((x) => x !== null)) end();
    });
    const deadline = this.eq.now + seconds(rc.timeout);
    const tick = (): void => {
      if (finished) return;
      if (this.eq.now >= deadline) {
        end();
        return;
      }
      sendAll();
      this.eq.schedule(Math.min(retryMs * 1e6, deadline - this.eq.now), tick);
    };
    tick();
  }
}

function ev(eq: EventQueue, kind: ResolverEvent['kind'], step: number, server: string, proto: 'udp' | 'tcp', srcPort: number, q: Msg): ResolverEvent {
  return { time: eq.now, kind, step, server, proto, srcPort, id: q.id, name: q.question[0]!.name, type: q.question[0]!.type };
}

/** __res_context_query's verdict on the A/AAAA pair. */
function classify(replies: (Msg | null)[], lastBad: Msg | null): StepOutcome {
  const ok = replies.some((r) => r !== null && r.rcode === Rcode.NOERROR && r.answer.length > 0);
  if (ok) return { herrno: 'OK', rcode: 0, replies, refused: false };
  const first = replies.find((r) => r !== null) ?? lastBad;
  if (!first) return { herrno: 'TRY_AGAIN', rcode: null, replies, refused: false };
  const second = replies.filter((r) => r !== null)[1];
  const rc = first.rcode === Rcode.NOERROR && second ? second.rcode : first.rcode;
  const herrno: HErrno = rc === Rcode.NXDOMAIN ? 'HOST_NOT_FOUND' : rc === Rcode.SERVFAIL ? 'TRY_AGAIN' : rc === Rcode.NOERROR ? 'NO_DATA' : 'NO_RECOVERY';
  return { herrno, rcode: rc, replies, refused: false };
}

function addresses(replies: (Msg | null)[]): string[] {
  const out: string[] = [];
  for (const r of replies) for (const a of r?.answer ?? []) if ((a.type === 'A' || a.type === 'AAAA') && !out.includes(String(a.data))) out.push(String(a.data));
  return out;
}
