import type { PluginDef } from '../../plugin.js';
import { fqdn } from '../../dns/message.js';
import { RewriteHandler, type AnswerRule, type MatchType, type NameRule } from './index.js';

const MATCH = new Set(['exact', 'prefix', 'suffix', 'substring', 'regex']);
const OTHER_FIELDS = new Set(['type', 'class', 'edns0', 'ttl', 'cname', 'rcode']);

/**
 * `rewrite [continue|stop] name [exact|prefix|suffix|substring|regex] FROM TO
 * [answer auto | answer name FROM TO | answer value FROM TO]...` (plugin/rewrite/setup.go,
 * name.go). Other rule fields are known but not modelled.
 */
export const rewritePlugin: PluginDef = {
  name: 'rewrite',
  setup(c) {
    const d = c.d;
    const rules: NameRule[] = [];
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length < 2) throw d.plain('rewrite: wrong argument count');
      let i = 0;
      let mode: 'stop' | 'continue' = 'stop';
      if (args[0] === 'stop' || args[0] === 'continue') {
        mode = args[0];
        i++;
      }
      const field = args[i++];
      if (field === undefined) throw d.plain('rewrite: wrong argument count');
      if (OTHER_FIELDS.has(field)) throw d.plain(`rewrite: the '${field}' rule is not modelled by kubewire`);
      if (field !== 'name') throw d.plain(`invalid rule type "${field}"`);
      let match: MatchType = 'exact';
      if (MATCH.has(args[i]!) && args.length - i >= 3) match = args[i++] as MatchType;
      const from = args[i++];
      const to = args[i++];
      if (from === undefined || to === undefined) throw d.plain('too few arguments for a name rule');
      let auto = false;
      const answers: AnswerRule[] = [];
      while (i < args.length) {
        if (args[i] !== 'answer') throw d.plain(`the rewrite rule is invalid: ${args.join(' ')}`);
        const kind = args[i + 1];
        if (kind === 'auto') {
          if (match === 'exact') throw d.plain('auto answer rules are only supported for prefix, suffix, substring and regex');
          auto = true;
          i += 2;
          continue;
        }
        if ((kind === 'name' || kind === 'value') && args[i + 2] !== undefined && args[i + 3] !== undefined) {
          let re: RegExp;
          try {
            re = new RegExp(args[i + 2]!);
          } catch {
            throw d.plain(`invalid regex pattern in an answer rule: ${args[i + 2]}`);
          }
          answers.push({ kind, pattern: re, replacement: args[i + 3]!.replace(/\{(\d+)\}/g, '$$$1') });
          i += 4;
          continue;
        }
        throw d.plain(`the rewrite rule is invalid: ${args.join(' ')}`);
      }
      let regex: RegExp | null = null;
      if (match === 'regex') {
        try {
          regex = new RegExp(from);
        } catch {
          throw d.plain(`invalid regex pattern in a name rule: ${from}`);
        }
      }
      const norm = (s: string): string => (match === 'exact' || match === 'suffix' ? fqdn(s.toLowerCase()) : s.toLowerCase());
      rules.push({ mode, match, from: match === 'regex' ? from : norm(from), to: match === 'regex' ? to : norm(to), regex, auto, answers });
    }
    return new RewriteHandler(rules);
  },
};
