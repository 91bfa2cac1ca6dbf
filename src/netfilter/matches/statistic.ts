import type { MatchModule } from '../module.js';
import { param, parseUint } from '../module.js';

/**
 * libxt_statistic / xt_statistic. random: the tool stores lround(p * 2^31) as u32 and the
 * kernel matches when (get_random_u32() & 0x7FFFFFFF) < that; iptables-save prints
 * `%.11f` of stored / 2^31. nth: the counter starts at every-1-packet and matches each time
 * it wraps from every-1 to 0.
 */
interface StatSpec {
  mode: 'random' | 'nth' | '';
  prob: number;
  every: number;
  packet: number;
  invert: boolean;
  seen: Set<string>;
}

export function probabilityToU32(p: number): number {
  // C lround: halves away from zero.
  return Math.floor(p * 0x80000000 + 0.5) >>> 0;
}

export function formatProbability(stored: number): string {
  return (stored / 0x80000000).toFixed(11);
}

export const statisticMatch: MatchModule<StatSpec> = {
  name: 'statistic',
  options: { mode: true, probability: true, every: true, packet: true },
  create: () => ({ mode: '', prob: 0, every: 0, packet: 0, invert: false, seen: new Set() }),
  parse(s, opt, arg, inv) {
    s.seen.add(opt);
    if (inv) s.invert = true;
    switch (opt) {
      case 'mode':
        if (arg !== 'random' && arg !== 'nth') param(`statistic: Bad mode "${arg}"`);
        s.mode = arg;
        return;
      case 'probability': {
        const v = /^[0-9]*\.?[0-9]+(e-?[0-9]+)?$|^[0-9]+\.$/.test(arg) ? Number(arg) : NaN;
        if (!(v >= 0 && v <= 1)) param('statistic: bad value for option "--probability", or out of range (0-1).\n');
        s.prob = probabilityToU32(v);
        return;
      }
      case 'every': {
        const v = parseUint(arg, 0xffffffff);
        if (v === undefined || v === 0) param('statistic: bad value for option "--every", or out of range (1-4294967295).\n');
        s.every = v - 1;
        return;
      }
      case 'packet': {
        const v = parseUint(arg, 0xffffffff);
        if (v === undefined) param('statistic: bad value for option "--packet", or out of range (0-4294967295).\n');
        s.packet = v;
        return;
      }
    }
  },
  final(s) {
    if (s.mode === '') param('statistic: option "--mode" must be specified\n');
    if (s.mode === 'random' && !s.seen.has('probability')) param('--probability must be specified when using random mode');
    if (s.seen.has('probability') && s.mode !== 'random') param('statistic: option "--probability" can only be used in random mode');
    if (s.mode === 'nth') {
      if (s.seen.has('every') && !s.seen.has('packet')) param('statistic: option "--every" also requires "--packet".\n');
      if (s.seen.has('packet') && !s.seen.has('every')) param('statistic: option "--packet" also requires "--every".');
      if (s.packet > s.every) param('the --packet p must be 0 <= p <= n-1');
    }
  },
  save(s) {
    if (s.mode === 'random') return ` --mode random${s.invert ? ' !' : ''} --probability ${formatProbability(s.prob)}`;
    return ` --mode nth${s.invert ? ' !' : ''} --every ${s.every + 1} --packet ${s.packet}`;
  },
  print(s) {
    if (s.mode === 'random') return ` statistic mode random${s.invert ? ' !' : ''} probability ${formatProbability(s.prob)}`;
    return ` statistic mode nth${s.invert ? ' !' : ''} every ${s.every + 1}${s.packet ? ` packet ${s.packet}` : ''}`;
  },
  compile(s) {
    const invert = s.invert;
    if (s.mode === 'random') {
      const threshold = s.prob;
      return (c) => ((c.state.netns.randomU32() & 0x7fffffff) >>> 0 < threshold) !== invert;
    }
    const every = s.every;
    // libxt_statistic's check sets u.nth.count = every - packet (every already less one), so
    // --packet 0 matches the first packet of each group (checked: ping seq 1, 4, 7 dropped).
    let count = s.every - s.packet;
    return () => {
      count = count === every ? 0 : count + 1;
      return (count === 0) !== invert;
    };
  },
};
