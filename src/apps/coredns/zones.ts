import { fqdn } from './dns/message.js';

/** Lower-cased FQDN, as `plugin.Name(...).Normalize()`. */
export function normName(s: string): string {
  return fqdn(s.toLowerCase());
}

/** True when `name` equals `zone` or is below it (`dns.IsSubDomain(zone, name)`), both FQDNs. */
export function isSubDomain(zone: string, name: string): boolean {
  const z = zone.toLowerCase();
  const n = name.toLowerCase();
  if (z === '.') return true;
  return n === z || n.endsWith(`.${z}`);
}

/** `plugin.Zones(zones).Matches(qname)`: the longest zone that holds qname, or ''. */
export function matchZone(zones: readonly string[], qname: string): string {
  let best = '';
  for (const z of zones) {
    if (isSubDomain(z, qname) && z.length > best.length) best = z;
    else if (best === '' && isSubDomain(z, qname)) best = z;
  }
  return best;
}

/**
 * Normalises a plugin's zone arguments as `plugin.Host(s).NormalizeExact()`: a CIDR becomes
 * its reverse zone(s) (octet-aligned only here), anything else a lower-cased FQDN.
 */
export function normalizeZones(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    const s = a.replace(/^dns:\/\//, '');
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(s);
    if (m) {
      const len = Number(m[5]);
      const oct = [m[1]!, m[2]!, m[3]!, m[4]!];
      const keep = Math.floor(len / 8);
      if (len % 8 === 0) out.push(`${oct.slice(0, keep).reverse().join('.')}${keep ? '.' : ''}in-addr.arpa.`);
      else {
        // Classless: one zone per covered octet value, as CoreDNS's SplitReverseZone.
        const span = 1 << (8 - (len % 8));
        const base = Number(oct[keep]) & ~(span - 1);
        for (let v = base; v < base + span; v++) out.push(`${[...oct.slice(0, keep), String(v)].reverse().join('.')}.in-addr.arpa.`);
      }
      continue;
    }
    out.push(normName(s.replace(/:\d+$/, '')));
  }
  return out;
}
