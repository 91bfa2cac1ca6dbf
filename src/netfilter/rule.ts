import type { MatchFn, MatchModule, NfEnv, ParseCtx, TargetFn, TargetModule } from './module.js';
import { param } from './module.js';
import type { Chain, Table } from './tables.js';
import { MATCHES } from './matches/index.js';
import { TARGETS } from './targets/index.js';
import { formatIpv4, parseIpv4, prefixMask } from '../wire/ipv4-address.js';
import { checkIfaceName, ifaceMatcher } from './iface.js';
import { CommitError } from './errors.js';

/** The IP part of a rule (struct ipt_ip): addresses, interfaces, protocol, fragment flag. */
export interface IpPart {
  readonly src: number;
  readonly smsk: number;
  readonly sInv: boolean;
  readonly dst: number;
  readonly dmsk: number;
  readonly dInv: boolean;
  readonly inIface: string;
  readonly inInv: boolean;
  readonly outIface: string;
  readonly outInv: boolean;
  readonly proto: number;
  readonly pInv: boolean;
  readonly frag: boolean;
  readonly fragInv: boolean;
}

/** Standard verdicts a rule can end in. */
export type Verdict = 'ACCEPT' | 'DROP' | 'RETURN';

interface MatchInst {
  readonly mod: MatchModule;
  readonly spec: unknown;
}

/**
 * One rule: its parsed spec, its save text, counters, and the compiled functions the walk
 * calls. Jumps are resolved to chain objects by Table.link().
 */
export class Rule {
  pkts = 0;
  bytes = 0;
  jump: Chain | null = null;
  // The IP part copied flat onto the rule: the walk reads these without another hop.
  readonly src: number;
  readonly smsk: number;
  readonly sInv: boolean;
  readonly dst: number;
  readonly dmsk: number;
  readonly dInv: boolean;
  readonly proto: number;
  readonly pInv: boolean;
  readonly frag: boolean;
  readonly fragInv: boolean;
  readonly inInv: boolean;
  readonly outInv: boolean;
  constructor(
    readonly ip: IpPart,
    readonly matches: readonly MatchInst[],
    /** Compiled matches in rule order (the IP part is checked inline by the walk). */
    readonly fns: readonly MatchFn[],
    readonly verdict: Verdict | null,
    readonly jumpName: string | null,
    readonly isGoto: boolean,
    readonly target: { readonly mod: TargetModule; readonly spec: unknown; readonly fn: TargetFn } | null,
    /** The rule as iptables-save prints it after `-A CHAIN`, with a leading space (may be empty). */
    readonly text: string,
    /** Interface matchers (null = any). */
    readonly inM: ((n: string) => boolean) | null,
    readonly outM: ((n: string) => boolean) | null,
  ) {
    this.src = ip.src;
    this.smsk = ip.smsk;
    this.sInv = ip.sInv;
    this.dst = ip.dst;
    this.dmsk = ip.dmsk;
    this.dInv = ip.dInv;
    this.proto = ip.proto;
    this.pInv = ip.pInv;
    this.frag = ip.frag;
    this.fragInv = ip.fragInv;
    this.inInv = ip.inInv;
    this.outInv = ip.outInv;
  }

  copyZeroed(): Rule {
    const r = new Rule(this.ip, this.matches, this.fns, this.verdict, this.jumpName, this.isGoto, this.target, this.text, this.inM, this.outM);
    return r;
  }
}

export const PROTO_BY_NAME: Readonly<Record<string, number>> = { all: 0, icmp: 1, igmp: 2, ipencap: 4, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, sctp: 132, udplite: 136 };
/** Names iptables-save prints for -p (xtables_chain_protos, then /etc/protocols). */
const PROTO_NAME: Readonly<Record<number, string>> = { 1: 'icmp', 2: 'igmp', 4: 'ipencap', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 132: 'sctp', 136: 'udplite' };

function parseAddrMask(arg: string): [number, number] {
  if (arg.includes(',')) param(`host/network \`${arg}' not found`);
  const slash = arg.indexOf('/');
  let addr: number;
  try {
    addr = parseIpv4(slash < 0 ? arg : arg.slice(0, slash));
  } catch {
    param(`host/network \`${slash < 0 ? arg : arg.slice(0, slash)}' not found`);
  }
  let mask = 0xffffffff;
  if (slash >= 0) {
    const m = arg.slice(slash + 1);
    if (/^[0-9]+$/.test(m) && Number(m) <= 32) mask = prefixMask(Number(m));
    else {
      try {
        mask = parseIpv4(m);
      } catch {
        param(`invalid mask \`${m}' specified`);
      }
    }
  }
  return [(addr & mask) >>> 0, mask];
}

