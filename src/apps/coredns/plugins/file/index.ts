import { fqdn, setReply, trimDot, type Msg, type RR } from '../../dns/message.js';
import type { Fall } from '../../fall.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { isSubDomain, matchZone } from '../../zones.js';

/** One loaded zone: records by lower-cased owner FQDN. */
export class Zone {
  readonly byName = new Map<string, RR[]>();
  constructor(
    readonly origin: string,
    records: RR[],
  ) {
    for (const r of records) {
      const k = fqdn(r.name.toLowerCase());
      const l = this.byName.get(k) ?? [];
      l.push(r);
      this.byName.set(k, l);
    }
  }
  get soa(): RR | undefined {
    return this.byName.get(this.origin)?.find((r) => r.type === 'SOA');
  }
  ns(): RR[] {
    return this.byName.get(this.origin)?.filter((r) => r.type === 'NS') ?? [];
  }
  hasDescendant(name: string): boolean {
    for (const k of this.byName.keys()) if (k !== name && k.endsWith(`.${name}`)) return true;
    return false;
  }
}

type Result = 'Success' | 'NoData' | 'NameError' | 'ServerFailure';

/**
 * file: answers authoritatively from zone files (plugin/file lookup.go, without DNSSEC and
 * delegations): records of the asked type with the apex NS in Authority and in-zone SRV/MX
 * target addresses in Additional; CNAMEs chased inside the zone, else looked up through the
 * server; NODATA and NXDOMAIN with the zone's SOA; `*` wildcards; empty non-terminals NODATA.
 */
export class FileHandler implements Handler {
  readonly name = 'file';
  next: Handler | null = null;
  constructor(
    private readonly zones: Map<string, Zone>,
    private readonly fall: Fall,
  ) {}

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0]!;
    const qname = fqdn(q.name.toLowerCase());
    const origin = matchZone([...this.zones.keys()], qname);
    if (!origin) {
      if (!this.next) done(5);
      else nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    const z = this.zones.get(origin)!;
    if (q.type === 'AXFR' || q.type === 'IXFR') {
      done(5);
      return;
    }
    if (!z.soa) {
      done(2);
      return;
    }
    this.lookup(ctx, w, z, qname, q.type, (answer, ns, extra, result) => {
      if (answer.length === 0 && (result === 'NameError' || result === 'Success') && this.fall.through(qname)) {
        nextOrFailure(this.name, this.next, ctx, w, r, done);
        return;
      }
      const m = setReply(r);
      m.aa = true;
      const own = (rrs: RR[]): RR[] => rrs.map((x) => (fqdn(x.name.toLowerCase()) === qname ? { ...x, name: trimDot(q.name) } : x) as RR);
      m.answer = own(answer);
      m.ns = ns;
      m.extra = extra;
      if (result === 'NameError') m.rcode = 3;
      if (result === 'ServerFailure') {
        done(2);
        return;
      }
      w.writeMsg(m);
      done(0);
    });
  }

  private lookup(ctx: RequestContext, w: ResponseWriter, z: Zone, qname: string, qtype: string, cb: (a: RR[], ns: RR[], ex: RR[], res: Result) => void): void {
    const soa = [z.soa!];
    if (qname === z.origin && (qtype === 'SOA' || qtype === 'NS')) {
      if (qtype === 'SOA') cb(soa, z.ns(), [], 'Success');
      else cb(z.ns(), [], this.glue(z, z.ns()), 'Success');
      return;
    }
    let rrs = z.byName.get(qname);
    if (!rrs) {
      // closest encloser's wildcard (RFC 4592), unless an empty non-terminal is closer
      if (!z.hasDescendant(qname)) {
        let parent = qname;
        while (parent !== z.origin && parent.includes('.')) {
          parent = parent.slice(parent.indexOf('.') + 1) || '.';
          const wild = z.byName.get(`*.${parent}`);
          if (wild) {
            rrs = wild.map((x) => ({ ...x, name: trimDot(qname) }) as RR);
            break;
          }
          if (z.byName.has(parent) || z.hasDescendant(parent)) break;
        }
      }
    }
    if (!rrs) {
      cb([], soa, [], z.hasDescendant(qname) ? 'Success' : 'NameError');
      return;
    }
    const cname = rrs.filter((x) => x.type === 'CNAME');
    if (cname.length && qtype !== 'CNAME') {
      this.chase(ctx, w, z, cname, qtype, 0, (chain, res) => cb(chain, z.ns(), [], res));
      return;
    }
    const hit = rrs.filter((x) => x.type === qtype);
    if (hit.length === 0) {
      cb([], soa, [], 'NoData');
      return;
    }
    cb(hit, z.ns(), this.additional(z, hit), 'Success');
  }

  /** `externalLookup`: follow CNAMEs inside the zone; a target outside goes through the server. */
  private chase(ctx: RequestContext, w: ResponseWriter, z: Zone, chain: RR[], qtype: string, depth: number, cb: (rrs: RR[], res: Result) => void): void {
    const target = fqdn(String(chain[chain.length - 1]!.data).toLowerCase());
    const at = isSubDomain(z.origin, target) ? z.byName.get(target) : undefined;
    if (!at) {
      ctx.server.lookup(ctx, w.info, target, qtype, (m) => {
        if (!m) {
          cb(chain, 'ServerFailure');
          return;
        }
        const res: Result = m.rcode === 3 ? 'NameError' : m.rcode === 2 ? 'ServerFailure' : m.rcode === 0 && m.answer.length === 0 ? 'NoData' : 'Success';
        cb([...chain, ...m.answer], res);
      });
      return;
    }
    const next = at.filter((x) => x.type === 'CNAME');
    if (next.length && depth < 8) {
      this.chase(ctx, w, z, [...chain, ...next], qtype, depth + 1, cb);
      return;
    }
    cb([...chain, ...at.filter((x) => x.type === qtype)], 'Success');
  }

  private additional(z: Zone, answer: RR[]): RR[] {
    const out: RR[] = [];
    const seen = new Set<string>();
    for (const r of answer) {
      let target = '';
      if (r.type === 'SRV') target = (r.data as { target: string }).target;
      if (r.type === 'MX') target = (r.data as { exchange: string }).exchange;
      const t = fqdn(target.toLowerCase());
      if (!target || !isSubDomain(z.origin, t) || seen.has(t)) continue;
      seen.add(t);
      out.push(...(z.byName.get(t) ?? []).filter((x) => x.type === 'A' || x.type === 'AAAA'));
    }
    return out;
  }

  private glue(z: Zone, ns: RR[]): RR[] {
    return ns.flatMap((n) => (z.byName.get(fqdn(String(n.data).toLowerCase())) ?? []).filter((x) => x.type === 'A' || x.type === 'AAAA'));
  }
}
