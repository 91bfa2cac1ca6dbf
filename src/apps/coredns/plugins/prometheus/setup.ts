import type { PluginDef } from '../../plugin.js';
import { MetricsHandler } from './index.js';

/** `prometheus [ADDRESS]`, default `localhost:9153` (plugin/metrics/setup.go). */
export const prometheusPlugin: PluginDef = {
  name: 'prometheus',
  once: true,
  setup(c) {
    const d = c.d;
    let addr = 'localhost:9153';
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length > 1) throw d.argErr();
      if (args.length === 1) addr = args[0]!;
      if (!/^[^:]*:\d+$/.test(addr) && !/^\[.*\]:\d+$/.test(addr)) throw d.plain(`address ${addr}: missing port in address`);
      if (d.nextBlock()) throw d.argErr();
    }
    c.http(addr, '/metrics', () => ({ status: 200, body: c.env.metrics.expose(), contentType: 'text/plain; version=0.0.4; charset=utf-8' }));
    return new MetricsHandler(c.env.metrics, c.zones);
  },
};
