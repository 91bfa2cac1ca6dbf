import type { TargetModule } from '../module.js';
import { param } from '../module.js';
import { CommitError } from '../errors.js';
import { NF_DROP } from '../hooks.js';
import { IPPROTO_TCP } from '../packet.js';

/** libxt_REJECT / ipt_REJECT: the reply kinds, as [save name, alias, ICMP code or -1 for RST]. */
export const REJECT_TYPES: readonly [string, string, number][] = [
  ['icmp-net-unreachable', 'net-unreach', 0],
  ['icmp-host-unreachable', 'host-unreach', 1],
  ['icmp-proto-unreachable', 'proto-unreach', 2],
  ['icmp-port-unreachable', 'port-unreach', 3],
  ['icmp-net-prohibited', 'net-prohib', 9],
  ['icmp-host-prohibited', 'host-prohib', 10],
  ['tcp-reset', 'tcp-rst', -1],
  ['icmp-admin-prohibited', 'admin-prohib', 13],
];

export const rejectTarget: TargetModule<{ with: string }> = {
  name: 'REJECT',
  options: { 'reject-with': true },
  create: () => ({ with: 'icmp-port-unreachable' }),
  parse(s, _o, arg) {
    const t = REJECT_TYPES.find(([n, a]) => n === arg || a === arg);
    if (!t) param(`unknown reject type "${arg}"`);
    s.with = t[0];
  },
  final(s, pc) {
    const bad = (): never => {
      throw new CommitError('', `RULE_APPEND failed (Invalid argument): rule in chain ${pc.chain}`);
    };
    if (!['filter', 'mangle', 'raw', 'security'].includes(pc.table)) bad();
    if (['PREROUTING', 'POSTROUTING'].includes(pc.chain)) bad();
    if (s.with === 'tcp-reset' && (pc.proto !== IPPROTO_TCP || pc.protoInvert)) bad();
  },
  save: (s) => ` --reject-with ${s.with}`,
  print: (s) => ` reject-with ${s.with}`,
  compile(s, env) {
    const how = s.with;
    return (c) => {
      env.reject(c, how);
      return NF_DROP;
    };
  },
};
