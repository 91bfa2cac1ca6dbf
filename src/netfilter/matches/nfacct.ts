import type { MatchModule } from '../module.js';
import { param } from '../module.js';

/** libxt_nfacct / xt_nfacct: counts the packet in the named accounting object, always matches. */
export const nfacctMatch: MatchModule<{ name: string }> = {
  name: 'nfacct',
  options: { 'nfacct-name': true },
  create: () => ({ name: '' }),
  parse(s, _o, arg) {
    if (arg.length > 31) param('nfacct: option "--nfacct-name" must be no longer than 32 characters');
    s.name = arg;
  },
  final(s) {
    if (s.name === '') param('nfacct: option "--nfacct-name" must be specified');
  },
  // libxt_nfacct prints "nfacct-name " and then xtables_save_string adds its own space.
  save: (s) => ` --nfacct-name  ${s.name}`,
  print: (s) => ` nfacct-name  ${s.name}`,
  compile(s, env) {
    const name = s.name;
    return (c) => {
      let a = env.nfacct.get(name);
      if (!a) {
        a = { pkts: 0, bytes: 0 };
        env.nfacct.set(name, a);
      }
      a.pkts++;
      a.bytes += c.ip.totalLength;
      return true;
    };
  },
};
