import type { MatchModule } from '../module.js';
import { param } from '../module.js';
import { ifaceMatcher } from '../iface.js';

/** libxt_physdev / xt_physdev: the bridge ports of a br_netfilter packet. */
const OP_IN = 1;
const OP_OUT = 2;
const OP_BRIDGED = 4;
const OP_ISIN = 8;
const OP_ISOUT = 16;

interface PhysdevSpec {
  inName: string;
  outName: string;
  bitmask: number;
  invert: number;
}

export const physdevMatch: MatchModule<PhysdevSpec> = {
  name: 'physdev',
  options: { 'physdev-in': true, 'physdev-out': true, 'physdev-is-in': false, 'physdev-is-out': false, 'physdev-is-bridged': false },
  create: () => ({ inName: '', outName: '', bitmask: 0, invert: 0 }),
  parse(s, opt, arg, inv) {
    const bit = { 'physdev-in': OP_IN, 'physdev-out': OP_OUT, 'physdev-is-in': OP_ISIN, 'physdev-is-out': OP_ISOUT, 'physdev-is-bridged': OP_BRIDGED }[opt] ?? 0;
    if (opt === 'physdev-in' || opt === 'physdev-out') {
      if (arg.length > 15) param(`interface name \`${arg}' must be shorter than IFNAMSIZ (15)`);
      if (opt === 'physdev-in') s.inName = arg;
      else s.outName = arg;
    }
    s.bitmask |= bit;
    if (inv) s.invert |= bit;
  },
  final(s) {
    if (s.bitmask === 0) param('PHYSDEV: no physdev option specified');
  },
  save(s) {
    const inv = (b: number): string => (s.invert & b ? ' !' : '');
    let t = '';
    if (s.bitmask & OP_ISIN) t += `${inv(OP_ISIN)} --physdev-is-in`;
    if (s.bitmask & OP_IN) t += `${inv(OP_IN)} --physdev-in ${s.inName}`;
    if (s.bitmask & OP_ISOUT) t += `${inv(OP_ISOUT)} --physdev-is-out`;
    if (s.bitmask & OP_OUT) t += `${inv(OP_OUT)} --physdev-out ${s.outName}`;
    if (s.bitmask & OP_BRIDGED) t += `${inv(OP_BRIDGED)} --physdev-is-bridged`;
    return t;
  },
  print(s) {
    return ` PHYSDEV match${this.save(s)}`;
  },
  compile(s) {
    const { bitmask, invert } = s;
    const inM = ifaceMatcher(s.inName);
    const outM = ifaceMatcher(s.outName);
    const has = (b: number): boolean => (bitmask & b) !== 0;
    const inv = (b: number): boolean => (invert & b) !== 0;
    return (c) => {
      const st = c.state;
      const physIn = st.physInDev ?? null;
      const physOut = st.physOutDev ?? null;
      if (physIn === null && physOut === null && !st.bridged) {
        // Not a bridged packet: match only when every used option is inverted.
        for (const b of [OP_BRIDGED, OP_ISIN, OP_ISOUT, OP_IN, OP_OUT]) if (has(b) && !inv(b)) return false;
        return true;
      }
      if (has(OP_BRIDGED) && (physOut !== null) === inv(OP_BRIDGED)) return false;
      if (has(OP_ISIN) && (physIn !== null) === inv(OP_ISIN)) return false;
      if (has(OP_ISOUT) && (physOut !== null) === inv(OP_ISOUT)) return false;
      if (has(OP_IN) && physIn !== null && inM(physIn) === inv(OP_IN)) return false;
      if (!has(OP_OUT)) return true;
      return outM(physOut ?? '') !== inv(OP_OUT);
    };
  },
};
