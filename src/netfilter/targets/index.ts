import type { TargetModule } from '../module.js';
import { dnatTarget, snatTarget, masqueradeTarget, redirectTarget } from './nat.js';
import { markTarget } from './mark.js';
import { logTarget, traceTarget } from './log.js';
import { ctTarget, notrackTarget } from './ct.js';
import { rejectTarget } from './reject.js';

/** Extension targets the model knows, by `-j` name (ACCEPT/DROP/RETURN are standard verdicts). */
export const TARGETS: ReadonlyMap<string, TargetModule> = new Map<string, TargetModule>(
  [dnatTarget, snatTarget, masqueradeTarget, redirectTarget, markTarget, logTarget, traceTarget, ctTarget, notrackTarget, rejectTarget].map((t) => [t.name, t as TargetModule]),
);
