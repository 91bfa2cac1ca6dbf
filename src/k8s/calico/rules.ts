import { fnv1_32, lengthLimitedId } from './hash.js';
import { act, m, type Action, type FelixChain, type FelixRule } from './table.js';

/** iptables.MaxChainNameLength. */
export const MAX_CHAIN_NAME = 28;

/** Felix's ipset names: "cali" + "4" + "0" (main set) + the set ID (ipsets.IPVersionConfig). */
export const IPSET = {
  allPools: 'cali40network-ip-pools',
  masqPools: 'cali40masq-ipam-pools',
  thisHost: 'cali40this-host',
  dscp: 'cali40dscp-src-net',
} as const;

/** The mark bits Felix allocates from IptablesMarkMask (dataplane/driver.go, markbits). */
export interface Marks {
  accept: number;
  pass: number;
  drop: number;
  scratch0: number;
  scratch1: number;
  /** The rest of the mask: per-endpoint marks (kube-proxy ipvs mode). */
  endpoint: number;
  /** Lowest endpoint bit, for packets from non-Calico interfaces (ipvs mode only, else 0). */
  nonCaliEndpoint: number;
}

/** NextSingleBitMark five times from the lowest bit of the mask, then the rest as one block. */
export function allocateMarks(mask: number, ipvs: boolean): Marks {
  const bits: number[] = [];
  for (let s = 0; s < 32; s++) if ((mask >>> 0) & (1 << s)) bits.push((1 << s) >>> 0);
  const [accept = 0, pass = 0, drop = 0, scratch0 = 0, scratch1 = 0, ...rest] = bits;
  const endpoint = rest.reduce((a, b) => (a | b) >>> 0, 0);
  return { accept, pass, drop, scratch0, scratch1, endpoint, nonCaliEndpoint: ipvs && rest.length ? rest[0]! : 0 };
}

/** One failsafe port (config.ProtoPort). */
export interface ProtoPort {
  protocol: string;
  port: number;
}

/** The rules.Config fields this renderer reads, with Felix's defaults filled by `felixConfig`. */
export interface RulesConfig {
  workloadIfacePrefixes: string[];
  marks: Marks;
  kubeIPVSSupportEnabled: boolean;
  kubeNodePortRanges: [number, number][];
  /** DefaultEndpointToHostAction: DROP | RETURN | ACCEPT (Canal's manifest sets ACCEPT). */
  endpointToHostAction: 'DROP' | 'RETURN' | 'ACCEPT' | 'REJECT';
  filterAllowAction: 'ACCEPT' | 'RETURN';
  mangleAllowAction: 'ACCEPT' | 'RETURN';
  filterDenyAction: 'DROP' | 'REJECT';
  serviceLoopPrevention: 'Drop' | 'Reject' | 'Disabled';
  vxlanPort: number;
  allowVXLANPacketsFromWorkloads: boolean;
  allowIPIPPacketsFromWorkloads: boolean;
  disableConntrackInvalid: boolean;
  /** features.MASQFullyRandom / SNATFullyRandom (iptables >= 1.6.2, kernel >= 3.14). */
  randomFully: boolean;
}

/** A workload endpoint as the calc graph hands it to the endpoint manager. */
export interface WorkloadEndpoint {
  /** Host-side interface, `cali` + 11 hex digits. */
  name: string;
  profileIds: string[];
}

/** A Calico profile rule: only the actions the Kubernetes profiles use. */
export interface ProfileRule {
  action: 'allow' | 'deny' | 'pass';
}

export interface Profile {
  id: string;
  inbound: ProfileRule[];
  outbound: ProfileRule[];
}

/** Endpoint marks (rules/epmark.go): FNV-1 of the name mod 2^bits, probing upwards, 0 and the non-Cali position reserved. */
export class EndpointMarkMapper {
  private readonly positions = new Map<number, string>();
  private readonly marks = new Map<string, number>();
  private readonly bits: number[] = [];
  private readonly maxPosition: number;

  constructor(readonly mask: number, nonCaliMark: number) {
    for (let s = 0; s < 32; s++) if ((mask >>> 0) & (1 << s)) this.bits.push((1 << s) >>> 0);
    this.maxPosition = 2 ** this.bits.length;
    this.positions.set(this.markToNumber(nonCaliMark), '/cali/Pseudo/NonCali/Endpoint/');
  }

