import type { Netns } from '../../linux/netlink.js';
import type { ClusterState } from '../controllers/cluster-state.js';
import { conntrackSysctls, kubeProxyConfig, type KubeProxyConfig, type KubeProxyConfigurationDoc } from '../kube-proxy/config.js';
import { IptablesProxier } from '../kube-proxy/iptables.js';
import { IpvsProxier } from '../kube-proxy/ipvs.js';
import type { NetfilterIptables } from './iptables-backend.js';
import { ModelIpset, ModelIpvs, ModelNetlink } from './ipvs-backend.js';
import type { ActionLog } from './actions.js';

export const AGENT = 'kube-proxy';

/** The conntrack sysctls kube-proxy writes at start (cmd/kube-proxy conntracker), on 2 CPUs. */
function conntrackStartup(log: ActionLog, root: Netns, ipt: NetfilterIptables, cfg: KubeProxyConfig): void {
  for (const s of conntrackSysctls(cfg, 2).sysctls) {
    ipt.nf.setSysctl(s.name, s.value);
    log.tool(root, AGENT, ['sysctl', '-w', `${s.name.replace(/\//g, '.')}=${s.value}`]);
  }
}

/** The cluster's KubeProxyConfiguration (the scenario's document, upstream defaults otherwise). */
export function proxyConfigOf(state: ClusterState): KubeProxyConfig {
  const doc = state.componentConfigs.find((c) => c.kind === 'KubeProxyConfiguration') as Partial<KubeProxyConfigurationDoc> | undefined;
  const cfg = kubeProxyConfig({ ...(doc ?? {}), ...(doc?.mode ? {} : { mode: 'iptables' }) } as Partial<KubeProxyConfigurationDoc>);
  return cfg;
}

/** Feeds the proxier what its informers would: every Service and EndpointSlice. */
export function feedProxier(p: { onServiceAdd(s: never): void; onEndpointSliceAdd(e: never): void }, state: ClusterState): void {
  for (const s of state.services) p.onServiceAdd(s as never);
  for (const e of state.endpointSlices) p.onEndpointSliceAdd(e as never);
}

/**
 * kube-proxy in iptables mode on one node: the sysctls it sets at start, the jump rules from
 * the built-in chains (iptables -C / -I), then a full syncProxyRules through
 * iptables-restore --noflush --counters.
 */
export function startIptablesProxy(log: ActionLog, root: Netns, ipt: NetfilterIptables, state: ClusterState, nodeName: string, nodeIP: string, podCIDR: string | undefined, cfg: KubeProxyConfig): IptablesProxier {
  const proxier = new IptablesProxier({
    nodeName,
    nodeIP,
    config: cfg,
    backend: ipt,
    now: () => root.clock.now,
    interfaceAddrs: [nodeIP],
    ...(podCIDR ? { nodePodCIDR: podCIDR } : {}),
  });
  conntrackStartup(log, root, ipt, cfg);
  for (const s of proxier.sysctls) log.sysctl(root, AGENT, s.name.replace(/\//g, '.'), String(s.value));
  feedProxier(proxier as never, state);
  proxier.syncProxyRules();
  return proxier;
}

/**
 * kube-proxy in ipvs mode on one node: its sysctls, kube-ipvs0, then a full sync (ipsets,
 * virtual and real servers, the iptables payload, the jump rules).
 */
export function startIpvsProxy(log: ActionLog, root: Netns, ipt: NetfilterIptables, state: ClusterState, nodeName: string, nodeIP: string, podCIDR: string | undefined, cfg: KubeProxyConfig): { proxier: IpvsProxier; ipvs: ModelIpvs } {
  conntrackStartup(log, root, ipt, cfg);
  const ipvs = new ModelIpvs(root, log, AGENT, ipt.nf.ipvsConntrack() as never);
  const proxier = new IpvsProxier({
    nodeName,
    nodeIP,
    config: cfg,
    iptables: ipt,
    ipvs,
    netlink: new ModelNetlink(root, log, AGENT),
    ipset: new ModelIpset(ipt, root, log, AGENT),
    kernelVersion: '6.18',
    ...(podCIDR ? { nodePodCIDR: podCIDR } : {}),
  });
  for (const s of proxier.sysctls) {
    const key = s.name.replace(/\//g, '.');
    // net.ipv4.vs.* exist once ip_vs is loaded: they are the IPVS model's.
    const vs = /^net\.ipv4\.vs\.(\w+)$/.exec(key);
    if (vs && vs[1]! in ipvs.ipvs.sysctl) {
      (ipvs.ipvs.sysctl as unknown as Record<string, number>)[vs[1]!] = Number(s.value);
      log.tool(root, AGENT, ['sysctl', '-w', `${key}=${s.value}`]);
    } else log.sysctl(root, AGENT, key, String(s.value));
  }
  feedProxier(proxier as never, state);
  proxier.syncProxyRules();
  return { proxier, ipvs };
}
