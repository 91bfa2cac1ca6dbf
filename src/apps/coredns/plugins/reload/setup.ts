import { parseGoDuration } from '../../duration.js';
import type { PluginDef } from '../../plugin.js';
import { RELOAD_DEFAULTS } from './index.js';

/**
 * `reload [INTERVAL] [JITTER]` (plugin/reload/setup.go): the arguments are checked as
 * CoreDNS checks them; kubewire's Corefile never changes during a run, so nothing reloads.
 */
export const reloadPlugin: PluginDef = {
  name: 'reload',
  once: true,
  setup(c) {
    const d = c.d;
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length > 2) throw d.argErr();
      let interval = RELOAD_DEFAULTS.intervalSec;
      let jitter = RELOAD_DEFAULTS.jitterSec;
      if (args.length > 0) {
        const i = parseGoDuration(args[0]!);
        if (i === null || i < 2) throw d.plain(`interval value must be greater or equal to 2s`);
        interval = i;
      }
      if (args.length > 1) {
        const j = parseGoDuration(args[1]!);
        if (j === null || j < 1) throw d.plain(`jitter value must be greater or equal to 1s`);
        jitter = j;
      }
      if (jitter > interval / 2) jitter = interval / 2;
      if (d.nextBlock()) throw d.argErr();
    }
    return null;
  },
};