  private markToNumber(mark: number): number {
    let n = 0;
    this.bits.forEach((b, i) => {
      if ((mark & b) !== 0) n += 2 ** i;
    });
    return n;
  }

  private numberToMark(n: number): number {
    let mark = 0;
    this.bits.forEach((b, i) => {
      if (Math.floor(n / 2 ** i) % 2 === 1) mark = (mark | b) >>> 0;
    });
    return mark >>> 0;
  }

  get(ep: string): number {
    const known = this.marks.get(ep);
    if (known !== undefined) return known;
    const total = fnv1_32(ep);
    for (let i = 0; i < this.maxPosition; i++) {
      const p = (total + i) % this.maxPosition;
      if (p === 0 || this.positions.has(p)) continue;
      this.positions.set(p, ep);
      const mark = this.numberToMark(p);
      this.marks.set(ep, mark);
      return mark;
    }
    throw new Error('felix: no mark left for endpoint');
  }
}

export const CHAIN = {
  filterInput: 'cali-INPUT',
  filterForward: 'cali-FORWARD',
  filterOutput: 'cali-OUTPUT',
  rawPrerouting: 'cali-PREROUTING',
  rawOutput: 'cali-OUTPUT',
  natPrerouting: 'cali-PREROUTING',
  natPostrouting: 'cali-POSTROUTING',
  natOutput: 'cali-OUTPUT',
  natOutgoing: 'cali-nat-outgoing',
  manglePrerouting: 'cali-PREROUTING',
  manglePostrouting: 'cali-POSTROUTING',
  egressDSCP: 'cali-egress-dscp',
  fipDnat: 'cali-fip-dnat',
  fipSnat: 'cali-fip-snat',
  cidrBlock: 'cali-cidr-block',
  workloadToHost: 'cali-wl-to-host',
  fromWorkloadDispatch: 'cali-from-wl-dispatch',
  toWorkloadDispatch: 'cali-to-wl-dispatch',
  toHostEndpoint: 'cali-to-host-endpoint',
  fromHostEndpoint: 'cali-from-host-endpoint',
  toHepForward: 'cali-to-hep-forward',
  fromHepForward: 'cali-from-hep-forward',
  setEndpointMark: 'cali-set-endpoint-mark',
  fromEndpointMark: 'cali-from-endpoint-mark',
  forwardCheck: 'cali-forward-check',
  forwardEndpointMark: 'cali-forward-endpoint-mark',
  rpfSkip: 'cali-rpf-skip',
} as const;

const PFX = { tw: 'cali-tw-', fw: 'cali-fw-', sm: 'cali-sm-', pri: 'cali-pri-', pro: 'cali-pro-' } as const;

export const endpointChainName = (prefix: string, iface: string): string => lengthLimitedId(prefix, iface, MAX_CHAIN_NAME);
export const profileChainName = (prefix: 'cali-pri-' | 'cali-pro-', id: string): string => lengthLimitedId(prefix, id, MAX_CHAIN_NAME);

/**
 * felix/rules (DefaultRuleRenderer) for the iptables backend: static chains (static.go),
 * dispatch (dispatch.go), endpoint chains (endpoints.go), profiles (policy.go), NAT (nat.go).
 * Each method mirrors the Go function of the same name; only the branches a Linux node with
 * IPv4, no BPF, no OpenStack, no WireGuard/IPIP/VXLAN of Felix's own and no flow logs takes.
 */
export class RuleRenderer {
  private readonly allow: Action = act.accept;
  private readonly deny: Action;
  private readonly filterAllow: Action;
  private readonly mangleAllow: Action;
  private readonly inputAccept: Action;
  private readonly blockCIDR: Action | null;

  constructor(readonly c: RulesConfig) {
    this.deny = c.filterDenyAction === 'REJECT' ? act.reject : act.drop;
    this.filterAllow = c.filterAllowAction === 'RETURN' ? act.ret : act.accept;
    this.mangleAllow = c.mangleAllowAction === 'RETURN' ? act.ret : act.accept;
    this.inputAccept = { DROP: act.drop, REJECT: act.reject, ACCEPT: act.accept, RETURN: act.ret }[c.endpointToHostAction];
    this.blockCIDR = c.serviceLoopPrevention === 'Drop' ? act.drop : c.serviceLoopPrevention === 'Reject' ? act.reject : null;
  }

