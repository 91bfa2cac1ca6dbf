/**
 * KubeProxyConfiguration (kubeproxy.config.k8s.io/v1alpha1): the fields that change what
 * kube-proxy programs, with the defaults of pkg/proxy/apis/config/v1alpha1/defaults.go.
 * Durations stay in their Go text form ("30s", "1h0m0s") as the document holds them, and are
 * also available in nanoseconds for the simulated clock.
 */

export type ProxyMode = 'iptables' | 'ipvs' | 'nftables';
export type DetectLocalMode = 'ClusterCIDR' | 'NodeCIDR' | 'BridgeInterface' | 'InterfaceNamePrefix';

export interface KubeProxyIPTablesConfiguration {
  masqueradeBit?: number;
  masqueradeAll?: boolean;
  localhostNodePorts?: boolean;
  syncPeriod?: string;
  minSyncPeriod?: string;
}

export interface KubeProxyIPVSConfiguration {
  syncPeriod?: string;
  minSyncPeriod?: string;
  scheduler?: string;
  excludeCIDRs?: string[];
  strictARP?: boolean;
  tcpTimeout?: string;
  tcpFinTimeout?: string;
  udpTimeout?: string;
}

export interface KubeProxyConntrackConfiguration {
  maxPerCore?: number;
  min?: number;
  tcpEstablishedTimeout?: string;
  tcpCloseWaitTimeout?: string;
  tcpBeLiberal?: boolean;
  udpTimeout?: string;
  udpStreamTimeout?: string;
}

export interface DetectLocalConfiguration {
  bridgeInterface?: string;
  interfaceNamePrefix?: string;
}

/** The document as written (every field optional). */
export interface KubeProxyConfigurationDoc {
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1';
  kind: 'KubeProxyConfiguration';
  mode?: ProxyMode | '';
  clusterCIDR?: string;
  hostnameOverride?: string;
  syncPeriod?: string;
  minSyncPeriod?: string;
  iptables?: KubeProxyIPTablesConfiguration;
  ipvs?: KubeProxyIPVSConfiguration;
  nftables?: { masqueradeBit?: number; masqueradeAll?: boolean; syncPeriod?: string; minSyncPeriod?: string };
  conntrack?: KubeProxyConntrackConfiguration;
  detectLocalMode?: DetectLocalMode | '';
  detectLocal?: DetectLocalConfiguration;
  nodePortAddresses?: string[];
  metricsBindAddress?: string;
  healthzBindAddress?: string;
  bindAddress?: string;
}

/** The configuration with every default applied. */
export interface KubeProxyConfig {
  mode: ProxyMode;
  clusterCIDR: string; // '' = none (no local-traffic detector for ClusterCIDR mode)
  masqueradeBit: number;
  masqueradeAll: boolean;
  localhostNodePorts: boolean;
  syncPeriod: string;
  minSyncPeriod: string;
  ipvs: {
    scheduler: string;
    strictARP: boolean;
    excludeCIDRs: string[];
    syncPeriod: string;
    minSyncPeriod: string;
    tcpTimeout: string;
    tcpFinTimeout: string;
    udpTimeout: string;
  };
  conntrack: {
    maxPerCore: number;
    min: number;
    tcpEstablishedTimeout: string;
    tcpCloseWaitTimeout: string;
    tcpBeLiberal: boolean;
    udpTimeout: string;
    udpStreamTimeout: string;
  };
  detectLocalMode: DetectLocalMode;
  detectLocal: { bridgeInterface: string; interfaceNamePrefix: string };
  nodePortAddresses: string[];
}

export class KubeProxyConfigError extends Error {
  override readonly name = 'KubeProxyConfigError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`KubeProxyConfiguration: ${field}: ${reason}`);
  }
}

const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns))+$/;

/** Go time.ParseDuration subset ("30s", "1h0m0s", "500ms"), in nanoseconds. */
export function parseDurationNs(text: string, field = 'duration'): number {
  if (text === '0') return 0;
  if (!DURATION_RE.test(text)) throw new KubeProxyConfigError(field, `invalid duration "${text}"`);
  const unit: Record<string, number> = { h: 3.6e12, m: 6e10, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(m[1]) * unit[m[2]!]!;
  return Math.round(total);
}

const SCHEDULERS = new Set(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'sh', 'dh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos']);

