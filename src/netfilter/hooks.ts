import type { PacketBuffer } from '../wire/packet-buffer.js';
import type { Ipv4Addr } from '../wire/ipv4-address.js';

/**
 * The IPv4 netfilter hook points and the kernel's priorities (uapi
 * linux/netfilter_ipv4.h `nf_ip_hook_priorities`). This is the one table that decides the
 * order of everything registered at a hook: linux/ runs the registered functions of a hook
 * sorted by priority, lowest first; netfilter/ and ipvs/ register at these numbers.
 */
export type NfHook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

export const NF_IP_PRI = {
  CONNTRACK_DEFRAG: -400,
  RAW: -300,
  SELINUX_FIRST: -225,
  CONNTRACK: -200,
  MANGLE: -150,
  NAT_DST: -100,
  FILTER: 0,
  SECURITY: 50,
  NAT_SRC: 100,
  SELINUX_LAST: 225,
  CONNTRACK_HELPER: 300,
  /** ipv4_confirm runs last (INT_MAX in the kernel). */
  CONNTRACK_CONFIRM: 2147483647,
} as const;

/** Verdicts a hook function answers (NF_DROP, NF_ACCEPT, NF_STOLEN as the kernel's). */
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
/** The hook took the packet (e.g. IPVS sent it itself); the caller stops processing it. */
export const NF_STOLEN = 2;
export type NfVerdict = typeof NF_DROP | typeof NF_ACCEPT | typeof NF_STOLEN;

/**
 * What the namespace tells netfilter about itself, declared here so netfilter need not
 * import linux/ (which implements it).
 */
export interface NfNetns {
  /** Node/namespace names, for trace events. */
  readonly node: string;
  readonly netns: string;
  /** addrtype LOCAL: the address is on a local interface of this namespace (table local). */
  isLocalAddress(a: Ipv4Addr): boolean;
  /** addrtype BROADCAST / MULTICAST etc., as the kernel's inet_addr_type. */
  addressType(a: Ipv4Addr): 'UNICAST' | 'LOCAL' | 'BROADCAST' | 'MULTICAST' | 'BLACKHOLE' | 'UNREACHABLE' | 'PROHIBIT' | 'UNSPEC';
  /** MASQUERADE's source: the primary address of `outDev` that fits the next hop (inet_select_addr). */
  selectSourceAddress(outDev: string, dst: Ipv4Addr): Ipv4Addr | undefined;
  /** Send a locally generated packet (REJECT's ICMP error or TCP RST) out through the stack. */
  sendLocal(packet: PacketBuffer): void;
  /** The simulated clock, for conntrack timeouts and `recent`. */
  now(): number;
  /** Random numbers for `statistic --mode random` and `--random-fully`. */
  randomU32(): number;
}

/** Where a packet is when a hook runs: nf_hook_state. Device names as `ip link` shows them. */
export interface NfHookState {
  readonly hook: NfHook;
  readonly inDev: string | null;
  readonly outDev: string | null;
  /** br_netfilter: the bridge ports, for `-m physdev`. */
  readonly physInDev?: string | null;
  readonly physOutDev?: string | null;
  /** True when the packet is bridged (br_netfilter), for `--physdev-is-bridged`. */
  readonly bridged?: boolean;
  readonly netns: NfNetns;
  /**
   * Set by a hook that changed what routes a locally generated packet, as the kernel's
   * mangle OUTPUT hook calls ip_route_me_harder when the mark, TOS or addresses changed
   * (raw's and filter's changes do not re-route). The output path reads it after OUTPUT.
   */
  reroute?: boolean;
}

/**
 * A function registered at a hook (nf_hookfn). `packet.network` points at the IPv4 header.
 * It may rewrite the packet in place (NAT) and answers a verdict.
 */
export type NfHookFn = (packet: PacketBuffer, state: NfHookState) => NfVerdict;

export interface NfHookOps {
  readonly hook: NfHook;
  readonly priority: number;
  /** Who registered it, for traces: `raw`, `conntrack`, `nat`, `ipvs`, ... */
  readonly owner: string;
  readonly fn: NfHookFn;
}
