import type { PacketBuffer } from '../wire/packet-buffer.js';
import type { NfHookState } from './hooks.js';
import type { Ipv4Fields } from './packet.js';
import type { TraceSink } from '../sim/trace.js';
import type { NfTraceEvent } from './trace.js';

/**
 * What a match or target sees of one packet at one table traversal (the kernel's
 * xt_action_param plus the decoded headers). Built once per table traversal.
 */
export interface PacketCtx {
  readonly packet: PacketBuffer;
  readonly state: NfHookState;
  ip: Ipv4Fields;
  /** Transport ports (ICMP: -1); -1 when absent or in a non-first fragment. */
  sport: number;
  dport: number;
  /** TCP flags byte, -1 when not TCP or truncated. */
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  readonly table: string;
  /** Rules evaluated so far in this traversal (the benchmark's counter). */
  evaluated: number;
  readonly env: NfEnv;
}

/** Match verdict function: true when the packet matches (inversion already applied). */
export type MatchFn = (c: PacketCtx) => boolean;

/** XT_CONTINUE: the target lets the walk go on to the next rule (MARK, LOG, TRACE, CT). */
export const XT_CONTINUE = -1;
/** A target answers XT_CONTINUE or an NF verdict (NF_DROP 0, NF_ACCEPT 1, NF_STOLEN 2). */
export type TargetFn = (c: PacketCtx) => number;

/** Where a rule is being parsed, for the checks xtables and the kernel make. */
export interface ParseCtx {
  readonly table: string;
  readonly chain: string;
  /** `-p` value (protocol number; 0 = all) and its inversion. */
  readonly proto: number;
  readonly protoInvert: boolean;
}

/**
 * One iptables extension (libxt_*.c in the tool, xt_*.c in the kernel): which long options it
 * takes, how it parses them into a spec, how iptables-save prints the spec, and the compiled
 * packet function.
 */
export interface ExtModule<S, F> {
  readonly name: string;
  /** Long option names without `--`, true when the option takes an argument. */
  readonly options: Readonly<Record<string, boolean>>;
  create(pc: ParseCtx): S;
  parse(s: S, opt: string, arg: string, invert: boolean, pc: ParseCtx): void;
  /** Checks after all options (x6_fcheck) and the kernel's checkentry. */
  final(s: S, pc: ParseCtx): void;
  /** The text after `-m name` / `-j NAME`, each option with its leading space. */
  save(s: S): string;
  /** What `iptables -L -n -v` prints for it (the extension's print()), with its leading space. */
  print?(s: S): string;
  compile(s: S, env: NfEnv): F;
}

export type MatchModule<S = any> = ExtModule<S, MatchFn>;
export type TargetModule<S = any> = ExtModule<S, TargetFn>;

/** Per-netns state matches and targets reach (ipsets, recent lists, nfacct, trace). */
export interface NfEnv {
  readonly sets: SetLookup;
  readonly recent: Map<string, RecentTable>;
  readonly nfacct: Map<string, { pkts: number; bytes: number }>;
  /** Set while a trace sink is attached. */
  sink: TraceSink<NfTraceEvent> | null;
  /** Packets marked by `-j TRACE` (skb->nf_trace). */
  readonly traced: WeakSet<PacketBuffer>;
  /** nf_nat_setup_info for the NAT targets; answers an NF verdict. */
  natSetup(c: PacketCtx, range: NatRange, manip: 'SRC' | 'DST'): number;
  /** nf_send_unreach / nf_send_reset for REJECT. */
  reject(c: PacketCtx, how: string): void;
}

/** nf_nat_range2: the addresses and ports a NAT target may choose from. */
export interface NatRange {
  /** NF_NAT_RANGE_MAP_IPS: rewrite the address (false = keep it, ports only). */
  readonly mapIps: boolean;
  readonly minIp: number;
  readonly maxIp: number;
  /** NF_NAT_RANGE_PROTO_SPECIFIED. */
  readonly protoSpecified: boolean;
  readonly minPort: number;
  readonly maxPort: number;
  readonly random: boolean;
  readonly randomFully: boolean;
  readonly persistent: boolean;
}

/** The part of the ipset registry the set match needs: a stable holder per name (swap-safe). */
export interface SetLookup {
  ref(name: string): SetRef | undefined;
}
export interface SetRef {
  readonly name: string;
  /** Tests the packet against the set with the given directions (true = src). */
  test(c: PacketCtx, dirs: readonly boolean[]): boolean;
  readonly dimension: number;
}

/** xt_recent: one named list of addresses with their last-seen timestamps (ns). */
export interface RecentEntry {
  stamps: number[];
  ttl: number;
}
export type RecentTable = Map<number, RecentEntry>;

export function param(msg: string): never {
  throw new ParamErrorImpl(msg);
}
import { ParamError as ParamErrorImpl } from './errors.js';

/** xtables_strtoui with a range: decimal, hex (0x) or octal (leading 0), as strtoul base 0. */
export function parseUint(text: string, max: number): number | undefined {
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^0[0-7]*$/.test(text)) v = parseInt(text, 8);
  else if (/^[1-9][0-9]*$/.test(text)) v = parseInt(text, 10);
  else return undefined;
  return v <= max ? v : undefined;
}

export function hex(v: number): string {
  return `0x${(v >>> 0).toString(16)}`;
}
