import { fqdn, type Msg } from '../../dns/message.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { isSubDomain } from '../../zones.js';

/**
 * loop: counts how often its own probe `HINFO <r1>.<r2>.<zone>` comes back through the
 * server; more than twice means queries go round in circles (forward to ourselves), and
 * CoreDNS exits with a fatal log line (plugin/loop/loop.go).
 */
export class LoopHandler implements Handler {
  readonly name = 'loop';
  next: Handler | null = null;
  seen = 0;
  disabled = false;
  constructor(
    readonly zone: string,
    readonly qname: string,
    private readonly fatal: (line: string) => void,
  ) {}

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0]!;
    const name = fqdn(q.name.toLowerCase());
    if (q.type !== 'HINFO' || this.disabled || !isSubDomain(this.zone, name)) {
      nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    if (name === this.qname) this.seen++;
    if (this.seen > 2) {
      const remote = `${w.info.remote.addr}:${w.info.remote.port}`;
      const local = `${w.info.local.addr}:${w.info.local.port}`;
      this.fatal(`[FATAL] plugin/loop: Loop (${remote} -> ${local}) detected for zone "${this.zone}", see https://coredns.io/plugins/loop#troubleshooting. Query: "HINFO ${this.qname}"`);
      return;
    }
    nextOrFailure(this.name, this.next, ctx, w, r, done);
  }
}

/** `qname(zone)`: two labels, each the decimal of a random integer in [0, 2^62), under the zone. */
export function probeName(zone: string, u32: () => number): string {
  const r62 = (): string => ((BigInt(u32() & 0x3fffffff) << 32n) | BigInt(u32())).toString();
  return zone === '.' ? `${r62()}.${r62()}.` : `${r62()}.${r62()}.${zone}`;
}
