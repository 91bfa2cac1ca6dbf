import type { PluginDef } from '../../plugin.js';
import { BufsizeHandler } from './index.js';

/** `bufsize [SIZE]`, default 1232, 512..4096 (RFC 6891), plugin/bufsize/setup.go. */
export const bufsizePlugin: PluginDef = {
  name: 'bufsize',
  setup(c) {
    const d = c.d;
    let size = -1;
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length === 0) size = 1232;
      else if (args.length === 1) {
        const n = /^-?\d+$/.test(args[0]!) ? Number(args[0]) : NaN;
        if (!Number.isInteger(n) || n < 512 || n > 4096) throw d.argErr();
        size = n;
      } else throw d.argErr();
      break;
    }
    if (size < 0) throw d.argErr();
    return new BufsizeHandler(size);
  },
};
