/** Go's `time.ParseDuration` (units ns us µs ms s m h), answering seconds; null if invalid. */
export function parseGoDuration(s: string): number | null {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  const mult: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let i = 0;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    i = 1;
  }
  if (i >= s.length) return null;
  let total = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return null;
    total += Number(m[1]) * mult[m[2]!]!;
    i = re.lastIndex;
  }
  return neg ? -total : total;
}

/** Go's `Duration.String()` for whole/fractional seconds: `5s`, `1m30s`, `500ms`. */
export function formatGoDuration(sec: number): string {
  if (sec === 0) return '0s';
  if (sec < 1) {
    const ms = sec * 1000;
    if (ms >= 1) return `${+ms.toFixed(6)}ms`;
    return `${+(sec * 1e6).toFixed(3)}µs`;
  }
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = +(sec % 60).toFixed(9);
  if (h) return `${h}h${m}m${s}s`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}
