import { formatGoDuration, parseGoDuration } from '../../duration.js';
import type { PluginDef } from '../../plugin.js';
import { Health } from './index.js';

/** `health [ADDRESS] { lameduck DURATION }` (plugin/health/setup.go); no DNS handler. */
export const healthPlugin: PluginDef = {
  name: 'health',
  once: true,
  setup(c) {
    const d = c.d;
    let addr = ':8080';
    let lameduck = 0;
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length > 1) throw d.argErr();
      if (args.length === 1) addr = args[0]!;
      while (d.nextBlock()) {
        if (d.val() !== 'lameduck') throw d.err(`unknown property '${d.val()}'`);
        const a = d.remainingArgs();
        if (a.length !== 1) throw d.argErr();
        const l = parseGoDuration(a[0]!);
        if (l === null) throw d.plain(`unable to parse lameduck duration value: '${a[0]}': time: invalid duration "${a[0]}"`);
        lameduck = l;
      }
    }
    const h = new Health(lameduck);
    c.http(addr, '/health', () => h.get());
    c.onShutdown(() => {
      if (lameduck > 0) c.env.stdout(`[INFO] plugin/health: Going into lameduck mode for ${formatGoDuration(lameduck)}`);
      return lameduck;
    });
    return null;
  },
};
