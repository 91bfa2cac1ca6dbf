/**
 * kube-proxy in iptables mode: the iptables-restore payload pkg/proxy/iptables/proxier.go
 * (syncProxyRules) writes, full and partial, with the jump rules it ensures from the
 * built-in chains on full syncs. Facts mirrored from upstream (recent master):
 *  - filter chain lines first, then nat; every sync rewrites the top-level chains;
 *  - per-service SVC/SVL/EXT/FW/SEP chains only for changed services on partial syncs;
 *  - stale service chains get a chain line and "-X" (at most once per syncPeriod in large
 *    cluster mode, > 1000 endpoints, where SEP and SVC->SEP comments are also dropped);
 *  - a failed restore forces the next sync to be full.
 * Service-port iteration follows Go map order upstream (random); here it is sorted by
 * servicePortName, which is one of the orders a real node can print.
 */
import type { EndpointSlice, Service } from '../api/types.js';
import type { IptablesBackend, TableName } from './backend.js';
import { isServiceChainName } from './chain-names.js';
import { masqueradeMark as markString, type KubeProxyConfig, type SysctlSetting, effectiveNodePortAddresses, kubeProxyConfig, parseDurationNs } from './config.js';
import type { EndpointInfo } from './endpoints.js';
import { ProxierInformers } from './informers.js';
import { cidrString, contains, ipString, isLoopback, parseCidrSloppy, parseIpv4Sloppy } from './ip.js';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './service-port.js';
import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import { categorizeEndpoints } from './topology.js';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';
export const KUBE_FIREWALL = 'KUBE-FIREWALL';

export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;
/** proxyutil.FullSyncPeriod */
export const FULL_SYNC_PERIOD_NS = 3600e9;

export const NFACCT_CT_STATE_INVALID_DROPPED = 'ct_state_invalid_dropped_pkts';
export const NFACCT_LOCALHOST_NODEPORTS_ACCEPTED = 'localhost_nps_accepted_pkts';