  private get mk(): Marks {
    return this.c.marks;
  }

  /** allCalicoMarkBits: accept | pass | scratch0 | scratch1 (not drop). */
  private allCalicoMarkBits(): number {
    const k = this.mk;
    return (k.accept | k.pass | k.scratch0 | k.scratch1) >>> 0;
  }

  private wild(prefix: string): string {
    return prefix + '+';
  }

  // ---- filter ---------------------------------------------------------------------------

  staticFilterTableChains(): FelixChain[] {
    return [...this.staticFilterForwardChains(), ...this.staticFilterInputChains(), ...this.staticFilterOutputChains()];
  }

  staticFilterInputChains(): FelixChain[] {
    const out = [this.filterInputChain(), this.filterWorkloadToHostChain()];
    if (this.c.kubeIPVSSupportEnabled) out.push(this.staticFilterInputForwardCheckChain());
    return out;
  }

  private acceptAlreadyAccepted(): FelixRule[] {
    return [{ match: [m.markSingleBitSet(this.mk.accept)], action: this.filterAllow }];
  }

  staticFilterInputForwardCheckChain(): FelixChain {
    const rules: FelixRule[] = [{ match: [m.conntrackState('RELATED,ESTABLISHED')], action: act.ret }];
    for (const split of splitPortList(this.c.kubeNodePortRanges)) {
      const ports = split.map(([a, b]) => (a === b ? `${a}` : `${a}:${b}`));
      for (const proto of ['tcp', 'udp']) {
        rules.push({ match: [m.protocol(proto), m.destPorts(ports), m.destIPSet(IPSET.thisHost)], action: act.goto(CHAIN.setEndpointMark), comment: ['To kubernetes NodePort service'] });
      }
    }
    rules.push({ match: [m.notDestIPSet(IPSET.thisHost)], action: act.jump(CHAIN.setEndpointMark), comment: ['To kubernetes service'] });
    return { name: CHAIN.forwardCheck, rules };
  }

  staticFilterOutputForwardEndpointMarkChain(): FelixChain {
    const rules: FelixRule[] = [{ match: [m.notMarkMatchesWithMask(this.mk.nonCaliEndpoint, this.mk.endpoint)], action: act.jump(CHAIN.fromEndpointMark) }];
    for (const p of this.c.workloadIfacePrefixes) rules.push({ match: [m.outInterface(this.wild(p))], action: act.jump(CHAIN.toWorkloadDispatch) });
    rules.push(
      { action: act.jump(CHAIN.toHepForward) },
      { action: act.clearMark(this.mk.endpoint) },
      { match: [m.markSingleBitSet(this.mk.accept)], action: this.filterAllow, comment: ['Policy explicitly accepted packet.'] },
    );
    return { name: CHAIN.forwardEndpointMark, rules };
  }

  private filterInputChain(): FelixChain {
    const rules: FelixRule[] = [];
    if (this.c.kubeIPVSSupportEnabled) {
      rules.push(
        { action: act.clearMark(this.mk.endpoint) },
        { action: act.jump(CHAIN.forwardCheck) },
        { match: [m.markNotClear(this.mk.endpoint)], action: act.ret },
      );
    }
    for (const p of this.c.workloadIfacePrefixes) rules.push({ match: [m.inInterface(this.wild(p))], action: act.goto(CHAIN.workloadToHost) });
    rules.push(...this.acceptAlreadyAccepted());
    rules.push(
      { action: act.clearMark(this.allCalicoMarkBits()) },
      { action: act.jump(CHAIN.fromHostEndpoint) },
      { match: [m.markSingleBitSet(this.mk.accept)], action: this.filterAllow, comment: ['Host endpoint policy accepted packet.'] },
    );
    return { name: CHAIN.filterInput, rules };
  }

  private filterWorkloadToHostChain(): FelixChain {
    return {
      name: CHAIN.workloadToHost,
      rules: [{ action: act.jump(CHAIN.fromWorkloadDispatch) }, { action: this.inputAccept, comment: ['Configured DefaultEndpointToHostAction'] }],
    };
  }

