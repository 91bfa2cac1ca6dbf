import { ipAddr } from '../linux/print/ip-addr.js';
import { ipLink } from '../linux/print/ip-link.js';
import { ipNeigh } from '../linux/print/ip-neigh.js';
import { ipRoute } from '../linux/print/ip-route.js';
import { bridgeFdb } from '../linux/print/bridge-fdb.js';
import { sysctlShow } from '../linux/print/sysctl.js';
import { resolvConfOf } from '../scenario/resolv.js';
import { bootIdOf } from '../linux/neigh-hash.js';
import { Netfilter } from '../netfilter/netfilter.js';
import { Ipvs } from '../ipvs/ipvs.js';
import { ipvsadmList, ipvsadmListConn, ipvsadmSave } from '../ipvs/ipvsadm/print.js';
import { resolvePlace, type Place } from '../scenario/endpoints.js';
import type { Runtime } from '../scenario/runtime.js';
import { InputError } from './errors.js';

/** What `kubewire show` can print, by the command a user would type on the node. */
const SHOWS: { words: string[]; run: (rt: Runtime, p: Place, rest: string[]) => string }[] = [
  { words: ['ip', 'addr'], run: (_, p, r) => ipAddr(p.netns, devOpt(r)) },
  { words: ['ip', 'a'], run: (_, p, r) => ipAddr(p.netns, devOpt(r)) },
  { words: ['ip', '-d', 'link'], run: (_, p, r) => ipLink(p.netns, { details: true, ...devOpt(r) }) },
  { words: ['ip', 'link'], run: (_, p, r) => ipLink(p.netns, devOpt(r)) },
  { words: ['ip', 'l'], run: (_, p, r) => ipLink(p.netns, devOpt(r)) },
  { words: ['ip', 'route', 'show', 'table', 'local'], run: (_, p) => ipRoute(p.netns, { table: 255 }) },
  { words: ['ip', 'route', 'show', 'table', 'all'], run: (_, p) => ipRoute(p.netns, { table: 'all' }) },
  { words: ['ip', 'route'], run: (_, p) => ipRoute(p.netns) },
  { words: ['ip', 'r'], run: (_, p) => ipRoute(p.netns) },
  { words: ['ip', 'neigh', 'show', 'nud', 'all'], run: (_, p) => ipNeigh(p.netns, { all: true }) },
  { words: ['ip', 'neigh'], run: (_, p, r) => ipNeigh(p.netns, devOpt(r)) },
  { words: ['ip', 'n'], run: (_, p, r) => ipNeigh(p.netns, devOpt(r)) },
  { words: ['bridge', 'fdb'], run: (_, p, r) => bridgeFdb(p.netns, r[0] === 'show' && r[1] === 'br' && r[2] ? { br: r[2] } : {}) },
  { words: ['sysctl'], run: (_, p, r) => sysctlShow(p.netns, r.filter((x) => !x.startsWith('-'))) },
  { words: ['cat', '/etc/resolv.conf'], run: (rt, p) => resolvConfOf(rt, p) },
  { words: ['cat', '/proc/sys/kernel/random/boot_id'], run: (_, p) => bootIdOf(p.netns.env, p.netns.node) + '\n' },
  { words: ['iptables-save'], run: (rt, p, r) => nf(rt, p).save({ ...(r.includes('-c') ? { counters: true } : {}), ...(tableOpt(r) ? { table: tableOpt(r)! } : {}) }) },
  { words: ['iptables', '-t'], run: (rt, p, r) => nf(rt, p).list((r[0] ?? 'filter') as never) },
  { words: ['iptables', '-L'], run: (rt, p) => nf(rt, p).list('filter') },
  { words: ['conntrack', '-L'], run: (rt, p) => nf(rt, p).conntrackList() },
  { words: ['ipvsadm', '-Ln', '--stats'], run: (rt, p) => ipvsadmList(ipvsOf(rt, p), { numeric: true, stats: true }) },
  { words: ['ipvsadm', '-Ln', '--rate'], run: (rt, p) => ipvsadmList(ipvsOf(rt, p), { numeric: true, rate: true }) },
  { words: ['ipvsadm', '-Lnc'], run: (rt, p) => ipvsadmListConn(ipvsOf(rt, p), { numeric: true }) },
  { words: ['ipvsadm', '-Ln'], run: (rt, p) => ipvsadmList(ipvsOf(rt, p), { numeric: true }) },
  { words: ['ipvsadm', '-Sn'], run: (rt, p) => ipvsadmSave(ipvsOf(rt, p), { numeric: true }) },
  { words: ['ipset', 'list'], run: (rt, p, r) => nf(rt, p).ipsetList(r[0]) },
  { words: ['ipset', 'save'], run: (rt, p, r) => nf(rt, p).ipsetSave(r[0]) },
];

function tableOpt(rest: string[]): 'filter' | 'nat' | 'mangle' | 'raw' | undefined {
  const i = rest.indexOf('-t');
  return i >= 0 ? (rest[i + 1] as 'filter' | 'nat' | 'mangle' | 'raw') : undefined;
}

/** The namespace's IPVS; a node without kube-proxy in ipvs mode has an empty table. */
function ipvsOf(rt: Runtime, p: Place): Ipvs {
  return rt.world.ipvs.get(p.netns) ?? new Ipvs({ clock: () => p.netns.clock.now });
}

/** The namespace's netfilter; one with no rules prints what an empty kernel prints. */
function nf(rt: Runtime, p: Place): Netfilter {
  return rt.world.iptables.get(p.netns)?.nf ?? new Netfilter(p.netns);
}

function devOpt(rest: string[]): { dev?: string } {
  const i = rest.indexOf('dev');
  if (i >= 0 && rest[i + 1]) return { dev: rest[i + 1]! };
  const j = rest.indexOf('show');
  if (j >= 0 && rest[j + 1] && rest[j + 1] !== 'dev') return { dev: rest[j + 1]! };
  return {};
}

/** `kubewire show TARGET WHAT...`: the text the real command prints there. */
export function show(rt: Runtime, target: string, what: string[]): string {
  let place: Place;
  try {
    place = resolvePlace(rt, target);
  } catch (e) {
    throw new InputError(`kubewire show: ${(e as Error).message}`);
  }
  const norm = what.flatMap((w) => w.split(/\s+/)).filter(Boolean);
  // Longest command first, so `ip route show table local` wins over `ip route`.
  const match = [...SHOWS].sort((a, b) => b.words.length - a.words.length).find((s) => s.words.every((w, i) => norm[i] === w));
  if (!match) {
    throw new InputError(`kubewire show: cannot show "${norm.join(' ')}"; one of: ${[...new Set(SHOWS.map((s) => s.words.join(' ')))].join(', ')}`);
  }
  return match.run(rt, place, norm.slice(match.words.length));
}