/** A rule kube-proxy ensures in a built-in chain (iptablesJumpChains). */
export interface JumpChain {
  table: TableName;
  /** kube-proxy's chain (the jump target) */
  dstChain: string;
  /** the built-in chain holding the jump */
  srcChain: string;
  comment: string;
  extraArgs: readonly string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'] as const;
export const IPTABLES_JUMP_CHAINS: readonly JumpChain[] = [
  { table: 'filter', dstChain: KUBE_EXTERNAL_SERVICES, srcChain: 'INPUT', comment: 'kubernetes externally-visible service portals', extraArgs: NEW },
  { table: 'filter', dstChain: KUBE_EXTERNAL_SERVICES, srcChain: 'FORWARD', comment: 'kubernetes externally-visible service portals', extraArgs: NEW },
  { table: 'filter', dstChain: KUBE_NODEPORTS, srcChain: 'INPUT', comment: 'kubernetes health check service ports', extraArgs: [] },
  { table: 'filter', dstChain: KUBE_SERVICES, srcChain: 'FORWARD', comment: 'kubernetes service portals', extraArgs: NEW },
  { table: 'filter', dstChain: KUBE_SERVICES, srcChain: 'OUTPUT', comment: 'kubernetes service portals', extraArgs: NEW },
  { table: 'filter', dstChain: KUBE_FORWARD, srcChain: 'FORWARD', comment: 'kubernetes forwarding rules', extraArgs: [] },
  { table: 'filter', dstChain: KUBE_PROXY_FIREWALL, srcChain: 'INPUT', comment: 'kubernetes load balancer firewall', extraArgs: NEW },
  { table: 'filter', dstChain: KUBE_PROXY_FIREWALL, srcChain: 'OUTPUT', comment: 'kubernetes load balancer firewall', extraArgs: NEW },
  { table: 'filter', dstChain: KUBE_PROXY_FIREWALL, srcChain: 'FORWARD', comment: 'kubernetes load balancer firewall', extraArgs: NEW },
  { table: 'nat', dstChain: KUBE_SERVICES, srcChain: 'OUTPUT', comment: 'kubernetes service portals', extraArgs: [] },
  { table: 'nat', dstChain: KUBE_SERVICES, srcChain: 'PREROUTING', comment: 'kubernetes service portals', extraArgs: [] },
  { table: 'nat', dstChain: KUBE_POSTROUTING, srcChain: 'POSTROUTING', comment: 'kubernetes postrouting rules', extraArgs: [] },
];
/** Duplicates of kubelet's chains (iptablesKubeletJumpChains); no comment. */
export const IPTABLES_KUBELET_JUMP_CHAINS: readonly JumpChain[] = [
  { table: 'filter', dstChain: KUBE_FIREWALL, srcChain: 'INPUT', comment: '', extraArgs: [] },
  { table: 'filter', dstChain: KUBE_FIREWALL, srcChain: 'OUTPUT', comment: '', extraArgs: [] },
];

/** The argument vector of a jump rule, as EnsureRule receives it (comment unquoted). */
export function jumpRuleArgs(j: JumpChain): string[] {
  const args = [...j.extraArgs];
  if (j.comment !== '') args.push('-m', 'comment', '--comment', j.comment);
  args.push('-j', j.dstChain);
  return args;
}

/** Quotes a word for restore text when it holds a space (as iptables-save would). */
function quoteWord(w: string): string {
  return /\s/.test(w) ? `"${w}"` : w;
}

/**
 * The jump rules in iptables-restore form: "-I CHAIN 1 ..." lines, in the order kube-proxy
 * ensures them, so loading the text leaves the last-ensured rule first, as `iptables -I`
 * does. For a model that loads them once, on a fresh node, before the first payload: its
 * chain lines create (and with --noflush, flush) the target chains, and "-I" does not check
 * for an existing copy the way kube-proxy's `iptables -C` does. Models that can, should use
 * IptablesBackend.ensureChain/ensureRule instead (the proxier calls them on full syncs).
 */
export function jumpRulesRestoreText(jumps: readonly JumpChain[] = [...IPTABLES_JUMP_CHAINS, ...IPTABLES_KUBELET_JUMP_CHAINS]): string {
  let s = '';
  for (const table of ['filter', 'nat'] as const) {
    const js = jumps.filter((j) => j.table === table);
    if (js.length === 0) continue;
    s += `*${table}\n`;
    for (const c of [...new Set(js.map((j) => j.dstChain))]) s += `:${c} - [0:0]\n`;
    for (const j of js) s += `-I ${j.srcChain} 1 ${jumpRuleArgs(j).map(quoteWord).join(' ')}\n`;
    s += 'COMMIT\n';
  }
  return s;
}

/** proxyutil.LocalTrafficDetector: how "from a local pod" is matched. */
export interface LocalDetector {
  ifLocal: string[];
  ifNotLocal: string[];
}

export function localDetectorFor(config: KubeProxyConfig, nodePodCIDR?: string): LocalDetector | null {
  switch (config.detectLocalMode) {
    case 'ClusterCIDR': {
      const v4 = config.clusterCIDR.split(',').map((s) => s.trim()).find((s) => parseCidrSloppy(s) !== undefined);
      return v4 === undefined ? null : { ifLocal: ['-s', v4], ifNotLocal: ['!', '-s', v4] };
    }
    case 'NodeCIDR':
      return nodePodCIDR === undefined || nodePodCIDR === '' ? null : { ifLocal: ['-s', nodePodCIDR], ifNotLocal: ['!', '-s', nodePodCIDR] };
    case 'BridgeInterface': {
      const b = config.detectLocal.bridgeInterface;
      return b === '' ? null : { ifLocal: ['-i', b], ifNotLocal: ['!', '-i', b] };
    }
    case 'InterfaceNamePrefix': {
      const p = config.detectLocal.interfaceNamePrefix;
      return p === '' ? null : { ifLocal: ['-i', p + '+'], ifNotLocal: ['!', '-i', p + '+'] };
    }
  }
}

/** proxyutil.NodePortAddresses for IPv4. */
export class NodePortAddresses {
  readonly cidrs: { text: string; cidr: NonNullable<ReturnType<typeof parseCidrSloppy>> }[] = [];
  readonly matchAll: boolean;
  readonly containsIPv4Loopback: boolean;

