import type { Netns } from '../../linux/netlink.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';
import type { ActionLog } from '../cluster/actions.js';
import { CANAL_FELIX_CONFIG, felixProgram, kubernetesProfile, type FelixConfig, type FelixProgram, type IPPool } from './felix.js';
import type { WorkloadEndpoint } from './rules.js';

export const AGENT = 'calico-node/felix';

/** What Felix needs of iptables on the node: iptables-restore and ipset restore (the netfilter model behind NetfilterIptables). */
export interface FelixIptables {
  readonly hasRandomFully: boolean;
  readonly nf: { ipsetRestore(text: string, exist?: boolean): void };
  withAgent(agent: string): { restore(text: string, opts?: { noflush?: boolean; counters?: boolean }): void };
}

/**
 * Felix on one node, as calico-node runs it in Canal: it reads the node's addresses and the
 * kube-ipvs0 device (netlink), learns its workload endpoints and their profiles from the
 * datastore, then programs the node only through `ipset restore` and one
 * `iptables-restore --noflush` per table, each logged as the command it runs.
 */
export function startFelix(
  log: ActionLog,
  root: Netns,
  ipt: FelixIptables,
  endpoints: WorkloadEndpoint[],
  pools: IPPool[],
  cfg: FelixConfig = CANAL_FELIX_CONFIG,
): FelixProgram {
  const prefixes = cfg.interfacePrefixes;
  const hostIPs: string[] = [];
  for (const d of root.devicesInOrder()) {
    // hostip_mgr skips workload interfaces; InterfaceExclude (kube-ipvs0) hides the service VIPs.
    if (prefixes.some((p) => d.name.startsWith(p)) || d.name === 'kube-ipvs0') continue;
    for (const a of d.inAddrs) hostIPs.push(formatIpv4(a.addr));
  }
  const ids = [...new Set(endpoints.flatMap((e) => e.profileIds))];
  const program = felixProgram(
    {
      endpoints,
      profiles: ids.map(kubernetesProfile),
      pools,
      hostIPs,
      kubeIPVS: root.dev('kube-ipvs0') !== undefined,
      randomFully: ipt.hasRandomFully,
    },
    cfg,
  );
  ipt.nf.ipsetRestore(program.ipsetRestore);
  log.tool(root, AGENT, ['ipset', 'restore'], program.ipsetRestore);
  const felix = ipt.withAgent(AGENT);
  for (const t of program.tables) felix.restore(t.text, { noflush: true });
  return program;
}
