import { parseGoDuration } from '../../duration.js';
import type { PluginDef } from '../../plugin.js';
import { normalizeZones } from '../../zones.js';
import { CacheHandler, type CacheConfig } from './index.js';

const int = (s: string): number | null => (/^[+-]?\d+$/.test(s) ? Number(s) : null);

/**
 * `cache [TTL] [ZONES...] { success CAP [TTL [MINTTL]]; denial CAP [TTL [MINTTL]];
 * prefetch N [DUR [PCT%]]; serve_stale [DUR [immediate|verify]]; servfail DUR;
 * disable success|denial [ZONES...]; keepttl }` (plugin/cache/setup.go).
 */
export const cachePlugin: PluginDef = {
  name: 'cache',
  once: true,
  setup(c) {
    const d = c.d;
    const cfg: CacheConfig = {
      zones: [...c.zones],
      pcap: 9984,
      ncap: 9984,
      pttl: 3600,
      minpttl: 5,
      nttl: 1800,
      minnttl: 5,
      failttl: 5,
      staleUpTo: 0,
      verifyStale: false,
      prefetch: 0,
      prefetchWindow: 60,
      prefetchPercent: 10,
      pexcept: [],
      nexcept: [],
      keepttl: false,
    };
    const atoi = (s: string): number => {
      const n = int(s);
      if (n === null) throw d.plain(`strconv.Atoi: parsing "${s}": invalid syntax`);
      return n;
    };
    while (d.next()) {
      let args = d.remainingArgs();
      if (args.length > 0) {
        const ttl = int(args[0]!);
        if (ttl !== null) {
          if (ttl <= 0) throw d.plain(`cache TTL can not be zero or negative: ${ttl}`);
          cfg.pttl = ttl;
          cfg.nttl = ttl;
          args = args.slice(1);
        }
        if (args.length > 0) cfg.zones = normalizeZones(args);
      }
      while (d.nextBlock()) {
        const v = d.val();
        switch (v) {
          case 'success':
          case 'denial': {
            const a = d.remainingArgs();
            if (a.length === 0) throw d.argErr();
            const cap = atoi(a[0]!);
            if (v === 'success') cfg.pcap = cap;
            else cfg.ncap = cap;
            if (a.length > 1) {
              const t = atoi(a[1]!);
              if (t <= 0) throw d.plain(`cache TTL can not be zero or negative: ${t}`);
              if (v === 'success') cfg.pttl = t;
              else cfg.nttl = t;
              if (a.length > 2) {
                const mt = atoi(a[2]!);
                if (mt < 0) throw d.plain(`cache min TTL can not be negative: ${mt}`);
                if (v === 'success') cfg.minpttl = mt;
                else cfg.minnttl = mt;
              }
            }
            if (a.length > 3) throw d.argErr();
            break;
          }
          case 'prefetch': {
            const a = d.remainingArgs();
            if (a.length === 0 || a.length > 3) throw d.argErr();
            const n = atoi(a[0]!);
            if (n < 0) throw d.plain(`prefetch amount should be positive: ${n}`);
            cfg.prefetch = n;
            if (a.length > 1) {
              const dur = parseGoDuration(a[1]!);
              if (dur === null) throw d.plain(`time: invalid duration "${a[1]}"`);
              cfg.prefetchWindow = dur;
            }
            if (a.length > 2) {
              const pct = a[2]!;
              if (!pct.endsWith('%')) throw d.plain(`last character of percentage should be \`%\`, but is: '${pct.slice(-1)}'`);
              const num = atoi(pct.slice(0, -1));
              if (num < 10 || num > 90) throw d.plain(`percentage should fall in range [10, 90]: ${num}`);
              cfg.prefetchPercent = num;
            }
            break;
          }
          case 'serve_stale': {
            const a = d.remainingArgs();
            if (a.length > 5) throw d.argErr(); // 1.14 adds a verify timeout, stale TTL and recheck
            cfg.staleUpTo = 3600;
            if (a.length > 0) {
              const s = parseGoDuration(a[0]!);
              if (s === null) throw d.plain(`time: invalid duration "${a[0]}"`);
              if (s < 0) throw d.plain('invalid negative duration for serve_stale');
              cfg.staleUpTo = s;
            }
            if (a.length > 1) {
              if (a[1] !== 'immediate' && a[1] !== 'verify') throw d.plain(`invalid value for serve_stale refresh mode: ${a[1]}`);
              cfg.verifyStale = a[1] === 'verify';
            }
            break;
          }
          case 'servfail': {
            const a = d.remainingArgs();
            if (a.length !== 1) throw d.argErr();
            const s = parseGoDuration(a[0]!);
            if (s === null) throw d.plain(`time: invalid duration "${a[0]}"`);
            if (s < 0) throw d.plain('invalid negative ttl for servfail');
            if (s > 300) throw d.plain('caching SERVFAIL responses over 5 minutes is not permitted');
            cfg.failttl = s;
            break;
          }
          case 'disable': {
            const a = d.remainingArgs();
            if (a.length === 0) throw d.argErr();
            const zones = a.length > 1 ? normalizeZones(a.slice(1)) : ['.'];
            if (a[0] === 'success') cfg.pexcept = zones;
            else if (a[0] === 'denial') cfg.nexcept = zones;
            else throw d.plain(`cache type for disable must be "success" or "denial"`);
            break;
          }
          case 'keepttl':
            if (d.remainingArgs().length) throw d.argErr();
            cfg.keepttl = true;
            break;
          default:
            throw d.argErr();
        }
      }
    }
    return new CacheHandler(cfg, c.env.eq, c.env.rng.fork('coredns/cache'), c.env.metrics);
  },
};
