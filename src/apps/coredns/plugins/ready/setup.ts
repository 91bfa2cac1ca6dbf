import type { PluginDef } from '../../plugin.js';
import { readyReply } from './index.js';

/** `ready [ADDRESS]` (plugin/ready/setup.go); no DNS handler. */
export const readyPlugin: PluginDef = {
  name: 'ready',
  once: true,
  setup(c) {
    const d = c.d;
    let addr = ':8181';
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length > 1) throw d.argErr();
      if (args.length === 1) addr = args[0]!;
      if (d.nextBlock()) throw d.argErr();
    }
    c.http(addr, '/ready', () => {
      const waiting = c.notReady();
      if (waiting.length) c.env.stdout(`[INFO] plugin/ready: Plugins not ready: "${[...waiting].sort().join(',')}"`);
      return readyReply(waiting);
    });
    // ready's OnFinalShutdown closes its listener at once: probes are refused from SIGTERM on.
    c.onShutdown(() => c.closeHttp(addr, '/ready'));
    return null;
  },
};

