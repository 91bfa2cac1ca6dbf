import type { MatchModule, PacketCtx } from '../module.js';
import { param, parseUint } from '../module.js';
import { formatIpv4, parseIpv4, prefixMask } from '../../wire/ipv4-address.js';
import type { CtEntry } from '../conntrack/entry.js';
import { ctOf, IPS } from '../conntrack/entry.js';
import { parsePortRange, savePortRange, type PortRange } from './ports.js';

/**
 * xt_conntrack (rev 3) and xt_state. State bits as XT_CONNTRACK_STATE_*: the packet's
 * ctinfo class, INVALID (no entry), UNTRACKED, and SNAT/DNAT from the entry's status.
 */
export const ST_INVALID = 1 << 0;
export const ST_ESTABLISHED = 1 << 1;
export const ST_RELATED = 1 << 2;
export const ST_NEW = 1 << 3;
export const ST_UNTRACKED = 1 << 6;
export const ST_SNAT = 1 << 7;
export const ST_DNAT = 1 << 8;

/** Print order of libxt_conntrack's state list. */
const STATE_NAMES: readonly [string, number][] = [
  ['INVALID', ST_INVALID],
  ['NEW', ST_NEW],
  ['RELATED', ST_RELATED],
  ['ESTABLISHED', ST_ESTABLISHED],
  ['UNTRACKED', ST_UNTRACKED],
  ['SNAT', ST_SNAT],
  ['DNAT', ST_DNAT],
];

const STATUS_NAMES: readonly [string, number][] = [
  ['EXPECTED', IPS.EXPECTED],
  ['SEEN_REPLY', IPS.SEEN_REPLY],
  ['ASSURED', IPS.ASSURED],
  ['CONFIRMED', IPS.CONFIRMED],
];

function parseList(arg: string, names: readonly [string, number][], what: string, allowNone: boolean): number {
  let v = 0;
  for (const w of arg.split(',')) {
    if (allowNone && w === 'NONE') continue;
    const e = names.find(([n]) => n === w);
    if (!e) param(`Bad ${what} "${w}"`);
    v |= e[1];
  }
  return v;
}

function saveList(v: number, names: readonly [string, number][]): string {
  if (v === 0) return 'NONE';
  return names
    .filter(([, b]) => (v & b) !== 0)
    .map(([n]) => n)
    .join(',');
}

/** The packet's state bits, as conntrack_mt computes statebit. */
export function packetStateBits(c: PacketCtx): number {
  const p = c.packet;
  const ct = ctOf(p);
  if (ct === null) return ST_INVALID;
  if (ct === 'untracked') return ST_UNTRACKED;
  let bits = 1 << ((p.ctinfo % 3) + 1);
  if (ct.status & IPS.SRC_NAT) bits |= ST_SNAT;
  if (ct.status & IPS.DST_NAT) bits |= ST_DNAT;
  return bits;
}

interface AddrCheck {
  addr: number;
  mask: number;
  invert: boolean;
}
interface PortCheck {
  range: PortRange;
  invert: boolean;
}
interface CtSpec {
  state?: { bits: number; invert: boolean };
  proto?: { num: number; invert: boolean };
  origsrc?: AddrCheck;
  origdst?: AddrCheck;
  replsrc?: AddrCheck;
  repldst?: AddrCheck;
  origsrcport?: PortCheck;
  origdstport?: PortCheck;
  replsrcport?: PortCheck;
  repldstport?: PortCheck;
  status?: { bits: number; invert: boolean };
  dir?: 'ORIGINAL' | 'REPLY';
  dirInvert?: boolean;
}

function parseAddr(arg: string, invert: boolean): AddrCheck {
  const slash = arg.indexOf('/');
  let addr: number;
  let len = 32;
  try {
    addr = parseIpv4(slash < 0 ? arg : arg.slice(0, slash));
  } catch {
    param(`host/network \`${arg}' not found`);
  }
  if (slash >= 0) {
    const l = parseUint(arg.slice(slash + 1), 32);
    if (l === undefined) param(`invalid mask \`${arg.slice(slash + 1)}' specified`);
    len = l;
  }
  const mask = prefixMask(len);
  return { addr: (addr & mask) >>> 0, mask, invert };
}

