import type { TargetModule } from '../module.js';
import { param, parseUint, hex, XT_CONTINUE } from '../module.js';

/** libxt_MARK rev 2 / xt_mark: skb->mark = (mark & ~mask) ^ value; every form saves as --set-xmark. */
interface MarkSpec {
  value: number;
  mask: number;
  set: boolean;
}

function num(arg: string, opt: string): number {
  const v = parseUint(arg, 0xffffffff);
  if (v === undefined) param(`MARK: bad value for option "--${opt}", or out of range (0-4294967295).`);
  return v;
}

export const markTarget: TargetModule<MarkSpec> = {
  name: 'MARK',
  options: { 'set-xmark': true, 'set-mark': true, 'and-mark': true, 'or-mark': true, 'xor-mark': true },
  create: () => ({ value: 0, mask: 0, set: false }),
  parse(s, opt, arg) {
    if (s.set) param('MARK target: Can specify only one action');
    s.set = true;
    if (opt === 'set-xmark' || opt === 'set-mark') {
      const slash = arg.indexOf('/');
      const v = num(slash < 0 ? arg : arg.slice(0, slash), opt);
      const m = slash < 0 ? 0xffffffff : num(arg.slice(slash + 1), opt);
      s.value = v;
      // --set-mark v/m: clear the mask bits then OR (xmark value v, mask m); same bytes.
      s.mask = m;
    } else if (opt === 'and-mark') {
      s.value = 0;
      s.mask = ~num(arg, opt) >>> 0;
    } else if (opt === 'or-mark') {
      s.value = s.mask = num(arg, opt);
    } else {
      s.value = num(arg, opt);
      s.mask = 0;
    }
  },
  final(s) {
    if (!s.set) param('MARK target: Parameter --set/and/or/xor-mark is required');
  },
  save: (s) => ` --set-xmark ${hex(s.value)}/${hex(s.mask)}`,
  print(s) {
    // mark_tg_print: the shortest description of (mark & ~mask) ^ value.
    if (s.value === 0) return ` MARK and ${hex(~s.mask >>> 0)}`;
    if (s.value === s.mask) return ` MARK or ${hex(s.value)}`;
    if (s.mask === 0) return ` MARK xor ${hex(s.value)}`;
    if (s.mask === 0xffffffff) return ` MARK set ${hex(s.value)}`;
    return ` MARK xset ${hex(s.value)}/${hex(s.mask)}`;
  },
  compile(s) {
    const notMask = ~s.mask >>> 0;
    const value = s.value;
    return (c) => {
      c.packet.mark = ((c.packet.mark & notMask) ^ value) >>> 0;
      return XT_CONTINUE;
    };
  },
};
