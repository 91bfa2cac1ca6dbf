import type { Random } from '../../../../sim/random.js';
import type { Msg, RR } from '../../dns/message.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';

/**
 * loadbalance (round_robin): shuffles the A/AAAA (and MX) records of every NOERROR reply on
 * its way out, in each section, as plugin/loadbalance/loadbalance.go: a section of only
 * addresses is shuffled whole; a mixed one is re-emitted as CNAMEs, others, shuffled
 * addresses, shuffled MX. Two records swap when the random uint16 is even; more get a
 * forward Fisher-Yates.
 */
export class LoadBalanceHandler implements Handler {
  readonly name = 'loadbalance';
  next: Handler | null = null;
  constructor(private readonly rng: Random) {}
  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0];
    const lw: ResponseWriter = {
      info: w.info,
      writeMsg: (m) => {
        if (m.rcode === 0 && q && q.type !== 'AXFR' && q.type !== 'IXFR') {
          m.answer = this.roundRobin(m.answer);
          m.ns = this.roundRobin(m.ns);
          m.extra = this.roundRobin(m.extra);
        }
        w.writeMsg(m);
      },
    };
    nextOrFailure(this.name, this.next, ctx, lw, r, done);
  }

  private roundRobin(in_: RR[]): RR[] {
    const cname: RR[] = [];
    const address: RR[] = [];
    const mx: RR[] = [];
    const rest: RR[] = [];
    for (const r of in_) {
      if (r.type === 'CNAME') cname.push(r);
      else if (r.type === 'A' || r.type === 'AAAA') address.push(r);
      else if (r.type === 'MX') mx.push(r);
      else rest.push(r);
    }
    if (address.length === in_.length) return this.shuffle(address);
    return [...cname, ...rest, ...this.shuffle(address), ...this.shuffle(mx)];
  }

  private shuffle(rrs: RR[]): RR[] {
    const out = [...rrs];
    if (out.length < 2) return out;
    if (out.length === 2) {
      if (this.rng.int(65536) % 2 === 0) [out[0], out[1]] = [out[1]!, out[0]!];
      return out;
    }
    for (let j = 0; j < out.length; j++) {
      const p = j + (this.rng.int(65536) % (out.length - j));
      if (p !== j) [out[j], out[p]] = [out[p]!, out[j]!];
    }
    return out;
  }
}
