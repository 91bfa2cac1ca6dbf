import { fqdn, flagNames, msgLength, rcodeName, type Msg } from '../../dns/message.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { isSubDomain } from '../../zones.js';
import type { EventQueue } from '../../../../sim/event-queue.js';

/** The Common Log Format of plugin/log (log.go `CommonLogFormat`). */
export const COMMON_LOG_FORMAT = '{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}';
export const COMBINED_LOG_FORMAT = `${COMMON_LOG_FORMAT} "{>opcode}"`;

export type LogClass = 'all' | 'success' | 'denial' | 'error';

export interface LogRule {
  readonly zone: string;
  readonly format: string;
  readonly classes: ReadonlySet<LogClass>;
}

/**
 * log: one `[INFO] ` line per query after the rest of the chain answered, with the
 * placeholders of plugin/pkg/replacer. `{duration}` is simulated time (Go float seconds).
 */
export class LogHandler implements Handler {
  readonly name = 'log';
  next: Handler | null = null;
  constructor(
    private readonly rules: readonly LogRule[],
    private readonly stdout: (line: string) => void,
    private readonly eq: EventQueue,
  ) {}

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const q = r.question[0];
    const qn = fqdn((q?.name ?? '.').toLowerCase());
    const rule = this.rules.find((x) => isSubDomain(x.zone, qn));
    if (!rule) {
      nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    const start = this.eq.now;
    let written: Msg | null = null;
    let rlen = 0;
    const rec: ResponseWriter = {
      info: w.info,
      writeMsg: (m) => {
        written = m;
        rlen += msgLength(m);
        w.writeMsg(m);
      },
    };
    nextOrFailure(this.name, this.next, ctx, rec, r, (rcode, err) => {
      const cls = classify(written);
      if (rule.classes.has('all') || rule.classes.has(cls)) {
        this.stdout(`[INFO] ${replace(rule.format, r, w, written, rlen, (this.eq.now - start) / 1e9)}`);
      }
      done(rcode, err);
    });
  }
}

function classify(m: Msg | null): LogClass {
  if (!m) return 'error';
  if (m.rcode === 0) return m.answer.length || !m.ns.some((x) => x.type === 'SOA') ? 'success' : 'denial';
  if (m.rcode === 3) return 'denial';
  return 'error';
}

/** Response flags in miekg order: qr,aa,tc,rd,ra,z,ad,cd. */
export function rflags(m: Msg): string {
  return flagNames(m, { z: true }).join(',');
}

/** Go `strconv.FormatFloat(v, 'f', -1, 64)`: shortest decimal, no exponent. */
export function goFloat(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const s = String(v);
  if (!s.includes('e')) return s;
  return v.toFixed(20).replace(/0+$/, '');
}

function replace(format: string, r: Msg, w: ResponseWriter, m: Msg | null, rlen: number, durSec: number): string {
  const q = r.question[0];
  const info = w.info;
  const bufsize = info.proto === 'tcp' ? 65535 : Math.max(512, r.edns?.udpSize ?? 512);
  const v: Record<string, string> = {
    '{type}': q?.type ?? '-',
    '{class}': q?.class ?? '-',
    '{name}': fqdn((q?.name ?? '.').toLowerCase()),
    '{proto}': info.proto,
    '{size}': String(info.size),
    '{remote}': info.remote.addr.includes(':') ? `[${info.remote.addr}]` : info.remote.addr,
    '{port}': String(info.remote.port),
    '{local}': info.local.addr.includes(':') ? `[${info.local.addr}]` : info.local.addr,
    '{>id}': String(r.id),
    '{>opcode}': String(r.opcode),
    '{>do}': String(r.edns?.do ?? false),
    '{>bufsize}': String(bufsize),
    // The recorder's rcode starts at 0: a query nobody wrote logs NOERROR with flags '-' (replacer.go).
    '{rcode}': rcodeName(m ? m.rcode : 0),
    '{>rflags}': m ? rflags(m) : '-',
    '{rsize}': String(rlen),
    '{duration}': `${goFloat(durSec)}s`,
  };
  return format.replace(/\{>?[a-z]+\}/g, (k) => v[k] ?? k);
}
