import type { PluginDef } from '../../plugin.js';
import { normalizeZones } from '../../zones.js';
import { COMBINED_LOG_FORMAT, COMMON_LOG_FORMAT, LogHandler, type LogClass, type LogRule } from './index.js';

/** `log [NAMES...] [FORMAT] { class CLASSES... }` (plugin/log/setup.go). */
export const logPlugin: PluginDef = {
  name: 'log',
  setup(c) {
    const d = c.d;
    const rules: LogRule[] = [];
    while (d.next()) {
      const args = d.remainingArgs();
      let zones: string[];
      let format = COMMON_LOG_FORMAT;
      if (args.length === 0) zones = [...c.zones];
      else {
        const last = args[args.length - 1]!;
        if (last === '{common}' || last === '{combined}' || last.includes('{')) {
          format = last === '{common}' ? COMMON_LOG_FORMAT : last === '{combined}' ? COMBINED_LOG_FORMAT : last;
          zones = args.length > 1 ? normalizeZones(args.slice(0, -1)) : [...c.zones];
        } else zones = normalizeZones(args);
      }
      const classes = new Set<LogClass>();
      while (d.nextBlock()) {
        if (d.val() !== 'class') throw d.err(`unknown property '${d.val()}'`);
        const cl = d.remainingArgs();
        if (cl.length === 0) throw d.argErr();
        for (const x of cl) {
          if (x !== 'all' && x !== 'success' && x !== 'denial' && x !== 'error') throw d.err(`invalid class ${x}`);
          classes.add(x);
        }
      }
      if (classes.size === 0) classes.add('all');
      for (const z of zones) rules.push({ zone: z, format, classes });
    }
    return new LogHandler(rules, c.env.stdout, c.env.eq);
  },
};
