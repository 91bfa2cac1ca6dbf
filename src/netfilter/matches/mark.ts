import type { MatchModule } from '../module.js';
import { param, parseUint, hex } from '../module.js';

/** libxt_mark / xt_mark: --mark value[/mask]; matches (skb->mark & mask) == value. */
export function parseMarkMask(arg: string, what: string): [number, number | undefined] {
  const slash = arg.indexOf('/');
  const v = parseUint(slash < 0 ? arg : arg.slice(0, slash), 0xffffffff);
  const m = slash < 0 ? undefined : parseUint(arg.slice(slash + 1), 0xffffffff);
  if (v === undefined || (slash >= 0 && m === undefined)) param(`${what}: bad value for option "--mark", or out of range (0-4294967295).`);
  return [v, m];
}

export const markMatch: MatchModule<{ mark: number; mask: number; invert: boolean; set: boolean }> = {
  name: 'mark',
  options: { mark: true },
  create: () => ({ mark: 0, mask: 0xffffffff, invert: false, set: false }),
  parse(s, _o, arg, inv) {
    const [v, m] = parseMarkMask(arg, 'mark');
    s.mark = v;
    s.mask = m ?? 0xffffffff;
    s.invert = inv;
    s.set = true;
  },
  final(s) {
    if (!s.set) param('mark: option "--mark" must be specified');
  },
  save: (s) => `${s.invert ? ' !' : ''} --mark ${hex(s.mark)}${s.mask !== 0xffffffff ? `/${hex(s.mask)}` : ''}`,
  print: (s) => ` mark match${s.invert ? ' !' : ''} ${hex(s.mark)}${s.mask !== 0xffffffff ? `/${hex(s.mask)}` : ''}`,
  compile(s) {
    const { mark, mask, invert } = s;
    return (c) => (((c.packet.mark & mask) >>> 0) === mark) !== invert;
  },
};
