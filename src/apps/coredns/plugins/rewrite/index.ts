import { fqdn, setRcode, trimDot, type Msg, type Question, type RR } from '../../dns/message.js';
import { clientWrote, nextOrFailure, note, type Done, type Handler, type RequestContext, type ResponseWriter } from '../../plugin.js';
import { sizeAndDo } from '../../server.js';

export type MatchType = 'exact' | 'prefix' | 'suffix' | 'substring' | 'regex';

/** How answers are rewritten back (plugin/rewrite `answer name|value`, `answer auto`). */
export interface AnswerRule {
  readonly kind: 'name' | 'value';
  readonly pattern: RegExp;
  readonly replacement: string;
}

export interface NameRule {
  readonly mode: 'stop' | 'continue';
  readonly match: MatchType;
  readonly from: string;
  readonly to: string;
  readonly regex: RegExp | null;
  readonly auto: boolean;
  readonly answers: readonly AnswerRule[];
}

/** Applies a name rule to a lower-cased FQDN; null when it does not match (rewrite/name.go). */
export function rewriteName(rule: NameRule, name: string): string | null {
  switch (rule.match) {
    case 'exact':
      return name === rule.from ? rule.to : null;
    case 'prefix':
      return name.startsWith(rule.from) ? rule.to + name.slice(rule.from.length) : null;
    case 'suffix':
      return name.endsWith(rule.from) ? name.slice(0, name.length - rule.from.length) + rule.to : null;
    case 'substring':
      return name.includes(rule.from) ? name.split(rule.from).join(rule.to) : null;
    case 'regex': {
      const m = rule.regex!.exec(name);
      if (!m) return null;
      return rule.to.replace(/\{(\d+)\}/g, (_x, i: string) => m[Number(i)] ?? '');
    }
  }
}

/** The reverse mapping `answer auto` applies to owner names of the reply. */
function revertName(rule: NameRule, name: string): string {
  switch (rule.match) {
    case 'exact':
      return name === rule.to ? rule.from : name;
    case 'prefix':
      return rule.auto && name.startsWith(rule.to) ? rule.from + name.slice(rule.to.length) : name;
    case 'suffix':
      return rule.auto && name.endsWith(rule.to) ? name.slice(0, name.length - rule.to.length) + rule.from : name;
    case 'substring':
      return rule.auto && name.includes(rule.to) ? name.split(rule.to).join(rule.from) : name;
    case 'regex':
      return name;
  }
}

/**
 * rewrite (name rules): changes the question before the rest of the chain sees it; the reply
 * gets the original question back (reverter.go) and, for exact rules or `answer ...`, its
 * owner names (and with `answer value`, targets) rewritten back.
 */
export class RewriteHandler implements Handler {
  readonly name = 'rewrite';
  next: Handler | null = null;
  constructor(readonly rules: readonly NameRule[]) {}

  serveDNS(ctx: RequestContext, w: ResponseWriter, r: Msg, done: Done): void {
    const original: Question = { ...r.question[0]! };
    const applied: NameRule[] = [];
    let name = fqdn(original.name.toLowerCase());
    for (const rule of this.rules) {
      const nn = rewriteName(rule, name);
      if (nn === null) continue;
      applied.push(rule);
      note(ctx, this.name, 'rewrite', `${name} -> ${nn}`);
      name = nn;
      if (rule.mode === 'stop') break;
    }
    if (applied.length === 0) {
      nextOrFailure(this.name, this.next, ctx, w, r, done);
      return;
    }
    const req: Msg = { ...r, question: [{ ...original, name: trimDot(name) }] };
    const rev: ResponseWriter = {
      info: w.info,
      writeMsg: (m) => {
        m.question = [{ ...original }];
        const fix = (rrs: RR[]): RR[] =>
          rrs.map((x) => {
            let owner = fqdn(x.name.toLowerCase());
            for (const rule of applied) {
              owner = revertName(rule, owner);
              for (const a of rule.answers) if (a.kind === 'name') owner = owner.replace(a.pattern, a.replacement);
            }
            const y = { ...x, name: trimDot(owner) } as RR;
            for (const rule of applied) {
              for (const a of rule.answers) {
                if (a.kind !== 'value') continue;
                if (y.type === 'CNAME' || y.type === 'PTR' || y.type === 'NS') (y as { data: string }).data = trimDot(fqdn(String(y.data)).replace(a.pattern, a.replacement));
                if (y.type === 'SRV') {
                  const d = y.data as { target: string };
                  (y as { data: unknown }).data = { ...d, target: trimDot(fqdn(d.target).replace(a.pattern, a.replacement)) };
                }
              }
            }
            return y;
          });
        m.answer = fix(m.answer);
        m.ns = fix(m.ns);
        m.extra = fix(m.extra);
        w.writeMsg(m);
      },
    };
    nextOrFailure(this.name, this.next, ctx, rev, req, (rcode, err) => {
      if (clientWrote(rcode)) {
        done(rcode, err);
        return;
      }
      // Nobody wrote: answer through the reverter so the question matches, then report success.
      const res = setRcode(req, rcode);
      sizeAndDo(r, res);
      rev.writeMsg(res);
      done(0, err);
    });
  }
}
