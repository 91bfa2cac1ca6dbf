import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import type { MatchModule } from '../module.js';
import { CommitError } from '../errors.js';

/** What the reverse lookup needs of a namespace's FIB (fib_lookup's answer: type and device). */
interface ReverseFib {
  fibLookup(dst: Ipv4Addr): { readonly type: string; readonly dev: { readonly name: string } | null } | undefined;
}

interface RpfilterSpec {
  loose: boolean;
  validmark: boolean;
  acceptLocal: boolean;
  invert: boolean;
}

const isZeronet = (a: number): boolean => a >>> 24 === 0;
const isLbcast = (a: number): boolean => a >>> 0 === 0xffffffff;
const isLocalMulticast = (a: number): boolean => (a >>> 8) === 0xe00000;

/**
 * libxt_rpfilter / ipt_rpfilter: --loose, --validmark, --accept-local, --invert. Matches when a
 * route back to the source leaves through the interface the packet came in on
 * (rpfilter_lookup_reverse: a unicast route, or local with --accept-local; --loose takes any
 * device). The mark only steers policy routing, which the model has none of. Only the raw and
 * mangle tables take it (rpfilter_check), as the kernel refuses it elsewhere. The lookup uses the namespace's fibLookup when it
 * has one (the Linux model's Netns); without one every source passes.
 */
export const rpfilterMatch: MatchModule<RpfilterSpec> = {
  name: 'rpfilter',
  options: { loose: false, validmark: false, 'accept-local': false, invert: false },
  create: () => ({ loose: false, validmark: false, acceptLocal: false, invert: false }),
  parse(s, opt) {
    if (opt === 'loose') s.loose = true;
    else if (opt === 'validmark') s.validmark = true;
    else if (opt === 'accept-local') s.acceptLocal = true;
    else s.invert = true;
  },
  final(_s, pc) {
    // The kernel's rpfilter_check refuses it (EINVAL); iptables-nft reports the failed append.
    if (pc.table !== 'raw' && pc.table !== 'mangle') throw new CommitError('Invalid argument', `RULE_APPEND failed (Invalid argument): rule in chain ${pc.chain}`);
  },
  // rpfilter_print / rpfilter_save: loose, validmark, accept-local, invert, in that order.
  save: (s) => `${s.loose ? ' --loose' : ''}${s.validmark ? ' --validmark' : ''}${s.acceptLocal ? ' --accept-local' : ''}${s.invert ? ' --invert' : ''}`,
  print: (s) => ` rpfilter${s.loose ? ' loose' : ''}${s.validmark ? ' validmark' : ''}${s.acceptLocal ? ' accept-local' : ''}${s.invert ? ' invert' : ''}`,
  compile(s) {
    const { loose, acceptLocal, invert } = s;
    return (c) => {
      const inDev = c.state.inDev;
      // rpfilter_is_loopback: packets looped back locally always pass.
      if (inDev === 'lo') return !invert;
      const src = c.ip.src;
      if (isZeronet(src) && (isLbcast(c.ip.dst) || isLocalMulticast(c.ip.dst))) return !invert;
      const fib = c.state.netns as unknown as Partial<ReverseFib>;
      if (typeof fib.fibLookup !== 'function') return !invert;
      const r = fib.fibLookup(src);
      let ok = false;
      if (r && (r.type === 'unicast' || (r.type === 'local' && acceptLocal))) ok = loose || r.dev?.name === inDev;
      return ok !== invert;
    };
  },
};
