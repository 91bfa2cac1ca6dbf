/** `dnsutil.ExtractAddressFromReverse`: `4.3.2.1.in-addr.arpa.` -> `1.2.3.4` ('' if not one). */
export function addressFromReverse(name: string): string {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith('.in-addr.arpa')) {
    const parts = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255)) return '';
    return parts.reverse().join('.');
  }
  if (n.endsWith('.ip6.arpa')) {
    const parts = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (parts.length !== 32 || parts.some((p) => !/^[0-9a-f]$/.test(p))) return '';
    const hex = parts.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4).replace(/^0{1,3}/, ''));
    return compressV6(groups);
  }
  return '';
}

function compressV6(groups: string[]): string {
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] === '0') {
      let j = i;
      while (j < 8 && groups[j] === '0') j++;
      if (j - i > bestLen && j - i > 1) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    } else i++;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The reverse name of an address: `1.2.3.4` -> `4.3.2.1.in-addr.arpa.` (`dns.ReverseAddr`). */
export function reverseName(ip: string): string {
  if (ip.includes('.')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa.`;
  const full = expandV6(ip);
  return `${full.replace(/:/g, '').split('').reverse().join('.')}.ip6.arpa.`;
}

export function expandV6(ip: string): string {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  const g = [...h, ...Array<string>(fill).fill('0'), ...t];
  return g.map((x) => x.padStart(4, '0')).join(':');
}

export function isIPv4(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every((x) => /^(0|[1-9]\d{0,2})$/.test(x) && Number(x) <= 255);
}

export function isIPv6(s: string): boolean {
  if (!s.includes(':')) return false;
  if ((s.match(/::/g) ?? []).length > 1) return false;
  const parts = s.split(':');
  if (parts.length > 8) return false;
  if (!s.includes('::') && parts.length !== 8) return false;
  return parts.every((x) => x === '' || /^[0-9a-fA-F]{1,4}$/.test(x));
}

export function isIP(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}
