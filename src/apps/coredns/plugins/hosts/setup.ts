import { parseGoDuration } from '../../duration.js';
import { Fall } from '../../fall.js';
import type { PluginDef } from '../../plugin.js';
import { normalizeZones } from '../../zones.js';
import { HostsHandler } from './index.js';
import { HostsMap } from './hostsfile.js';

/**
 * `hosts [FILE [ZONES...]] { [INLINE...] ttl SECONDS; no_reverse; reload DURATION;
 * fallthrough [ZONES...] }` (plugin/hosts/setup.go). FILE is read from the pod's files
 * (ConfigMap keys); a missing file is a warning and an empty map, as CoreDNS.
 */
export const hostsPlugin: PluginDef = {
  name: 'hosts',
  once: true,
  setup(c) {
    const d = c.d;
    let path = '/etc/hosts';
    let origins = [...c.zones];
    let ttl = 3600;
    let autoReverse = true;
    let fall = new Fall();
    const inline: string[] = [];
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length >= 1) {
        path = args[0]!;
        if (args.length > 1) origins = normalizeZones(args.slice(1));
      }
      while (d.nextBlock()) {
        const v = d.val();
        switch (v) {
          case 'fallthrough':
            fall = Fall.fromArgs(d.remainingArgs());
            break;
          case 'no_reverse':
            autoReverse = false;
            break;
          case 'ttl': {
            const a = d.remainingArgs();
            if (a.length < 1) throw d.err('ttl needs a time in second');
            if (!/^[+-]?\d+$/.test(a[0]!)) throw d.err('ttl needs a number of second');
            const t = Number(a[0]);
            if (t <= 0 || t > 65535) throw d.err('ttl provided is invalid');
            ttl = t;
            break;
          }
          case 'reload': {
            const a = d.remainingArgs();
            if (a.length !== 1) throw d.err('reload needs a duration (zero seconds to disable)');
            const r = parseGoDuration(a[0]!);
            if (r === null) throw d.err(`invalid duration for reload '${a[0]}'`);
            if (r < 0) throw d.err(`invalid negative duration for reload '${a[0]}'`);
            break;
          }
          default:
            if (fall.zones.length === 0) {
              inline.push([v, ...d.remainingArgs()].join(' '));
              break;
            }
            throw d.err(`unknown property '${v}'`);
        }
      }
    }
    const file = c.env.files[path];
    if (file === undefined) c.env.stdout(`[WARNING] plugin/hosts: File does not exist: ${path}`);
    const maps = [HostsMap.parse(inline.join('\n')), HostsMap.parse(file ?? '')];
    c.env.metrics.set('coredns_hosts_entries', [path], maps[0]!.size + maps[1]!.size);
    return new HostsHandler(origins, () => maps, { ttl, autoReverse }, fall);
  },
};
