import type { MatchModule } from '../module.js';
import { param } from '../module.js';
import { saveString } from '../argv.js';

/** libxt_comment: always matches; the text is printed as xtables_save_string. */
export const commentMatch: MatchModule<{ comment: string | undefined }> = {
  name: 'comment',
  options: { comment: true },
  create: () => ({ comment: undefined }),
  parse(s, _o, arg, inv) {
    if (inv) param('comment: unexpected `!\'');
    if (arg.length > 255) param(`comment: option "--comment" must be no longer than 256 characters`);
    s.comment = arg;
  },
  final(s) {
    if (s.comment === undefined) param('comment: option "--comment" must be specified');
  },
  save: (s) => ` --comment${saveString(s.comment ?? '')}`,
  print: (s) => ` /* ${s.comment ?? ''} */`,
  compile: () => () => true,
};