/** Applies upstream defaults; bad values raise a KubeProxyConfigError naming the field. */
export function kubeProxyConfig(doc?: Partial<KubeProxyConfigurationDoc>): KubeProxyConfig {
  const d = doc ?? {};
  const mode = d.mode === undefined || d.mode === '' ? 'iptables' : d.mode;
  if (mode !== 'iptables' && mode !== 'ipvs' && mode !== 'nftables') {
    throw new KubeProxyConfigError('mode', `unknown proxy mode "${String(mode)}"`);
  }
  const ipt = d.iptables ?? {};
  const masqueradeBit = ipt.masqueradeBit ?? 14;
  if (!Number.isInteger(masqueradeBit) || masqueradeBit < 0 || masqueradeBit > 31) {
    throw new KubeProxyConfigError('iptables.masqueradeBit', `must be in the range [0, 31], got ${masqueradeBit}`);
  }
  const scheduler = d.ipvs?.scheduler ?? '';
  if (scheduler !== '' && !SCHEDULERS.has(scheduler)) {
    throw new KubeProxyConfigError('ipvs.scheduler', `unknown scheduler "${scheduler}"`);
  }
  const detectLocalMode = d.detectLocalMode === undefined || d.detectLocalMode === '' ? 'ClusterCIDR' : d.detectLocalMode;
  const syncPeriod = d.syncPeriod ?? ipt.syncPeriod ?? '30s';
  const minSyncPeriod = d.minSyncPeriod ?? ipt.minSyncPeriod ?? '1s';
  for (const [f, v] of [
    ['syncPeriod', syncPeriod],
    ['minSyncPeriod', minSyncPeriod],
  ] as const) {
    parseDurationNs(v, f);
  }
  return {
    mode,
    clusterCIDR: d.clusterCIDR ?? '',
    masqueradeBit,
    masqueradeAll: ipt.masqueradeAll ?? false,
    localhostNodePorts: ipt.localhostNodePorts ?? true,
    syncPeriod,
    minSyncPeriod,
    ipvs: {
      // The ipvs proxier turns an empty scheduler into "rr".
      scheduler: scheduler === '' ? 'rr' : scheduler,
      strictARP: d.ipvs?.strictARP ?? false,
      excludeCIDRs: d.ipvs?.excludeCIDRs ?? [],
      syncPeriod: d.ipvs?.syncPeriod ?? '30s',
      minSyncPeriod: d.ipvs?.minSyncPeriod ?? '0s',
      tcpTimeout: d.ipvs?.tcpTimeout ?? '0s',
      tcpFinTimeout: d.ipvs?.tcpFinTimeout ?? '0s',
      udpTimeout: d.ipvs?.udpTimeout ?? '0s',
    },
    conntrack: {
      maxPerCore: d.conntrack?.maxPerCore ?? 32768,
      min: d.conntrack?.min ?? 131072,
      tcpEstablishedTimeout: d.conntrack?.tcpEstablishedTimeout ?? '24h0m0s',
      tcpCloseWaitTimeout: d.conntrack?.tcpCloseWaitTimeout ?? '1h0m0s',
      tcpBeLiberal: d.conntrack?.tcpBeLiberal ?? false,
      udpTimeout: d.conntrack?.udpTimeout ?? '0s',
      udpStreamTimeout: d.conntrack?.udpStreamTimeout ?? '0s',
    },
    detectLocalMode,
    detectLocal: {
      bridgeInterface: d.detectLocal?.bridgeInterface ?? '',
      interfaceNamePrefix: d.detectLocal?.interfaceNamePrefix ?? '',
    },
    nodePortAddresses: d.nodePortAddresses ?? [],
  };
}

/** The mark kube-proxy writes: 1<<bit formatted with Go %#08x ("0x00004000"). */
export function masqueradeMark(bit: number): string {
  const v = (1 << bit) >>> 0;
  // Go pads the digits (not the 0x prefix) to the width: 0x00004000.
  return '0x' + v.toString(16).padStart(8, '0');
}

/** A sysctl kube-proxy writes (path under /proc/sys). */
export interface SysctlSetting {
  name: string;
  value: number;
}

/**
 * The conntrack settings kube-proxy's server applies at startup (cmd/kube-proxy
 * setupConntrack): nf_conntrack_max = max(maxPerCore * CPUs, min) when maxPerCore > 0 (the
 * module's hashsize is raised to max/4 alongside), then each timeout that is set (> 0), and
 * tcp_be_liberal when asked for.
 */
export function conntrackSysctls(config: KubeProxyConfig, numCPU: number): { sysctls: SysctlSetting[]; hashsize: number | null } {
  const c = config.conntrack;
  const out: SysctlSetting[] = [];
  let hashsize: number | null = null;
  if (c.maxPerCore > 0) {
    const max = Math.max(c.maxPerCore * numCPU, c.min);
    out.push({ name: 'net/netfilter/nf_conntrack_max', value: max });
    hashsize = Math.floor(max / 4);
  }
  const secs = (d: string, f: string) => Math.floor(parseDurationNs(d, f) / 1e9);
  const est = secs(c.tcpEstablishedTimeout, 'conntrack.tcpEstablishedTimeout');
  if (est > 0) out.push({ name: 'net/netfilter/nf_conntrack_tcp_timeout_established', value: est });
  const cw = secs(c.tcpCloseWaitTimeout, 'conntrack.tcpCloseWaitTimeout');
  if (cw > 0) out.push({ name: 'net/netfilter/nf_conntrack_tcp_timeout_close_wait', value: cw });
  if (c.tcpBeLiberal) out.push({ name: 'net/netfilter/nf_conntrack_tcp_be_liberal', value: 1 });
  const udp = secs(c.udpTimeout, 'conntrack.udpTimeout');
  if (udp > 0) out.push({ name: 'net/netfilter/nf_conntrack_udp_timeout', value: udp });
  const udpStream = secs(c.udpStreamTimeout, 'conntrack.udpStreamTimeout');
  if (udpStream > 0) out.push({ name: 'net/netfilter/nf_conntrack_udp_timeout_stream', value: udpStream });
  return { sysctls: out, hashsize };
}

/**
 * nodePortAddresses as the proxier receives it: the special value "primary" (1.29+) is
 * replaced by the node's primary IPs as /32 (cmd/kube-proxy does this before creating the
 * proxier).
 */
export function effectiveNodePortAddresses(config: KubeProxyConfig, nodeIP: string): string[] {
  return config.nodePortAddresses.flatMap((a) => (a === 'primary' ? (nodeIP === '' ? [] : [`${nodeIP}/32`]) : [a]));
}
