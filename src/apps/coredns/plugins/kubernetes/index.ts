import { fqdn, Rcode, setRcode, setReply, trimDot, type Msg, type RR } from '../../dns/message.js';
import type { Fall } from '../../fall.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { isSubDomain, matchZone } from '../../zones.js';
import { hostType, NameError, type BService, type KubeBackend } from './backend.js';

/** An answer piece still waiting for an upstream lookup (ExternalName outside the zone). */
interface Pending {
  readonly cname: RR;
  readonly target: string;
  readonly type: string;
}
type Piece = RR | Pending;
/** `maxCnameChainLength` in plugin/backend_lookup.go. */
const MAX_CNAME_CHAIN = 10;
const isPending = (p: Piece): p is Pending => (p as Pending).target !== undefined && (p as Pending).cname !== undefined;

/**
 * kubernetes: answers the names of the Kubernetes DNS specification from the store (plugin
 * kubernetes handler.go + plugin/backend_lookup.go). Positive answers are authoritative
 * (qr aa rd); a missing name is NXDOMAIN and a name without the asked type NODATA, both with
 * the SOA CoreDNS builds; NXDOMAIN for a `fallthrough` zone goes to the next plugin instead.
 */
export class KubernetesHandler implements Handler {
  readonly name = 'kubernetes';
  next: Handler | null = null;
  constructor(
    readonly backend: KubeBackend,
    private readonly fall: Fall,
  ) {}

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0]!;
    const qname = fqdn(q.name);
    const lower = qname.toLowerCase();
    const cfgZone = matchZone(this.backend.opt.zones, lower);
    if (!cfgZone) {
      nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    const zone = qname.slice(qname.length - cfgZone.length); // the query's case
    let pieces: Piece[] = [];
    let extra: RR[] = [];
    let err: Error | null = null;
    try {
      switch (q.type) {
        case 'A':
        case 'AAAA':
        case 'TXT':
          pieces = this.address(qname, q.type, zone, []);
          break;
        case 'CNAME': {
          const s = this.backend.services(qname, 'CNAME', zone);
          if (s.length > 0 && hostType(s[0]!) === 'CNAME') pieces = [rr(qname, 'CNAME', s[0]!.ttl, trimDot(s[0]!.host))];
          break;
        }
        case 'PTR': {
          const seen = new Set<string>();
          for (const s of this.backend.reverse(qname, zone)) {
            if (hostType(s) !== 'CNAME' || seen.has(s.host)) continue;
            seen.add(s.host);
            pieces.push(rr(qname, 'PTR', s.ttl, trimDot(s.host)));
          }
          break;
        }
        case 'SRV':
          [pieces, extra] = this.srv(qname, zone);
          break;
        case 'SOA':
          if (qname === zone) pieces = [this.soa(zone)];
          break;
        case 'AXFR':
        case 'IXFR':
          done(Rcode.REFUSED);
          return;
        default:
          // state.Name() (lower case) == zone (query case), as handler.go compares them.
          if (q.type === 'NS' && lower === zone) [pieces, extra] = this.ns(qname, zone);
          // Other types (and NS below the apex): a fake A lookup tells NODATA from NXDOMAIN.
          else this.address(qname, 'A', zone, []);
      }
    } catch (e) {
      err = e as Error;
    }
    if (err instanceof NameError) {
      if (this.fall.through(lower)) {
        nextOrFailure(this.name, this.next, ctx, w, r, done);
        return;
      }
      this.backendError(w, r, zone, this.backend.store.synced ? Rcode.NXDOMAIN : Rcode.SERVFAIL);
      done(Rcode.NOERROR);
      return;
    }
    if (err) {
      done(Rcode.SERVFAIL, err);
      return;
    }
    this.resolvePending(ctx, w, pieces, (records) => {
      if (records.length === 0) {
        this.backendError(w, r, zone, Rcode.NOERROR);
        done(Rcode.NOERROR);
        return;
      }
      const m = setReply(r);
      m.aa = true;
      m.answer = records;
      m.extra = extra;
      w.writeMsg(m);
      done(Rcode.NOERROR);
    });
  }

  /** Replaces pending ExternalName pieces with CNAME + the upstream's answer, in order. */
  private resolvePending(ctx: RequestContext, w: ResponseWriter, pieces: Piece[], cb: (rrs: RR[]) => void): void {
    const out: RR[] = [];
    const step = (i: number): void => {
      if (i >= pieces.length) {
        cb(out);
        return;
      }
      const p = pieces[i]!;
      if (!isPending(p)) {
        out.push(p);
        step(i + 1);
        return;
      }
      ctx.server.lookup(ctx, w.info, p.target, p.type, (m1) => {
        if (m1) out.push(p.cname, ...m1.answer);
        step(i + 1);
      });
    };
    step(0);
  }

  /** `plugin.A` / `AAAA` / `TXT`: addresses, ExternalName CNAMEs chased inside the zone. */
  private address(qname: string, type: string, zone: string, previous: RR[]): Piece[] {
    const services = this.checkForApex(qname, type, zone);
    const out: Piece[] = [];
    const dup = new Set<string>();
    for (const s of services) {
      const what = hostType(s);
      if (what === 'CNAME') {
        const target = fqdn(s.host);
        if (qname.toLowerCase() === target.toLowerCase()) continue;
        const cname = rr(qname, 'CNAME', s.ttl, trimDot(target));
        if (previous.length > MAX_CNAME_CHAIN) continue;
        if (previous.some((p) => p.type === 'CNAME' && p.name.toLowerCase() === cname.name.toLowerCase() && String(p.data).toLowerCase() === String(cname.data).toLowerCase())) continue;
        if (isSubDomain(zone, target)) {
          try {
            const next = this.address(target, type, zone, [...previous, cname]);
            if (next.length > 0) out.push(cname, ...next);
          } catch {
            // an in-zone target that does not exist adds nothing
          }
          continue;
        }
        out.push({ cname, target, type });
        continue;
      }
      if (what === 'TXT' && type === 'TXT') {
        if (!dup.has(s.text!)) {
          dup.add(s.text!);
          out.push({ name: trimDot(qname), type: 'TXT', class: 'IN', ttl: s.ttl, data: [s.text!] });
        }
      } else if (what === type) {
        if (!dup.has(s.host)) {
          dup.add(s.host);
          out.push(rr(qname, type, s.ttl, s.host));
        }
      }
    }
    return out;
  }

  private checkForApex(qname: string, type: string, zone: string): BService[] {
    if (qname.toLowerCase() !== zone.toLowerCase()) return this.backend.services(qname, type, zone);
    try {
      return this.backend.services(`apex.dns.${zone}`, type, zone);
    } catch {
      return this.backend.services(qname, type, zone);
    }
  }

  /** `plugin.SRV`: weight from the per-priority sum, dedup on (target, port) and (target, ip). */
  private srv(qname: string, zone: string): [RR[], RR[]] {
    const services = this.backend.services(qname, 'SRV', zone);
    const records: RR[] = [];
    const extra: RR[] = [];
    const dup = new Set<string>();
    const total = new Map<number, number>();
    for (const s of services) total.set(s.priority, (total.get(s.priority) ?? 0) + (s.weight || 100));
    for (const s of services) {
      if (s.port === -1) continue;
      let w1 = 100 / total.get(s.priority)!;
      w1 *= s.weight === 0 ? 100 : s.weight;
      const weight = Math.max(1, Math.floor(w1) & 0xffff);
      const what = hostType(s);
      if (what !== 'A' && what !== 'AAAA') continue;
      const target = s.domain;
      const kPort = `${target.toLowerCase()}|port|${s.port}`;
      if (!dup.has(kPort)) {
        dup.add(kPort);
        records.push({ name: trimDot(qname), type: 'SRV', class: 'IN', ttl: s.ttl, data: { priority: s.priority, weight, port: s.port, target: trimDot(target) } });
      }
      const kAddr = `${target.toLowerCase()}|addr|${s.host}`;
      if (!dup.has(kAddr)) {
        dup.add(kAddr);
        extra.push(rr(target, what, s.ttl, s.host));
      }
    }
    return [records, extra];
  }

  /** `plugin.NS`: one NS per distinct name, the address of each in Additional. */
  private ns(qname: string, zone: string): [RR[], RR[]] {
    const records: RR[] = [];
    const extra: RR[] = [];
    const seen = new Set<string>();
    for (const s of this.backend.nsAddrs(zone)) {
      const what = hostType(s);
      if (what !== 'A' && what !== 'AAAA') continue;
      extra.push(rr(s.domain, what, s.ttl, s.host));
      if (seen.has(s.domain)) continue;
      seen.add(s.domain);
      records.push(rr(qname, 'NS', s.ttl, trimDot(s.domain)));
    }
    return [records, extra];
  }

  /** `plugin.SOA`: `ns.dns.<zone> hostmaster.<zone> <serial> 7200 1800 86400 <ttl>`, TTL min(ttl,300). */
  soa(zone: string): RR {
    const ttl = this.backend.opt.ttl;
    const z = zone.replace(/\.$/, '');
    return {
      name: trimDot(zone),
      type: 'SOA',
      class: 'IN',
      ttl: Math.min(ttl, 300),
      data: { mname: `ns.dns.${z}`, rname: `hostmaster.${z}`, serial: this.backend.store.modified >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
    };
  }

  /** `plugin.BackendError`: SetRcode, AA, the SOA in Authority. */
  private backendError(w: ResponseWriter, r: Msg, zone: string, rcode: number): void {
    const m = setRcode(r, rcode);
    m.aa = true;
    m.ns = [this.soa(zone)];
    w.writeMsg(m);
  }
}

function rr(name: string, type: string, ttl: number, data: string): RR {
  return { name: trimDot(name), type, class: 'IN', ttl, data } as RR;
}
