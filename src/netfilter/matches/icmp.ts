import type { MatchModule } from '../module.js';
import { param } from '../module.js';
import { IPPROTO_ICMP } from '../packet.js';

/** libxt_icmp / xt_icmp (ip_tables.c icmp_match): --icmp-type type[/code] or a name. */
interface IcmpSpec {
  type: number;
  codeMin: number;
  codeMax: number;
  invert: boolean;
}

/** The names libxt_icmp knows, as [name, type, codeMin, codeMax]. */
const ICMP_NAMES: readonly [string, number, number, number][] = [
  ['any', 0xff, 0, 0xff],
  ['echo-reply', 0, 0, 0xff],
  ['destination-unreachable', 3, 0, 0xff],
  ['network-unreachable', 3, 0, 0],
  ['host-unreachable', 3, 1, 1],
  ['protocol-unreachable', 3, 2, 2],
  ['port-unreachable', 3, 3, 3],
  ['fragmentation-needed', 3, 4, 4],
  ['source-route-failed', 3, 5, 5],
  ['network-unknown', 3, 6, 6],
  ['host-unknown', 3, 7, 7],
  ['network-prohibited', 3, 9, 9],
  ['host-prohibited', 3, 10, 10],
  ['TOS-network-unreachable', 3, 11, 11],
  ['TOS-host-unreachable', 3, 12, 12],
  ['communication-prohibited', 3, 13, 13],
  ['host-precedence-violation', 3, 14, 14],
  ['precedence-cutoff', 3, 15, 15],
  ['source-quench', 4, 0, 0xff],
  ['redirect', 5, 0, 0xff],
  ['network-redirect', 5, 0, 0],
  ['host-redirect', 5, 1, 1],
  ['TOS-network-redirect', 5, 2, 2],
  ['TOS-host-redirect', 5, 3, 3],
  ['echo-request', 8, 0, 0xff],
  ['router-advertisement', 9, 0, 0xff],
  ['router-solicitation', 10, 0, 0xff],
  ['time-exceeded', 11, 0, 0xff],
  ['ttl-zero-during-transit', 11, 0, 0],
  ['ttl-zero-during-reassembly', 11, 1, 1],
  ['parameter-problem', 12, 0, 0xff],
  ['ip-header-bad', 12, 0, 0],
  ['required-option-missing', 12, 1, 1],
  ['timestamp-request', 13, 0, 0xff],
  ['timestamp-reply', 14, 0, 0xff],
  ['address-mask-request', 17, 0, 0xff],
  ['address-mask-reply', 18, 0, 0xff],
];

export const icmpMatch: MatchModule<IcmpSpec> = {
  name: 'icmp',
  options: { 'icmp-type': true },
  create: () => ({ type: 0xff, codeMin: 0, codeMax: 0xff, invert: false }),
  parse(s, _opt, arg, inv) {
    s.invert = inv;
    const named = ICMP_NAMES.find(([n]) => n === arg);
    if (named) {
      [, s.type, s.codeMin, s.codeMax] = named;
      return;
    }
    const m = /^([0-9]+)(?:\/([0-9]+))?$/.exec(arg);
    if (!m || Number(m[1]) > 255 || (m[2] !== undefined && Number(m[2]) > 255)) param(`Invalid ICMP type \`${arg}'\n`);
    s.type = Number(m[1]);
    if (m[2] !== undefined) s.codeMin = s.codeMax = Number(m[2]);
  },
  final() {},
  save(s) {
    const inv = s.invert ? ' !' : '';
    if (s.type === 0xff) return `${inv} --icmp-type any`;
    if (s.codeMin === 0 && s.codeMax === 0xff) return `${inv} --icmp-type ${s.type}`;
    if (s.codeMin === s.codeMax) return `${inv} --icmp-type ${s.type}/${s.codeMin}`;
    return `${inv} --icmp-type ${s.type}/${s.codeMin}-${s.codeMax}`;
  },
  print(s) {
    let t = ` icmp${s.invert ? ' !' : ''}type ${s.type}`;
    if (s.codeMin === s.codeMax) t += ` code ${s.codeMin}`;
    else if (s.codeMin !== 0 || s.codeMax !== 0xff) t += ` codes ${s.codeMin}-${s.codeMax}`;
    return t;
  },
  compile(s) {
    const { type, codeMin, codeMax, invert } = s;
    return (c) => {
      if (c.ip.proto !== IPPROTO_ICMP || c.ip.fragOffset !== 0 || c.icmpType < 0) return false;
      const m = type === 0xff || (c.icmpType === type && c.icmpCode >= codeMin && c.icmpCode <= codeMax);
      return m !== invert;
    };
  },
};
