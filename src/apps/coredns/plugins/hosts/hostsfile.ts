import { fqdn } from '../../dns/message.js';
import { isIPv4, isIPv6 } from '../../reverse.js';

/** Parsed hosts entries (plugin/hosts/hostsfile.go): name -> addresses, address -> names. */
export class HostsMap {
  readonly v4 = new Map<string, string[]>();
  readonly v6 = new Map<string, string[]>();
  readonly byAddr = new Map<string, string[]>();
  size = 0;

  /** Lines `IP NAME [ALIASES...]`; `#` comments; bad lines are skipped as CoreDNS does. */
  static parse(text: string): HostsMap {
    const h = new HostsMap();
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const f = line.split(/\s+/);
      if (f.length < 2) continue;
      const ip = f[0]!.replace(/%.*$/, '');
      const v4 = isIPv4(ip);
      if (!v4 && !isIPv6(ip)) continue;
      for (const n of f.slice(1)) {
        const name = fqdn(n.toLowerCase());
        const m = v4 ? h.v4 : h.v6;
        const l = m.get(name) ?? [];
        if (!l.includes(ip)) l.push(ip);
        m.set(name, l);
        const r = h.byAddr.get(ip) ?? [];
        if (!r.includes(name)) r.push(name);
        h.byAddr.set(ip, r);
        h.size++;
      }
    }
    return h;
  }
}
