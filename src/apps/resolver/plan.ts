import type { Libc, ResolvConf } from './resolvconf.js';

/** One name the stub resolver will ask for, and why it is at that place in the list. */
export interface SearchStep {
  /** The name as sent (absolute, with a trailing dot). */
  readonly name: string;
  readonly reason: 'as-is' | 'search' | 'as-is-last';
  /** The query types sent for it, in sending order. */
  readonly types: readonly string[];
}

export type Family = 'unspec' | 'inet' | 'inet6';

function countDots(s: string): number {
  let n = 0;
  for (const c of s) if (c === '.') n++;
  return n;
}

function join(name: string, domain: string): string {
  const d = domain.replace(/^\./, '');
  return d === '' ? `${name}.` : `${name}.${d.replace(/\.$/, '')}.`;
}

/**
 * The names a lookup walks through if every step fails with NXDOMAIN, in order. glibc
 * (`__res_context_search`, res_query.c): the name as-is first when it has at least `ndots`
 * dots or a trailing dot (a trailing dot stops there); then each search domain; then the
 * name as-is if not tried yet (unless `no-tld-query` for a dotless name). musl
 * (`name_from_dns_search`): a name with >= ndots dots or a trailing dot is only tried as-is;
 * others go through the search list, then as-is. Each step asks A then AAAA for
 * getaddrinfo(AF_UNSPEC) (AAAA dropped by glibc's `no-aaaa`).
 */
export function planSearch(name: string, rc: ResolvConf, opts: { libc?: Libc; family?: Family } = {}): SearchStep[] {
  const libc = opts.libc ?? 'glibc';
  const family = opts.family ?? 'unspec';
  const types: string[] = [];
  if (family !== 'inet6') types.push('A');
  if (family !== 'inet' && !(libc === 'glibc' && rc.noAaaa)) types.push('AAAA');
  const trailing = name.endsWith('.');
  const bare = trailing ? name.slice(0, -1) : name;
  const dots = countDots(name);
  const steps: SearchStep[] = [];
  const asIs = (reason: SearchStep['reason']): SearchStep => ({ name: `${bare}.`, reason, types });
  if (libc === 'musl') {
    if (dots >= rc.ndots || trailing) return [asIs('as-is')];
    for (const d of rc.search) steps.push({ name: join(bare, d), reason: 'search', types });
    steps.push(asIs('as-is-last'));
    return steps;
  }
  let triedAsIs = false;
  if (dots >= rc.ndots || trailing) {
    steps.push(asIs('as-is'));
    if (trailing) return steps;
    triedAsIs = true;
  }
  let searched = false;
  let rootOnList = false;
  if (dots === 0 || !trailing) {
    for (const d of rc.search) {
      searched = true;
      if (d.replace(/^\./, '') === '') rootOnList = true;
      steps.push({ name: join(bare, d), reason: 'search', types });
    }
  }
  if ((dots > 0 || !searched || !rc.noTldQuery) && !(triedAsIs || rootOnList)) steps.push(asIs('as-is-last'));
  return steps;
}