function saveAddr(a: AddrCheck): string {
  let len = 0;
  for (let m = a.mask; m & 0x80000000; m = (m << 1) >>> 0) len++;
  return len === 32 ? formatIpv4(a.addr) : `${formatIpv4(a.addr)}/${len}`;
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

export const conntrackMatch: MatchModule<CtSpec> = {
  name: 'conntrack',
  options: {
    ctstate: true,
    ctproto: true,
    ctorigsrc: true,
    ctorigdst: true,
    ctreplsrc: true,
    ctrepldst: true,
    ctorigsrcport: true,
    ctorigdstport: true,
    ctreplsrcport: true,
    ctrepldstport: true,
    ctstatus: true,
    ctdir: true,
  },
  create: () => ({}),
  parse(s, opt, arg, inv) {
    switch (opt) {
      case 'ctstate':
        s.state = { bits: parseList(arg, STATE_NAMES, 'ctstate', false), invert: inv };
        return;
      case 'ctstatus':
        s.status = { bits: parseList(arg, STATUS_NAMES, 'ctstatus', true), invert: inv };
        return;
      case 'ctproto': {
        const n = { tcp: 6, udp: 17, icmp: 1, sctp: 132 }[arg] ?? parseUint(arg, 255);
        if (n === undefined) param(`unknown protocol "${arg}" specified`);
        s.proto = { num: n, invert: inv };
        return;
      }
      case 'ctorigsrc':
      case 'ctorigdst':
      case 'ctreplsrc':
      case 'ctrepldst':
        s[opt.slice(2) as 'origsrc'] = parseAddr(arg, inv);
        return;
      case 'ctorigsrcport':
      case 'ctorigdstport':
      case 'ctreplsrcport':
      case 'ctrepldstport':
        s[opt.slice(2) as 'origsrcport'] = { range: parsePortRange(arg), invert: inv };
        return;
      case 'ctdir':
        if (arg !== 'ORIGINAL' && arg !== 'REPLY') param(`Unknown --ctdir "${arg}"`);
        s.dir = arg;
        s.dirInvert = inv;
        return;
    }
  },
  final(s) {
    if (Object.keys(s).length === 0) param('conntrack: At least one option is required');
  },
  save(s) {
    let t = '';
    const inv = (b: boolean | undefined): string => (b ? ' !' : '');
    if (s.state) t += `${inv(s.state.invert)} --ctstate ${saveList(s.state.bits, STATE_NAMES)}`;
    if (s.proto) t += `${inv(s.proto.invert)} --ctproto ${PROTO_NAMES[s.proto.num] ?? s.proto.num}`;
    for (const k of ['origsrc', 'origdst', 'replsrc', 'repldst'] as const) {
      const a = s[k];
      if (a) t += `${inv(a.invert)} --ct${k} ${saveAddr(a)}`;
    }
    for (const k of ['origsrcport', 'origdstport', 'replsrcport', 'repldstport'] as const) {
      const p = s[k];
      if (p) t += `${inv(p.invert)} --ct${k} ${savePortRange(p.range)}`;
    }
    if (s.status) t += `${inv(s.status.invert)} --ctstatus ${saveList(s.status.bits, STATUS_NAMES)}`;
    if (s.dir) t += ` --ctdir ${s.dirInvert ? (s.dir === 'ORIGINAL' ? 'REPLY' : 'ORIGINAL') : s.dir}`;
    return t;
  },
  print(s) {
    return this.save(s).replace(/ --/g, ' ');
  },
  compile(s) {
    const st = s.state;
    const rest = { ...s, state: undefined };
    const onlyState = Object.values(rest).every((v) => v === undefined);
    if (st && onlyState) {
      const { bits, invert } = st;
      return (c) => ((packetStateBits(c) & bits) !== 0) !== invert;
    }
    return (c) => {
      if (st && ((packetStateBits(c) & st.bits) !== 0) === st.invert) return false;
      const ct = ctOf(c.packet);
      const entry: CtEntry | null = ct === null || ct === 'untracked' ? null : ct;
      if (!entry) {
        // conntrack_mt: without an entry every further check fails (unless inverted).
        return (['proto', 'origsrc', 'origdst', 'replsrc', 'repldst', 'status'] as const).every((k) => s[k] === undefined || s[k].invert);
      }
      if (s.proto && (entry.orig.proto === s.proto.num) === s.proto.invert) return false;
      const addr = (a: AddrCheck | undefined, v: number): boolean => !a || (((v & a.mask) >>> 0) === a.addr) !== a.invert;
      const port = (p: PortCheck | undefined, v: number): boolean => !p || (v >= p.range[0] && v <= p.range[1]) !== p.invert;
      if (!addr(s.origsrc, entry.orig.src) || !addr(s.origdst, entry.orig.dst)) return false;
      if (!addr(s.replsrc, entry.reply.src) || !addr(s.repldst, entry.reply.dst)) return false;
      if (!port(s.origsrcport, entry.orig.sport) || !port(s.origdstport, entry.orig.dport)) return false;
      if (!port(s.replsrcport, entry.reply.sport) || !port(s.repldstport, entry.reply.dport)) return false;
      if (s.status && ((entry.status & s.status.bits) !== 0) === s.status.invert) return false;
      if (s.dir) {
        const isReply = c.packet.ctinfo >= 3;
        if ((isReply === (s.dir === 'REPLY')) === !!s.dirInvert) return false;
      }
      return true;
    };
  },
};

/** xt_state: --state, the same bits without the NAT ones. */
export const stateMatch: MatchModule<{ bits: number; invert: boolean; set: boolean }> = {
  name: 'state',
  options: { state: true },
  create: () => ({ bits: 0, invert: false, set: false }),
  parse(s, _o, arg, inv) {
    s.bits = parseList(arg, STATE_NAMES.slice(0, 5), 'state', false);
    s.invert = inv;
    s.set = true;
  },
  final(s) {
    if (!s.set) param('state: option "--state" must be specified');
  },
  save: (s) => `${s.invert ? ' !' : ''} --state ${saveList(s.bits, STATE_NAMES)}`,
  print: (s) => `${s.invert ? ' !' : ''} state ${saveList(s.bits, STATE_NAMES)}`,
  compile(s) {
    const { bits, invert } = s;
    return (c) => ((packetStateBits(c) & bits & 0x7f) !== 0) !== invert;
  },
};