  constructor(cidrStrings: readonly string[]) {
    let strs = cidrStrings.filter((s) => parseCidrSloppy(s) !== undefined);
    if (strs.length === 0) strs = ['0.0.0.0/0'];
    let matchAll = false;
    let loop = false;
    for (const s of strs) {
      const c = parseCidrSloppy(s)!;
      if (isLoopback(c.addr) || contains(c, parseIpv4Sloppy('127.0.0.0')!)) loop = true;
      if (c.len === 0) {
        this.cidrs.length = 0;
        this.cidrs.push({ text: s, cidr: c });
        matchAll = true;
        break;
      }
      this.cidrs.push({ text: s, cidr: c });
    }
    this.matchAll = matchAll;
    this.containsIPv4Loopback = loop;
  }

  /** GetNodeIPs: the node's addresses inside any of the CIDRs (deduplicated). */
  nodeIPs(interfaceAddrs: readonly string[]): string[] {
    const out = new Set<string>();
    for (const { cidr } of this.cidrs) {
      for (const t of interfaceAddrs) {
        const a = parseIpv4Sloppy(t.split('/')[0]!);
        if (a !== undefined && contains(cidr, a)) out.add(ipString(a));
      }
    }
    return [...out];
  }
}

/** An argument list joined into a restore line (proxyutil.LineBuffer.Write). */
class LineBuffer {
  private readonly lines: string[] = [];
  write(...parts: (string | readonly string[])[]): void {
    // Words joined by one space (strings.Join); one join into a flat string per line.
    let flat = true;
    for (let i = 0; i < parts.length; i++) if (typeof parts[i] !== 'string') flat = false;
    if (flat) {
      this.lines.push(parts.join(' '));
      return;
    }
    const words: string[] = [];
    for (const p of parts) {
      if (typeof p === 'string') words.push(p);
      else for (const w of p) words.push(w);
    }
    this.lines.push(words.join(' '));
  }
  get length(): number {
    return this.lines.length;
  }
  text(): string {
    return this.lines.length === 0 ? '' : this.lines.join('\n') + '\n';
  }
}

const probabilities = new Map<number, string>();

/** computeProbabilityUncached, remembered per endpoint count (one per endpoint per sync otherwise). */
function computeProbability(n: number): string {
  let p = probabilities.get(n);
  if (p === undefined) probabilities.set(n, (p = computeProbabilityUncached(n)));
  return p;
}

function computeProbabilityUncached(n: number): string {
  // Go fmt "%0.10f" rounds the exact binary value half-to-even; toFixed rounds ties up.
  // A tie is only possible when 1/n is a short dyadic fraction (n = 2048).
  const x = 1e10 / n;
  if (Number.isInteger(x * 2) && !Number.isInteger(x)) {
    const lo = Math.floor(x);
    const q = lo % 2 === 0 ? lo : lo + 1;
    return (q / 1e10).toFixed(10);
  }
  return (1 / n).toFixed(10);
}
export { computeProbability };

export interface IptablesProxierOptions {
  nodeName: string;
  /** The node's primary IP (used for loadBalancerSourceRanges that cover the node). */
  nodeIP: string;
  config?: KubeProxyConfig;
  backend: IptablesBackend;
  /** Simulated clock, nanoseconds. */
  now?: () => number;
  /** Overrides the mark string (upstream tests inject "0x4000"). */
  masqueradeMark?: string;
  /** Overrides the detector derived from config (null = none). */
  localDetector?: LocalDetector | null;
  nodePodCIDR?: string;
  nodeLabels?: Record<string, string>;
  /** Addresses on the node's interfaces (for nodePortAddresses), "ip" or "ip/len". */
  interfaceAddrs?: readonly string[];
  /** Which nfacct counters exist (nfacct.Ensure succeeded); both by default. */
  nfacctCounters?: { ctStateInvalidDropped: boolean; localhostNodePortsAccepted: boolean };
  /** sysctl net/netfilter/nf_conntrack_tcp_be_liberal != 0 */
  conntrackTCPLiberal?: boolean;
}

export interface IptablesSyncResult {
  /** The payload given to iptables-restore --noflush --counters (empty when not initialized). */
  restoreText: string;
  fullSync: boolean;
  success: boolean;
  error?: Error;
  /** Jump rules ensured before the restore (full syncs only), in order. */
  ensuredJumps: JumpChain[];
  metrics: {
    filterRules: number;
    natRulesTotal: number;
    natRulesLastSync: number;
    noLocalEndpointsInternal: number;
    noLocalEndpointsExternal: number;
    largeClusterMode: boolean;
  };
}

export class IptablesProxier extends ProxierInformers {
  readonly config: KubeProxyConfig;
  readonly masqueradeMark: string;
  readonly localDetector: LocalDetector | null;
  readonly nodePortAddresses: NodePortAddresses;
  readonly localhostNodePorts: boolean;
  /** Sysctls written when the proxier was created (route_localnet for localhost NodePorts). */
  readonly sysctls: SysctlSetting[] = [];
  needFullSync = true;
  private lastFullSync = Number.NEGATIVE_INFINITY;
  private lastIPTablesCleanup = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;
  private readonly syncPeriodNs: number;
  private readonly nfacct: { ctStateInvalidDropped: boolean; localhostNodePortsAccepted: boolean };
  private readonly conntrackTCPLiberal: boolean;
  private readonly nodeIPAddr: Ipv4Addr | undefined;

