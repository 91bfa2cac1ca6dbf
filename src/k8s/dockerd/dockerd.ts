import type { Netns } from '../../linux/netlink.js';
import type { ActionLog } from '../cluster/actions.js';
import type { IptablesBackend } from '../kube-proxy/backend.js';

export const AGENT = 'dockerd';

/** The default bridge network (daemon.json `bip` and friends left at their defaults). */
export interface DockerBridge {
  /** docker0's address: libnetwork's GenerateRandomMAC, 02:42 then four random bytes. */
  readonly mac: string;
  readonly cidr: string;
  readonly gateway: string;
}

export const DEFAULT_BRIDGE = { cidr: '172.17.0.0/16', gateway: '172.17.0.1' } as const;

/**
 * What dockerd (libnetwork's bridge driver, docker 20.10 as dockershim nodes run it) does at
 * start on a node: docker0 created with its address (so, with no container on it, it is
 * NO-CARRIER and its route `linkdown`), the gateway address, up; then its iptables chains
 * and rules, by iptables commands, in an order that leaves what `iptables-save` shows on
 * such a host. ip_forward was already on (the Kubernetes node's sysctl), so dockerd leaves
 * the FORWARD policy at ACCEPT (it sets DROP only when it had to turn forwarding on).
 */
export function dockerdSetup(log: ActionLog, root: Netns, ipt: IptablesBackend, br: DockerBridge): void {
  const len = br.cidr.split('/')[1]!;
  log.ip(root, AGENT, `link add docker0 address ${br.mac} type bridge`);
  log.ip(root, AGENT, `addr add ${br.gateway}/${len} brd + dev docker0`);
  log.ip(root, AGENT, 'link set docker0 up');
  // setupIPChains: the DOCKER chains and the LOCAL-destination jumps in nat.
  ipt.ensureChain('nat', 'DOCKER');
  ipt.ensureRule('append', 'nat', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
  ipt.ensureRule('append', 'nat', 'OUTPUT', ['!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']);
  ipt.ensureChain('filter', 'DOCKER');
  ipt.ensureChain('filter', 'DOCKER-ISOLATION-STAGE-1');
  ipt.ensureChain('filter', 'DOCKER-ISOLATION-STAGE-2');
  ipt.ensureRule('append', 'filter', 'DOCKER-ISOLATION-STAGE-1', ['-j', 'RETURN']);
  ipt.ensureRule('append', 'filter', 'DOCKER-ISOLATION-STAGE-2', ['-j', 'RETURN']);
  // setupIPTablesInternal for docker0: masquerade outgoing, inter-container and outgoing
  // traffic accepted, replies accepted, published ports through DOCKER.
  ipt.ensureRule('prepend', 'nat', 'POSTROUTING', ['-s', br.cidr, '!', '-o', 'docker0', '-j', 'MASQUERADE']);
  ipt.ensureRule('prepend', 'nat', 'DOCKER', ['-i', 'docker0', '-j', 'RETURN']);
  ipt.ensureRule('prepend', 'filter', 'FORWARD', ['-i', 'docker0', '-o', 'docker0', '-j', 'ACCEPT']);
  ipt.ensureRule('prepend', 'filter', 'FORWARD', ['-i', 'docker0', '!', '-o', 'docker0', '-j', 'ACCEPT']);
  ipt.ensureRule('prepend', 'filter', 'FORWARD', ['-o', 'docker0', '-j', 'DOCKER']);
  ipt.ensureRule('prepend', 'filter', 'FORWARD', ['-o', 'docker0', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT']);
  // setINC: network isolation between bridges.
  ipt.ensureRule('prepend', 'filter', 'DOCKER-ISOLATION-STAGE-1', ['-i', 'docker0', '!', '-o', 'docker0', '-j', 'DOCKER-ISOLATION-STAGE-2']);
  ipt.ensureRule('prepend', 'filter', 'DOCKER-ISOLATION-STAGE-2', ['-o', 'docker0', '-j', 'DROP']);
  ipt.ensureRule('prepend', 'filter', 'FORWARD', ['-j', 'DOCKER-ISOLATION-STAGE-1']);
  // arrangeUserFilterRule: DOCKER-USER first in FORWARD.
  ipt.ensureChain('filter', 'DOCKER-USER');
  ipt.ensureRule('append', 'filter', 'DOCKER-USER', ['-j', 'RETURN']);
  ipt.ensureRule('prepend', 'filter', 'FORWARD', ['-j', 'DOCKER-USER']);
}
