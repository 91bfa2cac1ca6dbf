import type { PluginDef } from '../../plugin.js';
import { LoadBalanceHandler } from './index.js';

/** `loadbalance [round_robin]` (plugin/loadbalance/setup.go); `weighted`/`prefer` unsupported here. */
export const loadbalancePlugin: PluginDef = {
  name: 'loadbalance',
  once: true,
  setup(c) {
    const d = c.d;
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length > 0 && args[0] !== 'round_robin') {
        if (args[0] === 'weighted' || args[0] === 'prefer') throw d.err(`load balancing policy '${args[0]}' is not modelled by kubewire`);
        throw d.err(`unknown policy: ${args[0]}`);
      }
      if (args.length > 1) throw d.argErr();
    }
    return new LoadBalanceHandler(c.env.rng.fork('coredns/loadbalance'));
  },
};
