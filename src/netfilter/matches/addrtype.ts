import type { MatchModule } from '../module.js';
import { param } from '../module.js';

/** libxt_addrtype rev 1 / xt_addrtype: --src-type, --dst-type, --limit-iface-in/out. */
const TYPES = ['UNSPEC', 'UNICAST', 'LOCAL', 'BROADCAST', 'ANYCAST', 'MULTICAST', 'BLACKHOLE', 'UNREACHABLE', 'PROHIBIT', 'THROW', 'NAT', 'XRESOLVE'] as const;

interface AddrtypeSpec {
  src: number;
  dst: number;
  srcInv: boolean;
  dstInv: boolean;
  limitIn: boolean;
  limitOut: boolean;
}

function parseTypes(arg: string): number {
  let v = 0;
  for (const w of arg.split(',')) {
    const i = TYPES.indexOf(w as (typeof TYPES)[number]);
    if (i < 0) param(`addrtype: invalid address type "${w}"`);
    v |= 1 << i;
  }
  return v;
}

function saveTypes(v: number): string {
  return TYPES.filter((_, i) => v & (1 << i)).join(',');
}

export const addrtypeMatch: MatchModule<AddrtypeSpec> = {
  name: 'addrtype',
  options: { 'src-type': true, 'dst-type': true, 'limit-iface-in': false, 'limit-iface-out': false },
  create: () => ({ src: 0, dst: 0, srcInv: false, dstInv: false, limitIn: false, limitOut: false }),
  parse(s, opt, arg, inv) {
    if (opt === 'src-type') {
      s.src = parseTypes(arg);
      s.srcInv = inv;
    } else if (opt === 'dst-type') {
      s.dst = parseTypes(arg);
      s.dstInv = inv;
    } else if (opt === 'limit-iface-in') s.limitIn = true;
    else s.limitOut = true;
  },
  final(s, pc) {
    if (s.src === 0 && s.dst === 0) param('addrtype: you must specify --src-type or --dst-type');
    if (s.limitIn && s.limitOut) param('addrtype: you can\'t specify both --limit-iface-in and --limit-iface-out');
    if (s.limitIn && (pc.chain === 'OUTPUT' || pc.chain === 'POSTROUTING')) param('addrtype: --limit-iface-in is not allowed in the OUTPUT or POSTROUTING chain');
  },
  save(s) {
    let t = '';
    if (s.src) t += `${s.srcInv ? ' !' : ''} --src-type ${saveTypes(s.src)}`;
    if (s.dst) t += `${s.dstInv ? ' !' : ''} --dst-type ${saveTypes(s.dst)}`;
    if (s.limitIn) t += ' --limit-iface-in';
    if (s.limitOut) t += ' --limit-iface-out';
    return t;
  },
  print(s) {
    let t = ' ADDRTYPE match';
    if (s.src) t += ` src-type ${s.srcInv ? '!' : ''}${saveTypes(s.src)}`;
    if (s.dst) t += ` dst-type ${s.dstInv ? '!' : ''}${saveTypes(s.dst)}`;
    if (s.limitIn) t += ' limit-in';
    if (s.limitOut) t += ' limit-out';
    return t;
  },
  compile(s) {
    const { src, dst, srcInv, dstInv } = s;
    // inet_addr_type answers one type per address; --limit-iface-* narrows the lookup to the
    // device's table, which in the model is the same answer (no VRFs).
    const typeBit = (t: string): number => 1 << TYPES.indexOf(t as (typeof TYPES)[number]);
    return (c) => {
      const ns = c.state.netns;
      if (src && ((typeBit(ns.addressType(c.ip.src)) & src) !== 0) === srcInv) return false;
      if (dst && ((typeBit(ns.addressType(c.ip.dst)) & dst) !== 0) === dstInv) return false;
      return true;
    };
  },
};