  staticFilterForwardChains(): FelixChain[] {
    const rules: FelixRule[] = [
      { action: act.clearMark((this.allCalicoMarkBits() & ~this.mk.accept) >>> 0) },
      { match: [m.markClear(this.mk.accept)], action: act.jump(CHAIN.fromHepForward) },
    ];
    for (const p of this.c.workloadIfacePrefixes) {
      rules.push({ match: [m.inInterface(this.wild(p))], action: act.jump(CHAIN.fromWorkloadDispatch) }, { match: [m.outInterface(this.wild(p))], action: act.jump(CHAIN.toWorkloadDispatch) });
    }
    rules.push({ action: act.jump(CHAIN.toHepForward) }, { action: act.jump(CHAIN.cidrBlock) });
    return [{ name: CHAIN.filterForward, rules }];
  }

  staticFilterForwardAppendRules(): FelixRule[] {
    return [
      { match: [m.markSingleBitSet(this.mk.accept)], action: this.filterAllow, comment: ['Policy explicitly accepted packet.'] },
      { action: act.setMark(this.mk.accept) },
    ];
  }

  staticFilterOutputChains(): FelixChain[] {
    const out = [this.filterOutputChain()];
    if (this.c.kubeIPVSSupportEnabled) out.push(this.staticFilterOutputForwardEndpointMarkChain());
    return out;
  }

  private filterOutputChain(): FelixChain {
    const rules: FelixRule[] = [...this.acceptAlreadyAccepted()];
    if (this.c.kubeIPVSSupportEnabled) rules.push({ match: [m.markNotClear(this.mk.endpoint)], action: act.goto(CHAIN.forwardEndpointMark) });
    for (const p of this.c.workloadIfacePrefixes) rules.push({ match: [m.outInterface(this.wild(p))], action: act.ret });
    rules.push(
      { action: act.clearMark(this.allCalicoMarkBits()) },
      { match: [m.notConntrackState('DNAT')], action: act.jump(CHAIN.toHostEndpoint) },
      { match: [m.markSingleBitSet(this.mk.accept)], action: this.filterAllow, comment: ['Host endpoint policy accepted packet.'] },
    );
    return { name: CHAIN.filterOutput, rules };
  }

  // ---- nat ------------------------------------------------------------------------------

  staticNATTableChains(): FelixChain[] {
    return [
      { name: CHAIN.natPrerouting, rules: [{ action: act.jump(CHAIN.fipDnat) }] },
      { name: CHAIN.natPostrouting, rules: [{ action: act.jump(CHAIN.fipSnat) }, { action: act.jump(CHAIN.natOutgoing) }] },
      { name: CHAIN.natOutput, rules: [{ action: act.jump(CHAIN.fipDnat) }] },
    ];
  }

  /** NATOutgoingChain: MASQUERADE from natOutgoing pools to anywhere outside every pool. */
  natOutgoingChain(active: boolean): FelixChain {
    const rules: FelixRule[] = active ? [{ match: [m.sourceIPSet(IPSET.masqPools), m.notDestIPSet(IPSET.allPools)], action: act.masq(this.c.randomFully) }] : [];
    return { name: CHAIN.natOutgoing, rules };
  }

  /** DNATsToIptablesChains / SNATsToIptablesChains with no floating IPs. */
  floatingIPChains(): FelixChain[] {
    return [
      { name: CHAIN.fipDnat, rules: [] },
      { name: CHAIN.fipSnat, rules: [] },
    ];
  }

  blockedCIDRsChain(cidrs: readonly string[]): FelixChain {
    const rules: FelixRule[] = this.blockCIDR ? [...cidrs].sort().map((c) => ({ match: [m.destNet(c)], action: this.blockCIDR! })) : [];
    return { name: CHAIN.cidrBlock, rules };
  }

  // ---- mangle ---------------------------------------------------------------------------

  staticMangleTableChains(): FelixChain[] {
    return [this.staticManglePreroutingChain(), this.staticManglePostroutingChain()];
  }

  private staticManglePreroutingChain(): FelixChain {
    return {
      name: CHAIN.manglePrerouting,
      rules: [
        { match: [m.conntrackState('RELATED,ESTABLISHED')], action: this.mangleAllow },
        { match: [m.markSingleBitSet(this.mk.accept)], action: this.mangleAllow },
        { action: act.jump(CHAIN.fromHostEndpoint) },
        { match: [m.markSingleBitSet(this.mk.accept)], action: this.mangleAllow, comment: ['Host endpoint policy accepted packet.'] },
      ],
    };
  }

