import type { EventQueue } from '../../../../sim/event-queue.js';
import type { Random } from '../../../../sim/random.js';
import { copyRR, fqdn, setReply, type Msg, type RR } from '../../dns/message.js';
import { nextOrFailure, note, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { matchZone } from '../../zones.js';
import type { Registry } from '../prometheus/registry.js';

export type ResponseType = 'NOERROR' | 'NAMEERROR' | 'NODATA' | 'DELEGATION' | 'SERVERERROR' | 'OTHERERROR' | 'META' | 'UPDATE';

/** `response.Typify` (plugin/pkg/response/typify.go), the parts the cache uses. */
export function typify(m: Msg): ResponseType {
  if (m.opcode === 5) return 'UPDATE';
  if (m.opcode === 4) return 'META';
  const q = m.question[0];
  if (!q || q.type === 'AXFR' || q.type === 'IXFR') return 'META';
  if (m.answer.length > 0 && m.rcode === 0) return 'NOERROR';
  const soa = m.ns.some((r) => r.type === 'SOA');
  const ns = m.ns.filter((r) => r.type === 'NS').length;
  if (soa && m.rcode === 0) return 'NODATA';
  if (soa && m.rcode === 3) return 'NAMEERROR';
  if (m.rcode === 2 || m.rcode === 4) return 'SERVERERROR';
  if (ns > 0 && m.rcode === 0) return 'DELEGATION';
  if (m.rcode === 0) return 'NOERROR';
  return 'OTHERERROR';
}

function hasSOA(m: Msg): boolean {
  return m.ns.some((r) => r.type === 'SOA');
}

/** The answer holds the asked type at the end of the CNAME chain from the question (answersQuestion). */
function answersQuestion(m: Msg): boolean {
  const q = m.question[0];
  if (!q || m.answer.length === 0) return false;
  let name = q.name.toLowerCase();
  if (q.type === 'CNAME') return m.answer.some((r) => r.type === 'CNAME' && r.name.toLowerCase() === name);
  for (let i = 0; i <= m.answer.length; i++) {
    const c = m.answer.find((r) => r.type === 'CNAME' && r.name.toLowerCase() === name);
    if (!c) break;
    name = String(c.data).toLowerCase();
  }
  return m.answer.some((r) => r.type === q.type && r.name.toLowerCase() === name);
}

/** `cacheResponseType`: a NOERROR answer that does not answer, with an SOA, is NODATA. */
export function cacheResponseType(m: Msg): ResponseType {
  const t = typify(m);
  if (t === 'NOERROR' && m.answer.length > 0 && hasSOA(m) && !answersQuestion(m)) return 'NODATA';
  return t;
}

/** `key`'s refusals: truncated, errors, meta, NXDOMAIN without SOA, SOA-less non-answers. */
export function cacheable(m: Msg, t: ResponseType): boolean {
  if (m.tc) return false;
  if (t === 'OTHERERROR' || t === 'META' || t === 'UPDATE') return false;
  if (t === 'NAMEERROR' && !hasSOA(m)) return false;
  if (t === 'NOERROR' && !hasSOA(m) && m.answer.length > 0 && !answersQuestion(m)) return false;
  return true;
}

/** `dnsutil.MinimalTTLWithMaximum`: the smallest TTL of all sections (OPT aside), at most `maximum`; 5 s if there is none. */
export function minimalTTL(m: Msg, t: ResponseType, maximum = 3600): number {
  if (t !== 'NOERROR' && t !== 'NAMEERROR' && t !== 'NODATA') return 5;
  if (m.answer.length + m.ns.length + m.extra.length === 0) return 5;
  let min = maximum;
  for (const r of [...m.answer, ...m.ns, ...m.extra]) if ((r.ttl ?? 0) < min) min = r.ttl ?? 0;
  return min;
}

interface Item {
  /** Hits within the prefetch window (cache/freq: reset when the last hit is older than it). */
  hits: number;
  lastHit: number;
  readonly rcode: number;
  readonly aa: boolean;
  readonly ad: boolean;
  readonly ra: boolean;
  readonly answer: RR[];
  readonly ns: RR[];
  readonly extra: RR[];
  readonly origTTL: number;
  /** Simulated time (ns) when stored. */
  readonly stored: number;
  readonly qname: string;
  readonly qtype: string;
}

export interface CacheConfig {
  zones: string[];
  pcap: number;
  ncap: number;
  pttl: number;
  minpttl: number;
  nttl: number;
  minnttl: number;
  failttl: number;
  /** serve_stale window in seconds (0 = off) and mode. */
  staleUpTo: number;
  verifyStale: boolean;
  prefetch: number;
  /** Prefetch window (s) and remaining-TTL percentage. */
  prefetchWindow: number;
  prefetchPercent: number;
  pexcept: string[];
  nexcept: string[];
  keepttl: boolean;
}

/** CoreDNS's sharded LRU rounds capacity to 256 shards (min 4 entries each). */
export function effectiveCapacity(n: number): number {
  return 256 * Math.max(4, Math.floor(n / 256));
}

/**
 * cache: a success cache and a denial cache keyed by (qname lower-cased, qtype, DO, CD)
 * (plugin/cache). The first reply is stored for clamp(min TTL, MINTTL, MAXTTL) seconds and
 * every RR leaves with that TTL; hits are rebuilt with AA set and the TTL counted down on the
 * simulated clock. Full caches evict a random entry.
 */
export class CacheHandler implements Handler {
  readonly name = 'cache';
  next: Handler | null = null;
  readonly pcache = new Map<string, Item>();
  readonly ncache = new Map<string, Item>();
  private readonly zonesLabel: string;

  constructor(
    readonly cfg: CacheConfig,
    private readonly eq: EventQueue,
    private readonly rng: Random,
    private readonly metrics: Registry,
  ) {
    this.zonesLabel = cfg.zones.join(',');
  }

  private ttlOf(i: Item, now: number): number {
    return i.origTTL - Math.floor((now - i.stored) / 1e9);
  }

  private key(qname: string, qtype: string, doBit: boolean, cd: boolean): string {
    return `${qname.toLowerCase()}|${qtype}|${doBit ? 1 : 0}|${cd ? 1 : 0}`;
  }

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0]!;
    const qname = fqdn(q.name.toLowerCase());
    if (!matchZone(this.cfg.zones, qname)) {
      nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    const doBit = r.edns?.do ?? false;
    const k = this.key(qname, q.type, doBit, r.cd);
    const now = this.eq.now;
    this.metrics.add('coredns_cache_requests_total', [ctx.serverAddr, this.zonesLabel, '']);
    const found = this.get(ctx, k, now);
    if (!found) {
      this.metrics.add('coredns_cache_misses_total', [ctx.serverAddr, this.zonesLabel, '']);
      note(ctx, this.name, 'cache', 'miss');
      const cw = this.writer(ctx, w, r, k, doBit);
      nextOrFailure(this.name, this.next, ctx, cw, r, done);
      return;
    }
    const [item, kind] = found;
    const ttl = this.ttlOf(item, now);
    note(ctx, this.name, 'cache', ttl > 0 ? 'hit' : 'stale');
    note(ctx, this.name, 'type', kind);
    note(ctx, this.name, 'ttl', Math.max(ttl, 0));
    if (ttl <= 0 && this.cfg.verifyStale) {
      // verify: try to refresh first; serve the stale entry only if that fails.
      const cw = this.writer(ctx, w, r, k, doBit);
      nextOrFailure(this.name, this.next, ctx, cw, r, done);
      return;
    }
    w.writeMsg(this.toMsg(item, r, now, doBit || r.ad));
    if (ttl > 0 && this.shouldPrefetch(item, now)) {
      // Refresh in the background: the reply above went out, the new item keeps the hit count.
      note(ctx, this.name, 'prefetch', true);
      this.metrics.add('coredns_cache_prefetch_total', [ctx.serverAddr, this.zonesLabel, '']);
      const sink: ResponseWriter = { info: w.info, writeMsg: () => {} };
      const hits = item.hits;
      nextOrFailure(this.name, this.next, ctx, this.writer(ctx, sink, r, k, doBit), { ...r, question: [...r.question] }, () => {
        const fresh = this.pcache.get(k) ?? this.ncache.get(k);
        if (fresh && fresh !== item) {
          fresh.hits = hits;
          fresh.lastHit = this.eq.now;
        }
      });
    }
    if (ttl <= 0) {
      // serve_stale immediate: answer at once, refresh behind the client's back.
      const sink: ResponseWriter = { info: w.info, writeMsg: () => {} };
      nextOrFailure(this.name, this.next, ctx, this.writer(ctx, sink, r, k, doBit), { ...r, question: [...r.question] }, () => {});
    }
    done(0);
  }

  /** `shouldPrefetch`: enough hits in the window and at most PCT% of the TTL left. */
  private shouldPrefetch(i: Item, now: number): boolean {
    if (this.cfg.prefetch <= 0) return false;
    if (now - i.lastHit > this.cfg.prefetchWindow * 1e9) i.hits = 1;
    else i.hits++;
    i.lastHit = now;
    const threshold = Math.ceil((this.cfg.prefetchPercent / 100) * i.origTTL);
    return i.hits >= this.cfg.prefetch && this.ttlOf(i, now) <= threshold;
  }

  private get(ctx: RequestContext, k: string, now: number): [Item, 'denial' | 'success'] | null {
    for (const [cache, kind] of [
      [this.ncache, 'denial'],
      [this.pcache, 'success'],
    ] as const) {
      const i = cache.get(k);
      if (!i) continue;
      const ttl = this.ttlOf(i, now);
      if (ttl > 0 || (this.cfg.staleUpTo > 0 && -ttl < this.cfg.staleUpTo)) {
        this.metrics.add('coredns_cache_hits_total', [ctx.serverAddr, kind, this.zonesLabel, '']);
        return [i, kind];
      }
    }
    return null;
  }

  /** `item.toMsg`: SetReply, AA forced on, RA as stored, every RR with the remaining TTL. */
  private toMsg(i: Item, r: Msg, now: number, keepAd: boolean): Msg {
    const m = setReply(r);
    m.aa = true;
    m.ad = keepAd ? i.ad : false;
    m.ra = i.ra;
    m.rcode = i.rcode;
    const ttl = Math.max(0, this.ttlOf(i, now));
    const fix = (rrs: RR[]): RR[] => rrs.map((x) => ({ ...copyRR(x), ttl: this.cfg.keepttl ? x.ttl : ttl }) as RR);
    m.answer = fix(i.answer);
    m.ns = fix(i.ns);
    m.extra = fix(i.extra);
    return m;
  }

  /** `cache.ResponseWriter`: decides the TTL, stores, and rewrites the TTLs going out. */
  private writer(ctx: RequestContext, w: ResponseWriter, r: Msg, k: string, doBit: boolean): ResponseWriter {
    return {
      info: w.info,
      writeMsg: (res) => {
        const t = cacheResponseType(res);
        let duration: number;
        if (t === 'NAMEERROR' || t === 'NODATA') duration = clamp(minimalTTL(res, t, this.cfg.nttl), this.cfg.minnttl, this.cfg.nttl);
        else if (t === 'SERVERERROR') duration = this.cfg.failttl;
        else duration = clamp(minimalTTL(res, t, this.cfg.pttl), this.cfg.minpttl, this.cfg.pttl);
        const ok = cacheable(res, t);
        const q = res.question[0];
        const rq = r.question[0]!;
        if (ok && duration > 0 && q && q.name.toLowerCase() === rq.name.toLowerCase() && q.type === rq.type) this.set(ctx, res, k, t, duration);
        if (!this.cfg.keepttl) {
          res.answer = res.answer.map((x) => ({ ...x, ttl: duration }) as RR);
          res.ns = res.ns.map((x) => ({ ...x, ttl: duration }) as RR);
          res.extra = res.extra.map((x) => ({ ...x, ttl: duration }) as RR);
        }
        if (!doBit && !r.ad) res.ad = false;
        w.writeMsg(res);
      },
    };
  }

  private set(ctx: RequestContext, m: Msg, k: string, t: ResponseType, duration: number): void {
    const qname = fqdn(m.question[0]!.name.toLowerCase());
    const success = t === 'NOERROR' || t === 'DELEGATION';
    if (success && matchZone(this.cfg.pexcept, qname)) return;
    if (!success && matchZone(this.cfg.nexcept, qname)) return;
    const cache = success ? this.pcache : this.ncache;
    const cap = effectiveCapacity(success ? this.cfg.pcap : this.cfg.ncap);
    if (!cache.has(k) && cache.size >= cap) {
      const keys = [...cache.keys()];
      cache.delete(keys[this.rng.int(keys.length)]!);
    }
    cache.set(k, {
      hits: 0,
      lastHit: this.eq.now,
      rcode: m.rcode,
      aa: m.aa,
      ad: m.ad,
      ra: m.ra,
      answer: m.answer.map(copyRR),
      ns: m.ns.map(copyRR),
      extra: m.extra.map(copyRR),
      origTTL: duration,
      stored: this.eq.now,
      qname,
      qtype: m.question[0]!.type,
    });
    this.metrics.set('coredns_cache_entries', [ctx.serverAddr, 'success', this.zonesLabel, ''], this.pcache.size);
    this.metrics.set('coredns_cache_entries', [ctx.serverAddr, 'denial', this.zonesLabel, ''], this.ncache.size);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  let x = v;
  if (x < lo) x = lo;
  if (x > hi) x = hi;
  return x;
}
