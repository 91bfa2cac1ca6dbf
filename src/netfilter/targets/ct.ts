import type { TargetModule } from '../module.js';
import { param, XT_CONTINUE } from '../module.js';
import { CommitError } from '../errors.js';
import { UNTRACKED } from '../conntrack/entry.js';

/** xt_CT --notrack and the old NOTRACK target: the packet gets the untracked ct (raw only). */
function notrack(name: 'CT' | 'NOTRACK'): TargetModule<{ notrack: boolean }> {
  return {
    name,
    options: name === 'CT' ? { notrack: false } : {},
    create: () => ({ notrack: name === 'NOTRACK' }),
    parse(s) {
      s.notrack = true;
    },
    final(s, pc) {
      if (!s.notrack) param('CT: only --notrack is supported by the model');
      if (pc.table !== 'raw') throw new CommitError('', `RULE_APPEND failed (Invalid argument): rule in chain ${pc.chain}`);
    },
    save: () => (name === 'CT' ? ' --notrack' : ''),
    print: () => (name === 'CT' ? ' CT notrack' : ' NOTRACK'),
    compile() {
      return (c) => {
        c.packet.ct = UNTRACKED;
        c.packet.ctinfo = 7;
        return XT_CONTINUE;
      };
    },
  };
}

export const ctTarget = notrack('CT');
export const notrackTarget = notrack('NOTRACK');