  private staticManglePostroutingChain(): FelixChain {
    const rules: FelixRule[] = [
      { match: [m.sourceIPSet(IPSET.dscp), m.notDestIPSet(IPSET.allPools), m.notDestIPSet(IPSET.thisHost)], action: act.jump(CHAIN.egressDSCP), comment: ['set dscp for traffic leaving cluster.'] },
      { match: [m.markSingleBitSet(this.mk.accept)], action: act.ret },
    ];
    if (this.c.kubeIPVSSupportEnabled) rules.push({ match: [m.markNotClear(this.mk.endpoint)], action: act.ret });
    rules.push(
      { action: act.clearMark(this.allCalicoMarkBits()) },
      { match: [m.conntrackState('DNAT')], action: act.jump(CHAIN.toHostEndpoint) },
      { match: [m.markSingleBitSet(this.mk.accept)], action: act.ret, comment: ['Host endpoint policy accepted packet.'] },
    );
    return { name: CHAIN.manglePostrouting, rules };
  }

  egressDSCPChain(): FelixChain {
    return { name: CHAIN.egressDSCP, rules: [] };
  }

  // ---- raw ------------------------------------------------------------------------------

  staticRawTableChains(): FelixChain[] {
    return [this.staticRawPreroutingChain(), this.staticRawOutputChain()];
  }

  private staticRawPreroutingChain(): FelixChain {
    const s0 = this.mk.scratch0;
    const rules: FelixRule[] = [{ action: act.clearMark(this.allCalicoMarkBits()) }];
    for (const p of this.c.workloadIfacePrefixes) rules.push({ match: [m.inInterface(this.wild(p))], action: act.setMark(s0) });
    rules.push(
      { match: [m.markMatchesWithMask(s0, s0)], action: act.jump(CHAIN.rpfSkip) },
      // RPFilter: strict reverse-path check on packets from workloads (anti-spoofing).
      { match: [m.markMatchesWithMask(s0, s0), m.rpfCheckFailed()], action: this.deny },
      { match: [m.markClear(s0)], action: act.jump(CHAIN.fromHostEndpoint) },
      { match: [m.markSingleBitSet(this.mk.accept)], action: this.allow },
    );
    return { name: CHAIN.rawPrerouting, rules };
  }

  private staticRawOutputChain(): FelixChain {
    return {
      name: CHAIN.rawOutput,
      rules: [
        { action: act.clearMark(this.allCalicoMarkBits()) },
        { action: act.jump(CHAIN.toHostEndpoint) },
        { match: [m.markSingleBitSet(this.mk.accept)], action: this.allow },
      ],
    };
  }

  /** endpoint_mgr updateRPFSkipChain with no allowedSourcePrefixes annotations. */
  rpfSkipChain(): FelixChain {
    return { name: CHAIN.rpfSkip, rules: [] };
  }

  // ---- dispatch -------------------------------------------------------------------------

  workloadDispatchChains(names: readonly string[]): FelixChain[] {
    const endRules: FelixRule[] = [{ action: this.deny, comment: ['Unknown interface'] }];
    return this.interfaceNameDispatchChains(names, PFX.fw, PFX.tw, CHAIN.fromWorkloadDispatch, CHAIN.toWorkloadDispatch, endRules, endRules);
  }

  /** hostDispatchChains with no host endpoints and no all-interfaces HEP: empty root chains. */
  hostDispatchChains(directions: 'from' | 'to' | 'to+from', applyOnForward: boolean): FelixChain[] {
    const chains: FelixChain[] = [];
    if (directions !== 'to') chains.push({ name: CHAIN.fromHostEndpoint, rules: [] });
    if (directions !== 'from') chains.push({ name: CHAIN.toHostEndpoint, rules: [] });
    if (directions === 'to+from' && applyOnForward) chains.push({ name: CHAIN.fromHepForward, rules: [] }, { name: CHAIN.toHepForward, rules: [] });
    return chains;
  }

  private interfaceNameDispatchChains(names: readonly string[], fromPfx: string, toPfx: string, fromChain: string, toChain: string, fromEnd: FelixRule[], toEnd: FelixRule[]): FelixChain[] {
    const tree = prefixTree(names);
    const out: FelixChain[] = [];
    const from = this.buildDispatchChainTree(fromChain, tree, (n) => m.inInterface(n), (n) => act.goto(endpointChainName(fromPfx, n)), fromEnd, '');
    out.push(...from.children, from.root);
    const to = this.buildDispatchChainTree(toChain, tree, (n) => m.outInterface(n), (n) => act.goto(endpointChainName(toPfx, n)), toEnd, '');
    out.push(...to.children, to.root);
    return out;
  }