  constructor(readonly opts: IptablesProxierOptions) {
    super(opts.nodeName);
    this.config = opts.config ?? kubeProxyConfig();
    this.masqueradeMark = opts.masqueradeMark ?? markString(this.config.masqueradeBit);
    this.localDetector = opts.localDetector !== undefined ? opts.localDetector : localDetectorFor(this.config, opts.nodePodCIDR);
    this.nodePortAddresses = new NodePortAddresses(effectiveNodePortAddresses(this.config, opts.nodeIP));
    // NewProxier: localhost NodePorts only if nodePortAddresses can include 127.0.0.0/8.
    this.localhostNodePorts = this.config.localhostNodePorts && this.nodePortAddresses.containsIPv4Loopback;
    if (this.localhostNodePorts) this.sysctls.push({ name: 'net/ipv4/conf/all/route_localnet', value: 1 });
    this.now = opts.now ?? (() => 0);
    this.syncPeriodNs = parseDurationNs(this.config.syncPeriod, 'syncPeriod');
    this.nfacct = opts.nfacctCounters ?? { ctStateInvalidDropped: true, localhostNodePortsAccepted: true };
    this.conntrackTCPLiberal = opts.conntrackTCPLiberal ?? this.config.conntrack.tcpBeLiberal;
    this.nodeIPAddr = parseIpv4Sloppy(opts.nodeIP);
  }

  /** ipt.Monitor creates the canary chain in these tables at startup (iptables -N). */
  canaryChains(): { table: TableName; chain: string }[] {
    return (['mangle', 'nat', 'filter'] as const).map((table) => ({ table, chain: KUBE_PROXY_CANARY }));
  }

  /** The canary chains as iptables-restore --noflush input (an empty chain per table). */
  canaryRestoreText(): string {
    return this.canaryChains()
      .map((c) => `*${c.table}\n:${c.chain} - [0:0]\nCOMMIT\n`)
      .join('');
  }

  /** OnTopologyChange: node labels changed; forces a full sync. */
  onTopologyChange(labels: Record<string, string>): void {
    this.opts.nodeLabels = labels;
    this.needFullSync = true;
  }
  /** forceSyncProxyRules (canary lost): the next sync is full. */
  forceFullSync(): IptablesSyncResult {
    this.needFullSync = true;
    return this.syncProxyRules();
  }

  private probability(n: number): string {
    return computeProbability(n);
  }

