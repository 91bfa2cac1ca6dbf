import type { Msg } from '../../dns/message.js';
import { fqdn } from '../../dns/message.js';
import { nextOrFailure, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';

export interface Consolidate {
  readonly periodSec: number;
  readonly pattern: RegExp;
  readonly text: string;
  readonly level: 'warning' | 'error' | 'info' | 'debug';
  readonly showFirst: boolean;
}

/**
 * errors: logs every error the rest of the chain returns, as
 * `[ERROR] plugin/errors: <rcode> <qname> <qtype>: <error>` (plugin/errors/errors.go).
 * `consolidate` rules count matching errors and print one summary per period instead.
 */
export class ErrorsHandler implements Handler {
  readonly name = 'errors';
  next: Handler | null = null;
  private counts: number[];
  constructor(
    private readonly stdout: (line: string) => void,
    private readonly rules: readonly Consolidate[],
    private readonly schedule: (delaySec: number, fn: () => void) => void,
  ) {
    this.counts = rules.map(() => 0);
  }

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    nextOrFailure(this.name, this.next, ctx, w, r, (rcode, err) => {
      if (err) {
        const q = r.question[0];
        const line = `${rcode} ${fqdn((q?.name ?? '.').toLowerCase())} ${q?.type ?? ''}: ${err.message}`;
        if (!this.consolidated(err.message, line)) this.stdout(`[ERROR] plugin/errors: ${line}`);
      }
      done(rcode, err);
    });
  }

  private consolidated(msg: string, line: string): boolean {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (!rule.pattern.test(msg)) continue;
      if (this.counts[i] === 0) {
        if (rule.showFirst) this.stdout(`[${rule.level.toUpperCase()}] plugin/errors: ${line}`);
        this.schedule(rule.periodSec, () => {
          const n = this.counts[i]!;
          this.counts[i] = 0;
          this.stdout(`[${rule.level.toUpperCase()}] plugin/errors: ${n} errors like '${rule.text}' occurred in last ${formatPeriod(rule.periodSec)}`);
        });
      }
      this.counts[i]!++;
      return true;
    }
    return false;
  }
}

function formatPeriod(s: number): string {
  const m = Math.floor(s / 60);
  const r = s % 60;
  return m ? `${m}m${r}s` : `${r}s`;
}
