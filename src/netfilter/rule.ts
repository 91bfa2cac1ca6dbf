import type { MatchFn, MatchModule, NfEnv, TargetFn, TargetModule } from './module.js';
import { param } from './module.js';
import type { Chain, Table, TableName } from './tables.js';
import { TABLE_CHAINS } from './tables.js';
import type { NfHook } from './hooks.js';
import { MATCHES } from './matches/index.js';
import { TARGETS } from './targets/index.js';
import { formatIpv4, parseIpv4, prefixMask } from '../wire/ipv4-address.js';
import { checkIfaceName, ifaceMatcher } from './iface.js';
import { fastIpv4 } from './addr.js';
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

export interface MatchInst {
  readonly mod: MatchModule;
  readonly spec: unknown;
}
export interface TargetInst {
  readonly mod: TargetModule;
  readonly spec: unknown;
}

/**
 * Extensions whose compiled function keeps no state of its own and throws nothing: a rule
 * made only of these may be compiled at its first packet, and one compilation serves every
 * rule with the same text in the same namespace. Anything else (statistic's nth counter,
 * set's "doesn't exist" check at load time, extensions added later) is compiled per rule
 * when the rule is loaded, as before.
 */
const LAZY_MATCHES: ReadonlySet<string> = new Set(['tcp', 'udp', 'icmp', 'multiport', 'comment', 'mark', 'conntrack', 'state', 'addrtype', 'physdev', 'recent', 'nfacct']);
const LAZY_TARGETS: ReadonlySet<string> = new Set(['DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'MARK', 'CT', 'NOTRACK', 'REJECT', 'LOG', 'TRACE']);
const NO_FNS: readonly MatchFn[] = [];

/**
 * What one rule line parses to, independent of the namespace it is loaded into and of its
 * counters: the IP part, the extensions' specs, the verdict or jump, and (computed when first
 * asked) the iptables-save text. Immutable once made, so identical lines share one (see
 * restore.ts's line cache): six nodes with the same kube-proxy payload hold it once.
 */
/** The rarely used part of the IP part: interfaces and the fragment flag (null on most rules). */
interface IpExtra {
  readonly inIface: string;
  readonly inInv: boolean;
  readonly outIface: string;
  readonly outInv: boolean;
  readonly frag: boolean;
  readonly fragInv: boolean;
  readonly inM: ((n: string) => boolean) | null;
  readonly outM: ((n: string) => boolean) | null;
}

const F_SINV = 1;
const F_DINV = 2;
const F_PINV = 4;
const F_GOTO = 8;
const F_LAZY = 16;

export class RuleSpec {
  // Addresses and masks as int32 (small integers in V8, no boxed number per field); the
  // getters answer them unsigned. 110,000 of these make a 10,000-Service kube-proxy payload.
  private readonly src32: number;
  private readonly smsk32: number;
  private readonly dst32: number;
  private readonly dmsk32: number;
  private readonly flags: number;
  private readonly extra: IpExtra | null;
  private savedText: string | undefined = undefined;
  constructor(
    src: number,
    smsk: number,
    sInv: boolean,
    dst: number,
    dmsk: number,
    dInv: boolean,
    inIface: string,
    inInv: boolean,
    outIface: string,
    outInv: boolean,
    readonly proto: number,
    pInv: boolean,
    frag: boolean,
    fragInv: boolean,
    readonly matches: readonly MatchInst[],
    readonly target: TargetInst | null,
    readonly verdict: Verdict | null,
    readonly jumpName: string | null,
    isGoto: boolean,
    /** `-c p b` inside the rule. */
    readonly counters: readonly [number, number] | undefined,
    /** Interface matchers (null = any). */
    inM: ((n: string) => boolean) | null,
    outM: ((n: string) => boolean) | null,
  ) {
    this.src32 = src | 0;
    this.smsk32 = smsk | 0;
    this.dst32 = dst | 0;
    this.dmsk32 = dmsk | 0;
    let lazy = target === null || LAZY_TARGETS.has(target.mod.name);
    for (let i = 0; lazy && i < matches.length; i++) if (!LAZY_MATCHES.has(matches[i]!.mod.name)) lazy = false;
    this.flags = (sInv ? F_SINV : 0) | (dInv ? F_DINV : 0) | (pInv ? F_PINV : 0) | (isGoto ? F_GOTO : 0) | (lazy ? F_LAZY : 0);
    this.extra = inIface || outIface || frag || fragInv || inInv || outInv ? { inIface, inInv, outIface, outInv, frag, fragInv, inM, outM } : null;
  }

  get src(): number {
    return this.src32 >>> 0;
  }
  get smsk(): number {
    return this.smsk32 >>> 0;
  }
  get dst(): number {
    return this.dst32 >>> 0;
  }
  get dmsk(): number {
    return this.dmsk32 >>> 0;
  }
  get sInv(): boolean {
    return (this.flags & F_SINV) !== 0;
  }
  get dInv(): boolean {
    return (this.flags & F_DINV) !== 0;
  }
  get pInv(): boolean {
    return (this.flags & F_PINV) !== 0;
  }
  get isGoto(): boolean {
    return (this.flags & F_GOTO) !== 0;
  }
  /** Compile may wait for the first packet and be shared by every Rule of this spec in one netns. */
  get lazy(): boolean {
    return (this.flags & F_LAZY) !== 0;
  }
  get inIface(): string {
    return this.extra?.inIface ?? '';
  }
  get inInv(): boolean {
    return this.extra?.inInv ?? false;
  }
  get outIface(): string {
    return this.extra?.outIface ?? '';
  }
  get outInv(): boolean {
    return this.extra?.outInv ?? false;
  }
  get frag(): boolean {
    return this.extra?.frag ?? false;
  }
  get fragInv(): boolean {
    return this.extra?.fragInv ?? false;
  }
  get inM(): ((n: string) => boolean) | null {
    return this.extra?.inM ?? null;
  }
  get outM(): ((n: string) => boolean) | null {
    return this.extra?.outM ?? null;
  }

  get ip(): IpPart {
    const { src, smsk, sInv, dst, dmsk, dInv, inIface, inInv, outIface, outInv, proto, pInv, frag, fragInv } = this;
    return { src, smsk, sInv, dst, dmsk, dInv, inIface, inInv, outIface, outInv, proto, pInv, frag, fragInv };
  }

  /** The rule as iptables-save prints it after `-A CHAIN`, with a leading space (may be empty). */
  get text(): string {
    return (this.savedText ??= saveText(this));
  }

  /**
   * Compiles the extensions for `env`; with `share`, one compilation per namespace serves
   * every rule of this spec there. It is kept on the namespace's side (a spec outlives the
   * namespaces that loaded it in the line cache and must not keep them alive).
   */
  compile(env: NfEnv, share: boolean): Compiled {
    let byEnv = share ? compiledByEnv.get(env) : undefined;
    const kept = byEnv?.get(this);
    if (kept !== undefined) return kept;
    const fns = this.matches.length === 0 ? NO_FNS : this.matches.map((m) => m.mod.compile(m.spec, env));
    const tfn = this.target ? this.target.mod.compile(this.target.spec, env) : null;
    const c: Compiled = { fns, tfn };
    if (share) {
      if (byEnv === undefined) compiledByEnv.set(env, (byEnv = new WeakMap()));
      byEnv.set(this, c);
    }
    return c;
  }
}

interface Compiled {
  readonly fns: readonly MatchFn[];
  readonly tfn: TargetFn | null;
}
/** Per namespace (its NfEnv), the compilations of lazy specs, shared by their rules there. */
const compiledByEnv = new WeakMap<NfEnv, WeakMap<RuleSpec, Compiled>>();

/**
 * One rule in one chain of one namespace: its spec (shared), counters, the resolved jump and
 * the compiled functions the walk calls (null until the first packet for lazy specs).
 * Jumps are resolved to chain objects by Table.link().
 */
export class Rule {
  pkts = 0;
  bytes = 0;
  jump: Chain | null = null;
  /** Compiled matches in rule order (the IP part is checked inline by the walk); null = not yet. */
  fns: readonly MatchFn[] | null = null;
  /** The compiled target, when the rule has an extension target. */
  tfn: TargetFn | null = null;
  constructor(
    readonly spec: RuleSpec,
    /** Where the rule is loaded; null when the caller fills fns/tfn itself (copyZeroed). */
    env: NfEnv | null,
  ) {
    if (spec.matches.length === 0 && spec.target === null) this.fns = NO_FNS;
    else if (env === null) return;
    else if (!spec.lazy) {
      // Compiled now, per rule: its errors belong to the restore, its state to this rule.
      const c = spec.compile(env, false);
      this.fns = c.fns;
      this.tfn = c.tfn;
    }
    // Lazy specs compile at the rule's first packet (Rule.compile, from the walk).
  }

  /** Called by the walk the first time the rule is evaluated. */
  compile(env: NfEnv): readonly MatchFn[] {
    const c = this.spec.compile(env, this.spec.lazy);
    this.tfn = c.tfn;
    this.fns = c.fns;
    return c.fns;
  }

  get text(): string {
    return this.spec.text;
  }
  get ip(): IpPart {
    return this.spec.ip;
  }
  get matches(): readonly MatchInst[] {
    return this.spec.matches;
  }
  get target(): TargetInst | null {
    return this.spec.target;
  }
  get verdict(): Verdict | null {
    return this.spec.verdict;
  }
  get jumpName(): string | null {
    return this.spec.jumpName;
  }
  get isGoto(): boolean {
    return this.spec.isGoto;
  }
  get src(): number {
    return this.spec.src;
  }
  get smsk(): number {
    return this.spec.smsk;
  }
  get sInv(): boolean {
    return this.spec.sInv;
  }
  get dst(): number {
    return this.spec.dst;
  }
  get dmsk(): number {
    return this.spec.dmsk;
  }
  get dInv(): boolean {
    return this.spec.dInv;
  }
  get proto(): number {
    return this.spec.proto;
  }
  get pInv(): boolean {
    return this.spec.pInv;
  }
  get frag(): boolean {
    return this.spec.frag;
  }
  get fragInv(): boolean {
    return this.spec.fragInv;
  }
  get inInv(): boolean {
    return this.spec.inInv;
  }
  get outInv(): boolean {
    return this.spec.outInv;
  }
  get inM(): ((n: string) => boolean) | null {
    return this.spec.inM;
  }
  get outM(): ((n: string) => boolean) | null {
    return this.spec.outM;
  }

  copyZeroed(): Rule {
    const r = new Rule(this.spec, null);
    r.fns = this.fns;
    r.tfn = this.tfn;
    return r;
  }
}

export const PROTO_BY_NAME: Readonly<Record<string, number>> = { all: 0, icmp: 1, igmp: 2, ipencap: 4, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, sctp: 132, udplite: 136 };
/** Names iptables-save prints for -p (xtables_chain_protos, then /etc/protocols). */
const PROTO_NAME: Readonly<Record<number, string>> = { 1: 'icmp', 2: 'igmp', 4: 'ipencap', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 132: 'sctp', 136: 'udplite' };

/** Out-parameters of parseAddrMask (no array per address). */
let addrOut = 0;
let maskOut = 0;

function ipOrParam(text: string): number {
  const v = fastIpv4(text, 0, text.length);
  if (v >= 0) return v;
  try {
    return parseIpv4(text);
  } catch {
    param(`host/network \`${text}' not found`);
  }
}

function parseAddrMask(arg: string): void {
  if (arg.includes(',')) param(`host/network \`${arg}' not found`);
  const slash = arg.indexOf('/');
  const addr = ipOrParam(slash < 0 ? arg : arg.slice(0, slash));
  let mask = 0xffffffff;
  if (slash >= 0) {
    const m = arg.slice(slash + 1);
    if (/^[0-9]+$/.test(m) && Number(m) <= 32) mask = prefixMask(Number(m));
    else {
      const v = fastIpv4(m, 0, m.length);
      if (v >= 0) mask = v;
      else {
        try {
          mask = parseIpv4(m);
        } catch {
          param(`invalid mask \`${m}' specified`);
        }
      }
    }
  }
  addrOut = (addr & mask) >>> 0;
  maskOut = mask;
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
const SHORT: ReadonlyMap<string, string> = new Map(Object.entries({
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
}));

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

const isDigits = (s: string): boolean => /^[0-9]+$/.test(s);

/**
 * Parses the rule part of a command (args[from..], everything after `-A CHAIN`) as
 * iptables' do_parse, for a rule of `chain` in `table`. Throws ParamError / CommitError with
 * the tool's message. The result depends only on these inputs (the namespace is not read:
 * built-in chains are the table's fixed ones), which is what lets restore.ts share it.
 */
export function parseRuleSpec(args: readonly string[], from: number, table: TableName, chain: string): RuleSpec {
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
  const ctx: { table: string; chain: string; proto: number; protoInvert: boolean } = { table, chain, proto: 0, protoInvert: false };

  for (let i = from; i < args.length; i++) {
    const a = args[i]!;
    if (a === '!') {
      if (invert) param('consecutive ! not allowed');
      invert = true;
      continue;
    }
    const g = a.charCodeAt(0) === 45 ? SHORT.get(a) : undefined;
    if (g !== undefined) {
      const inv = invert;
      invert = false;
      switch (g) {
        case 's':
          seen = once(seen, 1, '-s');
          parseAddrMask(need(args, ++i, a));
          src = addrOut;
          smsk = maskOut;
          sInv = inv;
          break;
        case 'd':
          seen = once(seen, 2, '-d');
          parseAddrMask(need(args, ++i, a));
          dst = addrOut;
          dmsk = maskOut;
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
          const n = PROTO_BY_NAME[v] ?? (isDigits(v) && Number(v) <= 255 ? Number(v) : undefined);
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
          if (tm) target = { mod: tm, spec: tm.create(ctx) };
          break;
        }
        case 'm': {
          if (inv) param('unexpected ! flag before --match');
          const name = need(args, ++i, a);
          const mm = MATCHES.get(name);
          if (!mm) param(`Couldn't load match \`${name}':No such file or directory\n`);
          matches.push({ mod: mm, spec: mm.create(ctx) });
          break;
        }
        case 'c': {
          const p = need(args, ++i, a);
          const b = need(args, ++i, a);
          if (!isDigits(p) || !isDigits(b)) param('-c packet counter not numeric');
          counters = [Number(p), Number(b)];
          break;
        }
      }
      continue;
    }
    if (a.length > 2 && a.charCodeAt(0) === 45 && a.charCodeAt(1) === 45) {
      const opt = a.slice(2);
      const inv = invert;
      invert = false;
      // command_default: the target's options first, then the most recently loaded match
      // that has the option (getopt sees the newest merged options first), then the
      // protocol's match loaded implicitly (`-p tcp --dport 80`).
      let owner: { mod: MatchModule | TargetModule; spec: unknown } | undefined;
      if (target && opt in target.mod.options) owner = target;
      else {
        for (let k = matches.length - 1; k >= 0; k--) {
          if (opt in matches[k]!.mod.options) {
            owner = matches[k];
            break;
          }
        }
      }
      if (!owner && proto !== 0 && !pInv) {
        const implicit = MATCHES.get(PROTO_NAME[proto] ?? '');
        if (implicit && opt in implicit.options) {
          let loaded = false;
          for (const m of matches) if (m.mod === implicit) loaded = true;
          if (!loaded) {
            owner = { mod: implicit, spec: implicit.create(ctx) };
            matches.push(owner as { mod: MatchModule; spec: unknown });
          }
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
      owner.mod.parse(owner.spec, opt, arg, inv, ctx);
      continue;
    }
    param(`Bad argument \`${a}'`);
  }
  if (invert) param('no command specified');

  // generic checks (iptables generic_opt_check and the kernel's ip_checkentry)
  if (outIface && (chain === 'INPUT' || chain === 'PREROUTING')) param(`Can't use -o with ${chain}`);
  if (inIface && (chain === 'OUTPUT' || chain === 'POSTROUTING')) param(`Can't use -i with ${chain}`);

  for (const m of matches) m.mod.final(m.spec, ctx);
  let verdict: Verdict | null = null;
  let jumpName: string | null = null;
  if (targetName !== null && !target) {
    if (!isGoto && (targetName === 'ACCEPT' || targetName === 'DROP' || targetName === 'RETURN')) verdict = targetName;
    else {
      if (targetName.length > 28) param(`Invalid target name \`${targetName}' (28 chars max)`);
      // A missing chain is reported at COMMIT (iptables-nft checks jumps when it commits).
      // Built-in chains always exist and never change, so this does not read the namespace.
      if (TABLE_CHAINS[table].includes(targetName as NfHook)) throw new CommitError('', `RULE_APPEND failed (Invalid argument): rule in chain ${chain}`);
      jumpName = targetName;
    }
  }
  if (target) target.mod.final(target.spec, ctx);

  return new RuleSpec(src, smsk, sInv, dst, dmsk, dInv, inIface, inInv, outIface, outInv, proto, pInv, frag, fragInv, matches, target, verdict, jumpName, isGoto, counters, inIface ? ifaceMatcher(inIface) : null, outIface ? ifaceMatcher(outIface) : null);
}

/** iptables-save text, in the order nft_ipv4_save_rule prints: -s -d -i -o -p -f, matches, target. */
function saveText(r: RuleSpec): string {
  // Joined once into a flat string (a chain of += would keep every piece alive).
  const parts: string[] = [];
  if (r.smsk !== 0 || r.sInv) parts.push(r.sInv ? ' ! -s ' : ' -s ', saveAddr(r.src, r.smsk));
  if (r.dmsk !== 0 || r.dInv) parts.push(r.dInv ? ' ! -d ' : ' -d ', saveAddr(r.dst, r.dmsk));
  if (r.inIface) parts.push(r.inInv ? ' ! -i ' : ' -i ', r.inIface);
  if (r.outIface) parts.push(r.outInv ? ' ! -o ' : ' -o ', r.outIface);
  if (r.proto !== 0) parts.push(r.pInv ? ' ! -p ' : ' -p ', PROTO_NAME[r.proto] ?? String(r.proto));
  if (r.frag) parts.push(r.fragInv ? ' ! -f' : ' -f');
  for (const m of r.matches) parts.push(' -m ', m.mod.name, m.mod.save(m.spec));
  if (r.target) parts.push(' -j ', r.target.mod.name, r.target.mod.save(r.target.spec));
  else if (r.verdict) parts.push(' -j ', r.verdict);
  else if (r.jumpName) parts.push(r.isGoto ? ' -g ' : ' -j ', r.jumpName);
  return parts.join('');
}

/** parseRule for one namespace: the spec and a fresh Rule of it (tests and single commands). */
export function parseRule(args: readonly string[], table: Table, chain: string, env: NfEnv): ParsedRule {
  const spec = parseRuleSpec(args, 0, table.name, chain);
  const rule = new Rule(spec, env);
  return spec.counters ? { rule, counters: [spec.counters[0], spec.counters[1]] } : { rule };
}