  /** buildSingleDispatchChainTree: one rule per name, or a goto to a child chain per next character. */
  private buildDispatchChainTree(
    chainName: string,
    tree: PrefixTree,
    match: (n: string) => string,
    action: (n: string) => Action,
    endRules: FelixRule[],
    infix: string,
  ): { children: FelixChain[]; root: FelixChain; rootRules: FelixRule[] } {
    const children: FelixChain[] = [];
    const rootRules: FelixRule[] = [];
    for (const prefix of tree.prefixes) {
      const names = tree.byPrefix.get(prefix)!;
      if (names.length > 1) {
        const child = `${chainName}${infix}-${prefix.slice(tree.common.length)}`;
        rootRules.push({ match: [match(prefix + '+')], action: act.goto(child) });
        children.push({ name: child, rules: [...names.map((n) => ({ match: [match(n)], action: action(n) })), ...endRules] });
      } else {
        rootRules.push({ match: [match(names[0]!)], action: action(names[0]!) });
      }
    }
    rootRules.push(...endRules);
    return { children, root: { name: chainName, rules: rootRules }, rootRules };
  }

  /** endpointMarkDispatchChains for workload endpoints only (no host endpoints). */
  endpointMarkDispatchChains(marks: EndpointMarkMapper, wlNames: readonly string[]): FelixChain[] {
    const chains: FelixChain[] = [];
    const rootSet: FelixRule[] = [];
    if (wlNames.length) {
      const t = this.buildDispatchChainTree(CHAIN.setEndpointMark, prefixTree(wlNames), (n) => m.inInterface(n), (n) => act.goto(endpointChainName(PFX.sm, n)), [], '-wep');
      chains.push(...t.children);
      rootSet.push(...t.rootRules);
    }
    for (const p of this.c.workloadIfacePrefixes) rootSet.push({ match: [m.inInterface(this.wild(p))], action: this.deny, comment: ['Unknown endpoint'] });
    rootSet.push({ action: act.setMaskedMark(this.mk.nonCaliEndpoint, marks.mask), comment: ['Non-Cali endpoint mark'] });
    const rootFrom: FelixRule[] = [];
    for (const n of [...new Set(wlNames)].sort()) {
      rootFrom.push({ match: [m.markMatchesWithMask(marks.get(n), marks.mask)], action: act.goto(endpointChainName(PFX.fw, n)) });
    }
    rootFrom.push({ action: this.deny, comment: ['Unknown interface'] });
    chains.push({ name: CHAIN.setEndpointMark, rules: rootSet }, { name: CHAIN.fromEndpointMark, rules: rootFrom });
    return chains;
  }

  // ---- endpoints ------------------------------------------------------------------------

  workloadEndpointToIptablesChains(ep: WorkloadEndpoint, marks: EndpointMarkMapper | null): FelixChain[] {
    const out = [
      this.endpointChain(ep, PFX.pri, PFX.tw, true, true),
      this.endpointChain(ep, PFX.pro, PFX.fw, this.c.allowVXLANPacketsFromWorkloads, this.c.allowIPIPPacketsFromWorkloads),
    ];
    if (this.c.kubeIPVSSupportEnabled && marks) {
      out.push({ name: endpointChainName(PFX.sm, ep.name), rules: [{ action: act.setMaskedMark(marks.get(ep.name), marks.mask) }] });
    }
    return out;
  }

