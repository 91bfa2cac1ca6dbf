import type { MatchModule } from '../module.js';
import { param } from '../module.js';

/** libxt_set rev 4 / xt_set: --match-set NAME src|dst[,src|dst...]. */
interface SetSpec {
  name: string;
  dirs: boolean[];
  invert: boolean;
  returnNomatch: boolean;
}

export const setMatch: MatchModule<SetSpec> = {
  name: 'set',
  options: { 'match-set': true, set: true, 'return-nomatch': false },
  create: () => ({ name: '', dirs: [], invert: false, returnNomatch: false }),
  parse(s, opt, arg, inv) {
    if (opt === 'return-nomatch') {
      s.returnNomatch = true;
      return;
    }
    const parts = arg.split(' ');
    if (parts.length !== 2) param('--match-set requires two args.');
    s.name = parts[0]!;
    s.invert = inv;
    for (const d of parts[1]!.split(',')) {
      if (d !== 'src' && d !== 'dst') param('You must specify (the comma separated list of) \'src\' or \'dst\'.');
      s.dirs.push(d === 'src');
    }
    if (s.dirs.length > 6) param('Can\'t be more src/dst options than 6.');
  },
  final(s) {
    if (s.name === '') param('You must specify `--match-set\' with proper arguments');
  },
  save: (s) => `${s.invert ? ' !' : ''} --match-set ${s.name} ${s.dirs.map((d) => (d ? 'src' : 'dst')).join(',')}${s.returnNomatch ? ' --return-nomatch' : ''}`,
  print: (s) => `${s.invert ? ' !' : ''} match-set ${s.name} ${s.dirs.map((d) => (d ? 'src' : 'dst')).join(',')}${s.returnNomatch ? ' return-nomatch' : ''}`,
  compile(s, env) {
    const ref = env.sets.ref(s.name);
    if (!ref) param(`Set ${s.name} doesn't exist.\n`);
    const { dirs, invert } = s;
    return (c) => ref.test(c, dirs) !== invert;
  },
};
