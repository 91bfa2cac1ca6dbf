/**
 * Fast text reads for the restore parser's hot paths. Each answers -1 where the strict
 * parser (wire/ipv4-address.ts parseIpv4, a regex per field) must be asked for the verdict
 * and its error, so the accepted language is exactly the strict one.
 */

/** Dotted quad as inet_pton (no leading zeros), or -1: the hot path of every `-s`/`-d`. */
export function fastIpv4(t: string, from: number, to: number): number {
  let v = 0;
  let octets = 0;
  let i = from;
  while (i < to) {
    const c0 = t.charCodeAt(i);
    if (c0 < 48 || c0 > 57) return -1;
    let n = c0 - 48;
    let len = 1;
    i++;
    while (i < to) {
      const c = t.charCodeAt(i);
      if (c < 48 || c > 57) break;
      if (n === 0 || len === 3) return -1;
      n = n * 10 + (c - 48);
      len++;
      i++;
    }
    if (n > 255) return -1;
    v = v * 256 + n;
    octets++;
    if (i === to) break;
    if (t.charCodeAt(i) !== 46 || octets === 4) return -1;
    i++;
    if (i === to) return -1;
  }
  return octets === 4 ? v : -1;
}


/** Decimal digits only, value at most `max`, or -1 (no sign, no blanks; leading zeros allowed). */
export function fastUint(t: string, from: number, to: number, max: number): number {
  if (to <= from || to - from > 10) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v <= max ? v : -1;
}
