import { cidrContains, parseCidr, parseIpv4 } from '../../wire/ipv4-address.js';
import { allocateMarks, EndpointMarkMapper, IPSET, RuleRenderer, type Profile, type RulesConfig, type WorkloadEndpoint } from './rules.js';
import { act, FelixTable } from './table.js';

/** Felix's defaults (felix/config/config_params.go) with what Canal's manifest sets. */
export interface FelixConfig {
  /** IptablesMarkMask, default 0xffff0000. */
  iptablesMarkMask: number;
  /** FELIX_DEFAULTENDPOINTTOHOSTACTION: ACCEPT in Canal's manifest (Felix's default is DROP). */
  defaultEndpointToHostAction: RulesConfig['endpointToHostAction'];
  iptablesFilterAllowAction: RulesConfig['filterAllowAction'];
  iptablesMangleAllowAction: RulesConfig['mangleAllowAction'];
  iptablesFilterDenyAction: RulesConfig['filterDenyAction'];
  serviceLoopPrevention: RulesConfig['serviceLoopPrevention'];
  interfacePrefixes: string[];
  kubeNodePortRanges: [number, number][];
  vxlanPort: number;
  maxIpsetSize: number;
  disableConntrackInvalidCheck: boolean;
}

export const CANAL_FELIX_CONFIG: FelixConfig = {
  iptablesMarkMask: 0xffff0000,
  defaultEndpointToHostAction: 'ACCEPT',
  iptablesFilterAllowAction: 'ACCEPT',
  iptablesMangleAllowAction: 'ACCEPT',
  iptablesFilterDenyAction: 'DROP',
  serviceLoopPrevention: 'Drop',
  interfacePrefixes: ['cali'],
  kubeNodePortRanges: [[30000, 32767]],
  vxlanPort: 4789,
  maxIpsetSize: 1048576,
  disableConntrackInvalidCheck: false,
};

/** An IPPool as Felix sees it (proto.IPAMPool): only natOutgoing matters without encapsulation. */
export interface IPPool {
  cidr: string;
  natOutgoing: boolean;
}

/** What Felix learns from the datastore and the node: its endpoints, their profiles, pools, the host's addresses. */
export interface FelixInputs {
  endpoints: WorkloadEndpoint[];
  profiles: Profile[];
  pools: IPPool[];
  /** The host's addresses (hostip_mgr: every interface but workload ones; kube-ipvs0 is excluded by InterfaceExclude). */
  hostIPs: string[];
  /** kube-ipvs0 exists: kube-proxy runs in ipvs mode (dataplane/driver.go). */
  kubeIPVS: boolean;
  /** ServiceLoopPrevention CIDRs (advertised service ranges from BGPConfiguration); none by default. */
  blockedCIDRs?: string[];
  /** features.MASQFullyRandom. */
  randomFully: boolean;
}

/** What Felix writes to a node: one `ipset restore` and one `iptables-restore --noflush` per table. */
export interface FelixProgram {
  ipsetRestore: string;
  /** In Felix's apply order: mangle, nat, filter, raw (int_dataplane allTables). */
  tables: { table: 'mangle' | 'nat' | 'filter' | 'raw'; text: string }[];
}

/**
 * calico-node's Felix on one node, iptables backend, first apply: the static chains, the
 * host endpoint dispatch chains (no host endpoints), the workload dispatch and per-endpoint
 * chains, the profiles the endpoints use, NAT outgoing for natOutgoing pools, and the ipsets
 * those rules name. Kubernetes NetworkPolicy / Calico policy tiers are not rendered: every
 * endpoint is governed by its profiles only (the state of a cluster with no policies).
 */
