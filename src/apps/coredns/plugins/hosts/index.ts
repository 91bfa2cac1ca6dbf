import { setReply, trimDot, fqdn, type Msg, type RR } from '../../dns/message.js';
import { Rcode } from '../../dns/message.js';
import type { Fall } from '../../fall.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { addressFromReverse } from '../../reverse.js';
import { matchZone } from '../../zones.js';
import type { HostsMap } from './hostsfile.js';

export interface HostsOptions {
  readonly ttl: number;
  readonly autoReverse: boolean;
}

/**
 * hosts: answers A, AAAA and PTR from a hosts file and inline entries (plugin/hosts). A name
 * it knows without a record of the asked type gets NOERROR with no answer; a name it does
 * not know falls through if configured, else SERVFAIL (no SOA to build NXDOMAIN from).
 */
export class HostsHandler implements Handler {
  readonly name = 'hosts';
  next: Handler | null = null;
  constructor(
    private readonly origins: readonly string[],
    /** Inline entries first, then the file, as LookupStaticHost does. */
    private readonly maps: () => readonly HostsMap[],
    private readonly opts: HostsOptions,
    private readonly fall: Fall,
  ) {}

  private lookup(kind: 'v4' | 'v6', name: string): string[] {
    const out: string[] = [];
    for (const m of this.maps()) for (const ip of m[kind].get(name) ?? []) if (!out.includes(ip)) out.push(ip);
    return out;
  }

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0]!;
    const qname = fqdn(q.name.toLowerCase());
    const zone = matchZone(this.origins, qname);
    if (!zone && q.type !== 'PTR') {
      nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    let answers: RR[] = [];
    const owner = trimDot(qname);
    if (q.type === 'PTR') {
      const ip = addressFromReverse(qname);
      const names: string[] = [];
      if (this.opts.autoReverse) for (const m of this.maps()) for (const n of m.byAddr.get(ip) ?? []) if (!names.includes(n)) names.push(n);
      if (names.length === 0) {
        nextOrFailure(this.name, this.next, ctx, w, r, done);
        return;
      }
      answers = names.map((n) => ({ name: owner, type: 'PTR', class: 'IN', ttl: this.opts.ttl, data: trimDot(n) }));
    } else if (q.type === 'A') {
      answers = this.lookup('v4', qname).map((ip) => ({ name: owner, type: 'A', class: 'IN', ttl: this.opts.ttl, data: ip }));
    } else if (q.type === 'AAAA') {
      answers = this.lookup('v6', qname).map((ip) => ({ name: owner, type: 'AAAA', class: 'IN', ttl: this.opts.ttl, data: ip }));
    }
    if (answers.length === 0 && this.lookup('v4', qname).length === 0 && this.lookup('v6', qname).length === 0) {
      if (this.fall.through(qname)) {
        nextOrFailure(this.name, this.next, ctx, w, r, done);
        return;
      }
      done(Rcode.SERVFAIL);
      return;
    }
    const m = setReply(r);
    m.aa = true;
    m.answer = answers;
    w.writeMsg(m);
    done(Rcode.NOERROR);
  }
}