function saveAddr(addr: number, mask: number): string {
  let len = 0;
  let m = mask;
  while (m & 0x80000000) {
    len++;
    m = (m << 1) >>> 0;
  }
  const contiguous = m === 0;
  return `${formatIpv4(addr)}/${contiguous ? len : formatIpv4(mask)}`;
}

/** Options the rule parser itself owns (iptables' global options). */
const SHORT: Readonly<Record<string, string>> = {
  '-s': 's', '--source': 's', '--src': 's',
  '-d': 'd', '--destination': 'd', '--dst': 'd',
  '-i': 'i', '--in-interface': 'i',
  '-o': 'o', '--out-interface': 'o',
  '-p': 'p', '--protocol': 'p',
  '-f': 'f', '--fragment': 'f',
  '-j': 'j', '--jump': 'j',
  '-g': 'g', '--goto': 'g',
  '-m': 'm', '--match': 'm',
  '-c': 'c', '--set-counters': 'c',
};

export interface ParsedRule {
  rule: Rule;
  /** `-c p b` inside the rule. */
  counters?: [number, number];
}

function need(args: readonly string[], i: number, opt: string): string {
  const v = args[i];
  if (v === undefined) param(`option "${opt}" requires an argument`);
  return v;
}

function once(seen: number, bit: number, flag: string): number {
  if (seen & bit) param(`multiple ${flag} flags not allowed`);
  return seen | bit;
}

/**
 * Parses the rule part of a command (everything after `-A CHAIN`) as iptables' do_parse,
 * and compiles it. Throws ParamError with the tool's message.
 */