  /** endpointIptablesChain for a normal (filter) workload chain with no tiers (no policies). */
  private endpointChain(ep: WorkloadEndpoint, profilePfx: 'cali-pri-' | 'cali-pro-', endpointPfx: string, allowVXLAN: boolean, allowIPIP: boolean): FelixChain {
    const rules: FelixRule[] = [];
    // appendConntrackRules: the workload chains' allow action is Allow() itself, so no mark.
    if (this.filterAllow !== this.allow) rules.push({ match: [m.conntrackState('RELATED,ESTABLISHED')], action: act.setMark(this.mk.accept) });
    rules.push({ match: [m.conntrackState('RELATED,ESTABLISHED')], action: this.filterAllow });
    if (!this.c.disableConntrackInvalid) rules.push({ match: [m.conntrackState('INVALID')], action: this.deny });
    rules.push({ action: act.clearMark((this.mk.accept | this.mk.pass) >>> 0) });
    // fmt.Sprintf("%s ...", IptablesFilterDenyAction()) prints the action's String(): Drop / Reject.
    const denyWord = this.c.filterDenyAction === 'REJECT' ? 'Reject' : 'Drop';
    if (!allowVXLAN) rules.push({ match: [m.protocolNum(17), m.destPorts([this.c.vxlanPort])], action: this.deny, comment: [`${denyWord} VXLAN encapped packets originating in workloads`] });
    if (!allowIPIP) rules.push({ match: [m.protocolNum(4)], action: this.deny, comment: [`${denyWord} IPinIP encapped packets originating in workloads`] });
    for (const id of ep.profileIds) {
      rules.push({ action: act.jump(profileChainName(profilePfx, id)) }, { match: [m.markSingleBitSet(this.mk.accept)], action: act.ret, comment: ['Return if profile accepted'] });
    }
    rules.push({ action: this.deny, comment: [`${denyWord} if no profiles matched`] });
    return { name: endpointChainName(endpointPfx, ep.name), rules };
  }

  // ---- profiles -------------------------------------------------------------------------

  profileToIptablesChains(p: Profile): [FelixChain, FelixChain] {
    return [
      { name: profileChainName(PFX.pri, p.id), rules: this.protoRulesToIptablesRules(p.inbound, `Profile ${p.id} ingress`) },
      { name: profileChainName(PFX.pro, p.id), rules: this.protoRulesToIptablesRules(p.outbound, `Profile ${p.id} egress`) },
    ];
  }

  /** ProtoRulesToIptablesRules: each rule, trailing RETURNs stripped, the chain comment on the first. */
  private protoRulesToIptablesRules(prules: readonly ProfileRule[], chainComment: string): FelixRule[] {
    const rules: FelixRule[] = [];
    for (const r of prules) rules.push(...this.combineMatchAndActions(r));
    while (rules.length && rules[rules.length - 1]!.action === act.ret) rules.pop();
    if (!rules.length) rules.push({});
    rules[0] = { ...rules[0]!, comment: [...(rules[0]!.comment ?? []), chainComment] };
    return rules;
  }

  /** CombineMatchAndActionsForProtoRule for a rule with no match criteria (flow logs off). */
  private combineMatchAndActions(r: ProfileRule): FelixRule[] {
    const mark = r.action === 'allow' ? this.mk.accept : r.action === 'pass' ? this.mk.pass : this.mk.drop;
    const action = r.action === 'deny' ? this.deny : act.ret;
    return [{ action: act.setMark(mark) }, { match: [m.markSingleBitSet(mark)], action }];
  }
}

/** SplitPortList: at most 15 multiport entries per rule, a range counting as two. */
export function splitPortList(ranges: readonly [number, number][]): [number, number][][] {
  const out: [number, number][][] = [];
  let cur: [number, number][] = [];
  let n = 0;
  for (const r of ranges) {
    const w = r[0] === r[1] ? 1 : 2;
    if (n + w > 15) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(r);
    n += w;
  }
  if (cur.length) out.push(cur);
  return out;
}

interface PrefixTree {
  common: string;
  prefixes: string[];
  byPrefix: Map<string, string[]>;
}

/** sortAndDivideEndpointNamesToPrefixTree: sorted names binned by the character after their common prefix. */
function prefixTree(input: readonly string[]): PrefixTree {
  const names = [...input].sort();
  let common = names[0] ?? '';
  for (const n of names) {
    let i = 0;
    while (i < common.length && i < n.length && common[i] === n[i]) i++;
    common = common.slice(0, i);
  }
  const prefixes: string[] = [];
  const byPrefix = new Map<string, string[]>();
  let last = '';
  for (const n of names) {
    if (n === last) continue;
    const p = n.length > common.length ? n.slice(0, common.length + 1) : common;
    if (!byPrefix.has(p)) {
      prefixes.push(p);
      byPrefix.set(p, []);
    }
    byPrefix.get(p)!.push(n);
    last = n;
  }
  return { common, prefixes, byPrefix };
}
