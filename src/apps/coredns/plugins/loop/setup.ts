import { seconds } from '../../../../sim/clock.js';
import { decodeMsg, encodeMsg, newQuery } from '../../dns/message.js';
import type { PluginDef } from '../../plugin.js';
import { LoopHandler, probeName } from './index.js';

/**
 * `loop` (no arguments). At startup it sends its probe to its own listen address every
 * second until one exchange succeeds (for up to 30 s) and disables itself 2 s after that,
 * as plugin/loop/setup.go.
 */
export const loopPlugin: PluginDef = {
  name: 'loop',
  once: true,
  setup(c) {
    const d = c.d;
    d.next();
    if (d.nextArg()) throw d.argErr();
    const zone = c.zones[0] ?? '.';
    const rng = c.env.rng.fork('coredns/loop');
    const h = new LoopHandler(zone, probeName(zone, () => rng.u32()), (line) => c.fatal(line));
    c.onStartup(() => {
      const net = c.env.net;
      if (!net) return;
      const eq = c.env.eq;
      const deadline = eq.now + seconds(30);
      const tryOnce = (): void => {
        if (eq.now >= deadline || h.disabled) return;
        const sock = net.udp();
        let answered = false;
        const q = newQuery(rng.int(65536), h.qname, 'HINFO');
        sock.onMessage((b) => {
          try {
            if (decodeMsg(b).id !== q.id) return;
          } catch {
            return;
          }
          answered = true;
          sock.close();
          eq.schedule(seconds(2), () => {
            h.disabled = true;
          });
        });
        sock.sendTo(encodeMsg(q), '127.0.0.1', c.port);
        eq.schedule(seconds(2), () => {
          if (answered) return;
          sock.close();
          h.seen = 0;
          eq.schedule(seconds(1), tryOnce);
        });
      };
      eq.schedule(0, tryOnce);
    });
    return h;
  },
};