  syncProxyRules(): IptablesSyncResult {
    const now = this.now();
    const doFullSync = this.needFullSync || now - this.lastFullSync > FULL_SYNC_PERIOD_NS;
    const backend = this.opts.backend;
    const mark = this.masqueradeMark;
    const serviceUpdate = this.services.checkout();
    const endpointUpdate = this.endpoints.checkout();
    const ensuredJumps: JumpChain[] = [];

    const fail = (error: Error, text: string, metrics: IptablesSyncResult['metrics']): IptablesSyncResult => {
      // The change trackers are already flushed, so only a full sync can catch up.
      this.needFullSync = true;
      return { restoreText: text, fullSync: doFullSync, success: false, error, ensuredJumps, metrics };
    };

    if (doFullSync) {
      for (const j of [...IPTABLES_JUMP_CHAINS, ...IPTABLES_KUBELET_JUMP_CHAINS]) {
        try {
          backend.ensureChain(j.table, j.dstChain);
          backend.ensureRule('prepend', j.table, j.srcChain, jumpRuleArgs(j));
        } catch (e) {
          return fail(e as Error, '', emptyMetrics());
        }
        ensuredJumps.push(j);
      }
    }

    const filterChains = new LineBuffer();
    const filterRules = new LineBuffer();
    const natChains = new LineBuffer();
    const natRules = new LineBuffer();
    const skippedNatChains = new LineBuffer();
    const skippedNatRules = new LineBuffer();

    for (const c of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) {
      filterChains.write(`:${c} - [0:0]`);
    }
    for (const c of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) natChains.write(`:${c} - [0:0]`);

    natRules.write('-A', KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
    // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
    natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', mark);
    const masq = ['-A', KUBE_POSTROUTING, '-m', 'comment', '--comment', '"kubernetes service traffic requiring SNAT"', '-j', 'MASQUERADE'];
    if (backend.hasRandomFully) masq.push('--random-fully');
    natRules.write(masq);
    natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', mark);

    if (this.localhostNodePorts) {
      // CVE-2020-8558 mitigation for route_localnet=1 (kubelet writes the same rule).
      filterChains.write(`:${KUBE_FIREWALL} - [0:0]`);
      filterRules.write(
        '-A', KUBE_FIREWALL, '-m', 'comment', '--comment', '"block incoming localnet connections"',
        '-d', '127.0.0.0/8', '!', '-s', '127.0.0.0/8', '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP',
      );
    }

    const activeNATChains = new Set<string>();
    const svcKeys = [...this.services.svcPortMap.keys()].sort();
    let totalEndpoints = 0;
    for (const k of svcKeys) totalEndpoints += this.endpoints.endpointsMap.get(k)?.length ?? 0;
    const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    const withComment = (args: string[], comment: string): string[] =>
      largeClusterMode ? args : [...args, '-m', 'comment', '--comment', comment];

    let noLocalInternal = 0;
    let noLocalExternal = 0;

    for (const key of svcKeys) {
      const svc = this.services.svcPortMap.get(key)!;
      const protocol = svc.protocol.toLowerCase();
      const name = svc.nameString;
      const allEndpoints = this.endpoints.endpointsMap.get(key) ?? [];
      const cat = categorizeEndpoints(allEndpoints, svc, {
        nodeName: this.opts.nodeName,
        ...(this.opts.nodeLabels !== undefined ? { nodeLabels: this.opts.nodeLabels } : {}),
      });
      const hasEndpoints = cat.hasAnyEndpoints;
      const clusterPolicyChain = svc.clusterPolicyChainName;
      const usesClusterPolicyChain = cat.clusterEndpoints.length > 0 && usesClusterEndpoints(svc);
      const localPolicyChain = svc.localPolicyChainName;
      const usesLocalPolicyChain = cat.localEndpoints.length > 0 && usesLocalEndpoints(svc);

      let internalPolicyChain = clusterPolicyChain;
      let hasInternalEndpoints = hasEndpoints;
      if (svc.internalPolicyLocal) {
        internalPolicyChain = localPolicyChain;
        if (cat.localEndpoints.length === 0) hasInternalEndpoints = false;
      }
      const internalTrafficChain = internalPolicyChain;
      let externalPolicyChain = clusterPolicyChain;
      let hasExternalEndpoints = hasEndpoints;
      if (svc.externalPolicyLocal) {
        externalPolicyChain = localPolicyChain;
        if (cat.localEndpoints.length === 0) hasExternalEndpoints = false;
      }
      const externalTrafficChain = svc.externalChainName;
      // Based on hasEndpoints, not hasExternalEndpoints: the short-circuit rules for local
      // traffic are needed even when no endpoint serves external traffic.
      const usesExternalTrafficChain = hasEndpoints && externallyAccessible(svc);
      let loadBalancerTrafficChain = externalTrafficChain;
      const fwChain = svc.firewallChainName;
      const usesFWChain = hasEndpoints && svc.loadBalancerVIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
      if (usesFWChain) loadBalancerTrafficChain = fwChain;

      let internalFilterTarget = '';
      let internalFilterComment = '';
      let externalFilterTarget = '';
      let externalFilterComment = '';
      if (!hasEndpoints) {
        internalFilterTarget = 'REJECT';
        internalFilterComment = `"${name} has no endpoints"`;
        externalFilterTarget = 'REJECT';
        externalFilterComment = internalFilterComment;
      } else {
        if (!hasInternalEndpoints) {
          internalFilterTarget = 'DROP';
          internalFilterComment = `"${name} has no local endpoints"`;
          noLocalInternal++;
        }
        if (!hasExternalEndpoints) {
          externalFilterTarget = 'DROP';
          externalFilterComment = `"${name} has no local endpoints"`;
          noLocalExternal++;
        }
      }

      const port = String(svc.port);
      if (hasInternalEndpoints) {
        natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${name} cluster IP"`,
          '-m', protocol, '-p', protocol, '-d', svc.clusterIP, '--dport', port, '-j', internalTrafficChain);
      } else {
        filterRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', internalFilterComment,
          '-m', protocol, '-p', protocol, '-d', svc.clusterIP, '--dport', port, '-j', internalFilterTarget);
      }

      for (const eip of svc.externalIPs) {
        if (hasEndpoints) {
          natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${name} external IP"`,
            '-m', protocol, '-p', protocol, '-d', eip, '--dport', port, '-j', externalTrafficChain);
        }
        if (!hasExternalEndpoints) {
          filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment,
            '-m', protocol, '-p', protocol, '-d', eip, '--dport', port, '-j', externalFilterTarget);
        }
      }

