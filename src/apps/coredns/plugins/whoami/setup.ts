import type { PluginDef } from '../../plugin.js';
import { WhoamiHandler } from './index.js';

/** `whoami` takes no arguments. */
export const whoamiPlugin: PluginDef = {
  name: 'whoami',
  once: true,
  setup(c) {
    const d = c.d;
    d.next();
    if (d.nextArg()) throw d.argErr();
    return new WhoamiHandler();
  },
};