export function parseRule(args: readonly string[], table: Table, chain: string, env: NfEnv): ParsedRule {
  let src = 0, smsk = 0, sInv = false, dst = 0, dmsk = 0, dInv = false;
  let inIface = '', inInv = false, outIface = '', outInv = false;
  let proto = 0, pInv = false, frag = false, fragInv = false;
  let seen = 0;
  const matches: { mod: MatchModule; spec: unknown }[] = [];
  let targetName: string | null = null;
  let isGoto = false;
  let target: { mod: TargetModule; spec: unknown } | null = null;
  let counters: [number, number] | undefined;
  let invert = false;
  // One mutable parse context per rule (no per-option allocation); -p updates it.
  const ctx: { table: string; chain: string; proto: number; protoInvert: boolean } = { table: table.name, chain, proto: 0, protoInvert: false };
  const pc = (): ParseCtx => ctx;

  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '!') {
      if (invert) param('consecutive ! not allowed');
      invert = true;
      continue;
    }
    const g = SHORT[a];
    if (g !== undefined) {
      const inv = invert;
      invert = false;
      switch (g) {
        case 's':
          seen = once(seen, 1, '-s');
          [src, smsk] = parseAddrMask(need(args, ++i, a));
          sInv = inv;
          break;
        case 'd':
          seen = once(seen, 2, '-d');
          [dst, dmsk] = parseAddrMask(need(args, ++i, a));
          dInv = inv;
          break;
        case 'i':
          seen = once(seen, 4, '-i');
          inIface = need(args, ++i, a);
          checkIfaceName(inIface);
          inInv = inv;
          break;
        case 'o':
          seen = once(seen, 8, '-o');
          outIface = need(args, ++i, a);
          checkIfaceName(outIface);
          outInv = inv;
          break;
        case 'p': {
          seen = once(seen, 16, '-p');
          const v = need(args, ++i, a).toLowerCase();
          const n = PROTO_BY_NAME[v] ?? (/^[0-9]+$/.test(v) && Number(v) <= 255 ? Number(v) : undefined);
          if (n === undefined) param(`unknown protocol "${v}" specified`);
          if (n === 0 && inv) param('rule would never match protocol');
          proto = n;
          pInv = inv;
          ctx.proto = n;
          ctx.protoInvert = inv;
          break;
        }
        case 'f':
          seen = once(seen, 32, '-f');
          frag = true;
          fragInv = inv;
          break;
        case 'j':
        case 'g': {
          if (inv) param(`cannot have ! before ${a}`);
          if (targetName !== null) param('multiple -j flags not allowed');
          targetName = need(args, ++i, a);
          isGoto = g === 'g';
          const tm = isGoto ? undefined : TARGETS.get(targetName);
          if (tm) target = { mod: tm, spec: tm.create(pc()) };
          break;
        }
        case 'm': {
          if (inv) param('unexpected ! flag before --match');
          const name = need(args, ++i, a);
          const mm = MATCHES.get(name);
          if (!mm) param(`Couldn't load match \`${name}':No such file or directory\n`);
          matches.push({ mod: mm, spec: mm.create(pc()) });
          break;
        }
        case 'c': {
          const p = need(args, ++i, a);
          const b = need(args, ++i, a);
          if (!/^[0-9]+$/.test(p) || !/^[0-9]+$/.test(b)) param('-c packet counter not numeric');
          counters = [Number(p), Number(b)];
          break;
        }
      }
      continue;
    }
    if (a.startsWith('--') && a.length > 2) {
      const opt = a.slice(2);
      const inv = invert;
      invert = false;
      // command_default: the target's options first, then the most recently loaded match
      // that has the option (getopt sees the newest merged options first), then the
      // protocol's match loaded implicitly (`-p tcp --dport 80`).
      let owner: { mod: MatchModule | TargetModule; spec: unknown } | undefined;
      if (target && opt in target.mod.options) owner = target;
      else owner = matches.findLast((m) => opt in m.mod.options);
      if (!owner && proto !== 0 && !pInv) {
        const implicit = MATCHES.get(PROTO_NAME[proto] ?? '');
        if (implicit && opt in implicit.options && !matches.some((m) => m.mod === implicit)) {
          owner = { mod: implicit, spec: implicit.create(pc()) };
          matches.push(owner as { mod: MatchModule; spec: unknown });
        }
      }
      if (!owner) param(`unknown option "${a}"`);
      const takesArg = owner.mod.options[opt]!;
      let arg = '';
      if (takesArg) {
        arg = need(args, ++i, a);
        // Options with two arguments (--tcp-flags MASK COMP, --match-set NAME DIRS).
        if ((opt === 'tcp-flags' || opt === 'match-set' || opt === 'set') && args[i + 1] !== undefined) arg += ` ${args[++i]}`;
      }
      if (inv && owner === target) param(`unexpected ! flag before --${opt}`);
      owner.mod.parse(owner.spec, opt, arg, inv, pc());
      continue;
    }
    param(`Bad argument \`${a}'`);
  }
  if (invert) param('no command specified');

  // generic checks (iptables generic_opt_check and the kernel's ip_checkentry)
  if (outIface && (chain === 'INPUT' || chain === 'PREROUTING')) param(`Can't use -o with ${chain}`);
  if (inIface && (chain === 'OUTPUT' || chain === 'POSTROUTING')) param(`Can't use -i with ${chain}`);

  for (const m of matches) m.mod.final(m.spec, pc());
  let verdict: Verdict | null = null;
  let jumpName: string | null = null;
  if (targetName !== null && !target) {
    if (!isGoto && (targetName === 'ACCEPT' || targetName === 'DROP' || targetName === 'RETURN')) verdict = targetName;
    else {
      if (targetName.length > 28) param(`Invalid target name \`${targetName}' (28 chars max)`);
      const c = table.chains.get(targetName);
      // A missing chain is reported at COMMIT (iptables-nft checks jumps when it commits).
      if (c?.builtin) throw new CommitError('', `RULE_APPEND failed (Invalid argument): rule in chain ${chain}`);
      jumpName = targetName;
    }
  }
  if (target) target.mod.final(target.spec, pc());

  // iptables-save text, in the order nft_ipv4_save_rule prints: -s -d -i -o -p -f, matches, target.
  let text = '';
  if (smsk !== 0 || sInv) text += `${sInv ? ' !' : ''} -s ${saveAddr(src, smsk)}`;
  if (dmsk !== 0 || dInv) text += `${dInv ? ' !' : ''} -d ${saveAddr(dst, dmsk)}`;
  if (inIface) text += `${inInv ? ' !' : ''} -i ${inIface}`;
  if (outIface) text += `${outInv ? ' !' : ''} -o ${outIface}`;
  if (proto !== 0) text += `${pInv ? ' !' : ''} -p ${PROTO_NAME[proto] ?? proto}`;
  if (frag) text += `${fragInv ? ' !' : ''} -f`;
  for (const m of matches) text += ` -m ${m.mod.name}${m.mod.save(m.spec)}`;
  if (target) text += ` -j ${target.mod.name}${target.mod.save(target.spec)}`;
  else if (verdict) text += ` -j ${verdict}`;
  else if (jumpName) text += ` ${isGoto ? '-g' : '-j'} ${jumpName}`;

  const fns = matches.map((m) => m.mod.compile(m.spec, env));
  const t = target ? { mod: target.mod, spec: target.spec, fn: target.mod.compile(target.spec, env) } : null;
  const ip: IpPart = { src, smsk, sInv, dst, dmsk, dInv, inIface, inInv, outIface, outInv, proto, pInv, frag, fragInv };
  const rule = new Rule(ip, matches, fns, verdict, jumpName, isGoto, t, text, inIface ? ifaceMatcher(inIface) : null, outIface ? ifaceMatcher(outIface) : null);
  return counters ? { rule, counters } : { rule };
}