      for (const lbip of svc.loadBalancerVIPs) {
        if (hasEndpoints) {
          natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${name} loadbalancer IP"`,
            '-m', protocol, '-p', protocol, '-d', lbip, '--dport', port, '-j', loadBalancerTrafficChain);
        }
        if (usesFWChain) {
          filterRules.write('-A', KUBE_PROXY_FIREWALL, '-m', 'comment', '--comment', `"${name} traffic not accepted by ${fwChain}"`,
            '-m', protocol, '-p', protocol, '-d', lbip, '--dport', port, '-j', 'DROP');
        }
      }
      if (!hasExternalEndpoints) {
        for (const lbip of svc.loadBalancerVIPs) {
          filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment,
            '-m', protocol, '-p', protocol, '-d', lbip, '--dport', port, '-j', externalFilterTarget);
        }
      }

      if (svc.nodePort !== 0) {
        const np = String(svc.nodePort);
        if (hasEndpoints) {
          // NodePorts are not subject to loadBalancerSourceRanges.
          if (this.localhostNodePorts && this.nfacct.localhostNodePortsAccepted) {
            natRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', name, '-m', protocol, '-p', protocol,
              '-d', '127.0.0.0/8', '--dport', np, '-m', 'nfacct', '--nfacct-name', NFACCT_LOCALHOST_NODEPORTS_ACCEPTED,
              '-j', externalTrafficChain);
          }
          natRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', name, '-m', protocol, '-p', protocol,
            '--dport', np, '-j', externalTrafficChain);
        }
        if (!hasExternalEndpoints) {
          filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment,
            '-m', 'addrtype', '--dst-type', 'LOCAL', '-m', protocol, '-p', protocol, '--dport', np, '-j', externalFilterTarget);
        }
      }

      if (svc.healthCheckNodePort !== 0) {
        // Accepted whether or not this node has local endpoints.
        filterRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', `"${name} health check node port"`,
          '-m', 'tcp', '-p', 'tcp', '--dport', String(svc.healthCheckNodePort), '-j', 'ACCEPT');
      }

      // Unchanged services keep their chains on a partial sync: compute and discard.
      let nc = natChains;
      let nr = natRules;
      if (!doFullSync && !serviceUpdate.updatedServices.has(svc.namespacedName) && !endpointUpdate.updatedServices.has(svc.namespacedName)) {
        nc = skippedNatChains;
        nr = skippedNatRules;
      }

      if (hasInternalEndpoints) {
        const args = ['-m', 'comment', '--comment', `"${name} cluster IP"`, '-m', protocol, '-p', protocol, '-d', svc.clusterIP, '--dport', port];
        if (this.config.masqueradeAll) nr.write('-A', internalTrafficChain, args, '-j', KUBE_MARK_MASQ);
        else if (this.localDetector !== null) {
          // Masquerade off-cluster traffic to the VIP (it may bounce off-node).
          nr.write('-A', internalTrafficChain, args, this.localDetector.ifNotLocal, '-j', KUBE_MARK_MASQ);
        }
      }

      if (usesExternalTrafficChain) {
        nc.write(`:${externalTrafficChain} - [0:0]`);
        activeNATChains.add(externalTrafficChain);
        if (!svc.externalPolicyLocal) {
          nr.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"masquerade traffic for ${name} external destinations"`, '-j', KUBE_MARK_MASQ);
        } else {
          if (this.localDetector !== null) {
            nr.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"pod traffic for ${name} external destinations"`,
              this.localDetector.ifLocal, '-j', clusterPolicyChain);
          }
          nr.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"masquerade LOCAL traffic for ${name} external destinations"`,
            '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
          nr.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"route LOCAL traffic for ${name} external destinations"`,
            '-m', 'addrtype', '--src-type', 'LOCAL', '-j', clusterPolicyChain);
        }
        if (hasExternalEndpoints) nr.write('-A', externalTrafficChain, '-j', externalPolicyChain);
      }

      if (usesFWChain) {
        nc.write(`:${fwChain} - [0:0]`);
        activeNATChains.add(fwChain);
        const args = ['-A', fwChain, '-m', 'comment', '--comment', `"${name} loadbalancer IP"`];
        let allowFromNode = false;
        for (const c of svc.loadBalancerSourceRanges) {
          nr.write(args, '-s', cidrString(c), '-j', externalTrafficChain);
          if (this.nodeIPAddr !== undefined && contains(c, this.nodeIPAddr)) allowFromNode = true;
        }
        // A node reaching its own VIP-like LB loops back with the VIP as source.
        if (allowFromNode) for (const lbip of svc.loadBalancerVIPs) nr.write(args, '-s', lbip, '-j', externalTrafficChain);
        nr.write('-A', fwChain, '-m', 'comment', '--comment', `"other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`);
      }

      if (usesClusterPolicyChain) {
        nc.write(`:${clusterPolicyChain} - [0:0]`);
        activeNATChains.add(clusterPolicyChain);
        this.writeServiceToEndpointRules(nr, name, svc, clusterPolicyChain, cat.clusterEndpoints, withComment);
      }
      if (usesLocalPolicyChain) {
        nc.write(`:${localPolicyChain} - [0:0]`);
        activeNATChains.add(localPolicyChain);
        this.writeServiceToEndpointRules(nr, name, svc, localPolicyChain, cat.localEndpoints, withComment);
      }

      for (const ep of cat.allReachableEndpoints) {
        const ch = ep.chainName;
        nc.write(`:${ch} - [0:0]`);
        activeNATChains.add(ch);
        const args = withComment(['-A', ch], name);
        // Hairpin: a pod reaching itself through the service must be SNATed.
        nr.write(args, '-s', ep.ip, '-j', KUBE_MARK_MASQ);
        const dnat = [...args];
        if (svc.sessionAffinityClientIP) dnat.push('-m', 'recent', '--name', ch, '--set');
        dnat.push('-m', protocol, '-p', protocol, '-j', 'DNAT', '--to-destination', ep.endpoint);
        nr.write(dnat);
      }
    }

    // Stale service chains: at most once per syncPeriod in large clusters.
    let deletedChains = 0;
    if (!largeClusterMode || now - this.lastIPTablesCleanup > this.syncPeriodNs) {
      let existing: string[] | undefined;
      try {
        existing = backend.listChains('nat');
      } catch {
        existing = undefined; // iptables-save failed: stale chains are left for later
      }
      if (existing !== undefined) {
        for (const chain of existing.filter((c) => !activeNATChains.has(c) && isServiceChainName(c)).sort()) {
          natChains.write(`:${chain} - [0:0]`);
          natRules.write('-X', chain);
          deletedChains++;
        }
        this.lastIPTablesCleanup = now;
      }
    }

    // The NodePort tail rule must be the last in nat KUBE-SERVICES.
    const tailComment = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';
    if (this.nodePortAddresses.matchAll) {
      const dest = ['-m', 'addrtype', '--dst-type', 'LOCAL'];
      if (!this.localhostNodePorts) dest.push('!', '-d', '127.0.0.0/8');
      natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', tailComment, dest, '-j', KUBE_NODEPORTS);
    } else {
      for (const ip of this.nodePortAddresses.nodeIPs(this.opts.interfaceAddrs ?? [this.opts.nodeIP])) {
        if (isLoopback(parseIpv4Sloppy(ip)!) && !this.localhostNodePorts) continue;
        natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', tailComment, '-d', ip, '-j', KUBE_NODEPORTS);
      }
    }

    // INVALID packets could reset connections (#74839) unless tcp_be_liberal is set.
    if (!this.conntrackTCPLiberal) {
      const r = ['-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID'];
      if (this.nfacct.ctStateInvalidDropped) r.push('-m', 'nfacct', '--nfacct-name', NFACCT_CT_STATE_INVALID_DROPPED);
      r.push('-j', 'DROP');
      filterRules.write(r);
    }
    filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', '"kubernetes forwarding rules"',
      '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
    filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', '"kubernetes forwarding conntrack rule"',
      '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

    const metrics = {
      filterRules: filterRules.length,
      natRulesTotal: natRules.length + skippedNatRules.length - deletedChains,
      natRulesLastSync: natRules.length - deletedChains,
      noLocalEndpointsInternal: noLocalInternal,
      noLocalEndpointsExternal: noLocalExternal,
      largeClusterMode,
    };

    const restoreText =
      '*filter\n' + filterChains.text() + filterRules.text() + 'COMMIT\n' + '*nat\n' + natChains.text() + natRules.text() + 'COMMIT\n';

    try {
      backend.restoreAll(restoreText);
    } catch (e) {
      return fail(e as Error, restoreText, metrics);
    }
    this.needFullSync = false;
    if (doFullSync) this.lastFullSync = now;
    return { restoreText, fullSync: doFullSync, success: true, ensuredJumps, metrics };
  }

  private writeServiceToEndpointRules(
    natRules: LineBuffer,
    name: string,
    svc: ServicePortInfo,
    svcChain: string,
    endpoints: readonly EndpointInfo[],
    withComment: (args: string[], comment: string) => string[],
  ): void {
    if (svc.sessionAffinityClientIP) {
      for (const ep of endpoints) {
        const args = withComment(['-A', svcChain], `"${name} -> ${ep.endpoint}"`);
        args.push('-m', 'recent', '--name', ep.chainName, '--rcheck', '--seconds', String(svc.stickyMaxAgeSeconds), '--reap', '-j', ep.chainName);
        natRules.write(args);
      }
    }
    const n = endpoints.length;
    endpoints.forEach((ep, i) => {
      const args = withComment(['-A', svcChain], `"${name} -> ${ep.endpoint}"`);
      if (i < n - 1) args.push('-m', 'statistic', '--mode', 'random', '--probability', this.probability(n - i));
      natRules.write(args, '-j', ep.chainName);
    });
  }
}

function emptyMetrics(): IptablesSyncResult['metrics'] {
  return { filterRules: 0, natRulesTotal: 0, natRulesLastSync: 0, noLocalEndpointsInternal: 0, noLocalEndpointsExternal: 0, largeClusterMode: false };
}

