/** `/etc/resolv.conf` as glibc's res_init reads it (resolv/res_init.c), with musl's limits as an option. */
export interface ResolvConf {
  nameservers: string[];
  search: string[];
  ndots: number;
  /** Seconds per try (`RES_TIMEOUT` 5, max 30). */
  timeout: number;
  /** Tries per name server (`RES_DFLRETRY` 2, max 5). */
  attempts: number;
  rotate: boolean;
  singleRequest: boolean;
  singleRequestReopen: boolean;
  useVc: boolean;
  edns0: boolean;
  noTldQuery: boolean;
  noAaaa: boolean;
  trustAd: boolean;
  /** Lines glibc ignored (unknown keywords), for diagnostics. */
  ignored: string[];
}

export type Libc = 'glibc' | 'musl';

const LIMITS = {
  glibc: { ndots: 15, timeout: 30, attempts: 5, ns: 3 },
  musl: { ndots: 15, timeout: 60, attempts: 10, ns: 3 },
} as const;

export function defaultResolvConf(): ResolvConf {
  return {
    nameservers: [],
    search: [],
    ndots: 1,
    timeout: 5,
    attempts: 2,
    rotate: false,
    singleRequest: false,
    singleRequestReopen: false,
    useVc: false,
    edns0: false,
    noTldQuery: false,
    noAaaa: false,
    trustAd: false,
    ignored: [],
  };
}

/**
 * Parses resolv.conf text. As glibc: the last `search`/`domain` line wins, at most 3
 * name servers, option values clamped to their maxima, no name server means 127.0.0.1.
 * musl reads only nameserver, search/domain and ndots/attempts/timeout.
 */
export function parseResolvConf(text: string, libc: Libc = 'glibc'): ResolvConf {
  const rc = defaultResolvConf();
  const lim = LIMITS[libc];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const f = line.split(/\s+/);
    const kw = f[0]!;
    const args = f.slice(1);
    switch (kw) {
      case 'nameserver':
        if (args[0] && rc.nameservers.length < lim.ns && isAddr(args[0])) rc.nameservers.push(args[0]);
        break;
      case 'domain':
        if (args[0]) rc.search = [args[0]];
        break;
      case 'search':
        rc.search = args.filter((a) => a !== '');
        break;
      case 'options':
        for (const o of args) applyOption(rc, o, libc);
        break;
      default:
        rc.ignored.push(line);
    }
  }
  if (rc.nameservers.length === 0) rc.nameservers.push('127.0.0.1');
  return rc;
}

function applyOption(rc: ResolvConf, o: string, libc: Libc): void {
  const lim = LIMITS[libc];
  const num = (p: string): number | null => {
    if (!o.startsWith(p)) return null;
    const n = Number.parseInt(o.slice(p.length), 10);
    return Number.isNaN(n) ? 0 : n;
  };
  let n: number | null;
  if ((n = num('ndots:')) !== null) rc.ndots = Math.min(Math.max(n, 0), lim.ndots);
  else if ((n = num('timeout:')) !== null) rc.timeout = Math.min(Math.max(n, 0), lim.timeout);
  else if ((n = num('attempts:')) !== null) rc.attempts = Math.min(Math.max(n, 0), lim.attempts);
  else if (libc === 'musl') return;
  else if (o === 'rotate') rc.rotate = true;
  else if (o === 'single-request') rc.singleRequest = true;
  else if (o === 'single-request-reopen') rc.singleRequestReopen = true;
  else if (o === 'use-vc') rc.useVc = true;
  else if (o === 'edns0') rc.edns0 = true;
  else if (o === 'no-tld-query') rc.noTldQuery = true;
  else if (o === 'no-aaaa') rc.noAaaa = true;
  else if (o === 'trust-ad') rc.trustAd = true;
}

function isAddr(s: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(s) || s.includes(':');
}
