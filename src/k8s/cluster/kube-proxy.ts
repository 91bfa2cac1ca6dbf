import type { Netns } from '../../linux/netlink.js';
import type { ClusterState } from '../controllers/cluster-state.js';
import { kubeProxyConfig, type KubeProxyConfig, type KubeProxyConfigurationDoc } from '../kube-proxy/config.js';
import { IptablesProxier } from '../kube-proxy/iptables.js';
import type { NetfilterIptables } from './iptables-backend.js';
import type { ActionLog } from './actions.js';

export const AGENT = 'kube-proxy';

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
  for (const s of proxier.sysctls) log.sysctl(root, AGENT, s.name.replace(/\//g, '.'), String(s.value));
  feedProxier(proxier as never, state);
  proxier.syncProxyRules();
  return proxier;
}
