import { Fall } from '../../fall.js';
import { fqdn } from '../../dns/message.js';
import type { PluginDef } from '../../plugin.js';
import { normalizeZones } from '../../zones.js';
import { FileHandler, Zone } from './index.js';
import { parseZone, ZoneParseError } from './zone.js';

/**
 * `file DBFILE [ZONES...] { reload DURATION; fallthrough [ZONES...] }` (plugin/file/setup.go):
 * each zone is loaded from DBFILE, a file of the CoreDNS pod (a ConfigMap key).
 */
export const filePlugin: PluginDef = {
  name: 'file',
  setup(c) {
    const d = c.d;
    const zones = new Map<string, Zone>();
    let fall = new Fall();
    while (d.next()) {
      const args = d.remainingArgs();
      if (args.length < 1) throw d.argErr();
      const path = args[0]!;
      const origins = args.length > 1 ? normalizeZones(args.slice(1)) : [...c.zones];
      const text = c.env.files[path];
      if (text === undefined) throw d.plain(`open ${path}: no such file or directory`);
      for (const o of origins) {
        try {
          zones.set(fqdn(o), new Zone(fqdn(o), parseZone(text, o)));
        } catch (e) {
          if (e instanceof ZoneParseError) throw d.plain(`${path}: ${e.message}`);
          throw e;
        }
      }
      while (d.nextBlock()) {
        const v = d.val();
        if (v === 'fallthrough') fall = Fall.fromArgs(d.remainingArgs());
        else if (v === 'reload') {
          if (d.remainingArgs().length !== 1) throw d.argErr();
        } else if (v === 'upstream') d.remainingArgs();
        else throw d.err(`unknown property '${v}'`);
      }
    }
    return new FileHandler(zones, fall);
  },
};