export function felixProgram(inp: FelixInputs, cfg: FelixConfig = CANAL_FELIX_CONFIG): FelixProgram {
  const marks = allocateMarks(cfg.iptablesMarkMask, inp.kubeIPVS);
  const r = new RuleRenderer({
    workloadIfacePrefixes: cfg.interfacePrefixes,
    marks,
    kubeIPVSSupportEnabled: inp.kubeIPVS,
    kubeNodePortRanges: cfg.kubeNodePortRanges,
    endpointToHostAction: cfg.defaultEndpointToHostAction,
    filterAllowAction: cfg.iptablesFilterAllowAction,
    mangleAllowAction: cfg.iptablesMangleAllowAction,
    filterDenyAction: cfg.iptablesFilterDenyAction,
    serviceLoopPrevention: cfg.serviceLoopPrevention,
    vxlanPort: cfg.vxlanPort,
    allowVXLANPacketsFromWorkloads: false,
    allowIPIPPacketsFromWorkloads: false,
    disableConntrackInvalid: cfg.disableConntrackInvalidCheck,
    randomFully: inp.randomFully,
  });
  const epMarks = inp.kubeIPVS ? new EndpointMarkMapper(marks.endpoint, marks.nonCaliEndpoint) : null;

  const raw = new FelixTable('raw');
  const mangle = new FelixTable('mangle');
  const nat = new FelixTable('nat');
  const filter = new FelixTable('filter');

  // setUpIptablesNormal: the static chains and the hooks from the kernel's chains.
  raw.updateChains(r.staticRawTableChains());
  raw.insertOrAppendRules('PREROUTING', [{ action: act.jump('cali-PREROUTING') }]);
  raw.insertOrAppendRules('OUTPUT', [{ action: act.jump('cali-OUTPUT') }]);
  filter.updateChains(r.staticFilterTableChains());
  filter.insertOrAppendRules('FORWARD', [{ action: act.jump('cali-FORWARD') }]);
  filter.insertOrAppendRules('INPUT', [{ action: act.jump('cali-INPUT') }]);
  filter.insertOrAppendRules('OUTPUT', [{ action: act.jump('cali-OUTPUT') }]);
  filter.appendRules('FORWARD', r.staticFilterForwardAppendRules());
  nat.updateChains(r.staticNATTableChains());
  nat.insertOrAppendRules('PREROUTING', [{ action: act.jump('cali-PREROUTING') }]);
  // Appended, not inserted: kube-proxy's KUBE-POSTROUTING must see (and clear) its mark first.
  nat.appendRules('POSTROUTING', [{ action: act.jump('cali-POSTROUTING') }]);
  nat.insertOrAppendRules('OUTPUT', [{ action: act.jump('cali-OUTPUT') }]);
  mangle.updateChains(r.staticMangleTableChains());
  mangle.insertOrAppendRules('PREROUTING', [{ action: act.jump('cali-PREROUTING') }]);
  mangle.insertOrAppendRules('POSTROUTING', [{ action: act.jump('cali-POSTROUTING') }]);

  // The managers: masq (NAT outgoing), floating IPs (off), service loop prevention, DSCP,
  // endpoints (RPF skip, host and workload dispatch, endpoint marks), policy (profiles).
  nat.updateChain(r.natOutgoingChain(inp.pools.some((p) => p.natOutgoing)));
  nat.updateChains(r.floatingIPChains());
  filter.updateChain(r.blockedCIDRsChain(inp.blockedCIDRs ?? []));
  mangle.updateChain(r.egressDSCPChain());
  raw.updateChain(r.rpfSkipChain());
  raw.updateChains(r.hostDispatchChains('to+from', false));
  filter.updateChains(r.hostDispatchChains('to+from', true));
  mangle.updateChains([...r.hostDispatchChains('from', false), ...r.hostDispatchChains('to', false)]);
  const eps = [...inp.endpoints].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const ep of eps) filter.updateChains(r.workloadEndpointToIptablesChains(ep, epMarks));
  filter.updateChains(r.workloadDispatchChains(eps.map((e) => e.name)));
  if (epMarks) filter.updateChains(r.endpointMarkDispatchChains(epMarks, eps.map((e) => e.name)));
  for (const p of inp.profiles) {
    const [pri, pro] = r.profileToIptablesChains(p);
    filter.updateChains([pri, pro]);
  }

  return {
    ipsetRestore: ipsetText(inp, cfg),
    tables: [mangle, nat, filter, raw].map((t) => ({ table: t.name, text: t.restoreText() })),
  };
}

/**
 * The `ipset restore` input of Felix's first apply (ipsets.go): `create NAME TYPE family inet
 * maxelem N` then `add` per member, `COMMIT` at the end.
 */
function ipsetText(inp: FelixInputs, cfg: FelixConfig): string {
  const sets: { name: string; type: string; members: string[] }[] = [
    { name: IPSET.allPools, type: 'hash:net', members: inp.pools.map((p) => p.cidr) },
    { name: IPSET.masqPools, type: 'hash:net', members: inp.pools.filter((p) => p.natOutgoing).map((p) => p.cidr) },
    { name: IPSET.thisHost, type: 'hash:ip', members: [...new Set(inp.hostIPs)].sort() },
    { name: IPSET.dscp, type: 'hash:net', members: [] },
  ];
  const out: string[] = [];
  for (const s of sets.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    out.push(`create ${s.name} ${s.type} family inet maxelem ${cfg.maxIpsetSize}`);
    for (const mb of s.members) out.push(`add ${s.name} ${mb}`);
  }
  out.push('COMMIT');
  return out.join('\n') + '\n';
}

/**
 * The IPv4 pool calico-node's start-up creates when none exists (node/pkg/lifecycle/startup
 * configureIPPools): CALICO_IPV4POOL_CIDR, else 192.168.0.0/16 unless a host address falls in
 * it, then the first of 172.16-31.0.0/16 that none does (poolselector.go); natOutgoing on,
 * IPIP and VXLAN Never (Canal sets neither CALICO_IPV4POOL_IPIP nor _VXLAN).
 */
export function defaultIPv4Pool(hostAddrs: readonly string[], envCidr?: string): IPPool {
  if (envCidr) return { cidr: envCidr, natOutgoing: true };
  const overlaps = (cidr: string): boolean => hostAddrs.some((a) => cidrContains(parseCidr(cidr), parseIpv4(a)));
  if (!overlaps('192.168.0.0/16')) return { cidr: '192.168.0.0/16', natOutgoing: true };
  for (let i = 16; i <= 31; i++) if (!overlaps(`172.${i}.0.0/16`)) return { cidr: `172.${i}.0.0/16`, natOutgoing: true };
  return { cidr: '192.168.0.0/16', natOutgoing: true };
}

/** The Kubernetes datastore's profiles (libcalico-go conversion): kns.<ns> allows all, ksa.<ns>.<sa> has no rules. */
export function kubernetesProfile(id: string): Profile {
  if (id.startsWith('kns.')) return { id, inbound: [{ action: 'allow' }], outbound: [{ action: 'allow' }] };
  return { id, inbound: [], outbound: [] };
}

/** A pod's profile IDs (workload_endpoint_default.go): its namespace, then its service account. */
export function podProfileIds(namespace: string, serviceAccount: string | undefined): string[] {
  return [`kns.${namespace}`, ...(serviceAccount ? [`ksa.${namespace}.${serviceAccount}`] : [])];
}
