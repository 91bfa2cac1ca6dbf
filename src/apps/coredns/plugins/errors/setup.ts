import { parseGoDuration } from '../../duration.js';
import type { PluginDef } from '../../plugin.js';
import { ErrorsHandler, type Consolidate } from './index.js';
import { seconds } from '../../../../sim/clock.js';

/** `errors { consolidate DURATION REGEXP [LEVEL] [show_first]; stacktrace }` (plugin/errors/setup.go). */
export const errorsPlugin: PluginDef = {
  name: 'errors',
  once: true,
  setup(c) {
    const d = c.d;
    const rules: Consolidate[] = [];
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length > 1) throw d.argErr();
      if (args.length === 1 && args[0] !== 'stdout') throw d.err(`invalid log file: ${args[0]}`);
      while (d.nextBlock()) {
        const v = d.val();
        if (v === 'stacktrace') {
          if (d.remainingArgs().length) throw d.argErr();
          continue;
        }
        if (v !== 'consolidate') throw d.err(`unknown property '${v}'`);
        const a = d.remainingArgs();
        if (a.length < 2 || a.length > 4) throw d.argErr();
        const p = parseGoDuration(a[0]!);
        if (p === null) throw d.err(a[0]!);
        let re: RegExp;
        try {
          re = new RegExp(a[1]!);
        } catch {
          throw d.err(a[1]!);
        }
        let level: Consolidate['level'] = 'error';
        let showFirst = false;
        for (const x of a.slice(2)) {
          if (x === 'show_first') showFirst = true;
          else if (x === 'warning' || x === 'error' || x === 'info' || x === 'debug') level = x;
          else throw d.err(`unknown log level argument in consolidate: ${x}`);
        }
        rules.push({ periodSec: p, pattern: re, text: a[1]!, level, showFirst });
      }
    }
    return new ErrorsHandler(c.env.stdout, rules, (s, fn) => c.env.eq.schedule(seconds(s), fn));
  },
};
