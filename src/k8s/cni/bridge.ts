import type { Netns } from '../../linux/netlink.js';
import type { ActionLog } from '../cluster/actions.js';
import { formatCidr, parseCidr, cidrNetwork, formatIpv4 } from '../../wire/ipv4-address.js';

export interface BridgeCniConfig {
  /** The node's pod subnet, e.g. 10.42.0.0/24 (FLANNEL_SUBNET's network). */
  subnet: string;
  /** FLANNEL_NETWORK, added as an IPAM route in the pod. */
  network: string;
  mtu: number;
}

const AGENT = 'kubelet/cni-bridge';

/**
 * The flannel CNI plugin delegating to `bridge` + `host-local`, as they program a node and a
 * pod (containernetworking/plugins bridge.go, ip/link_linux.go SetupVeth): cni0 created on
 * first use with the gateway .1/24, the veth made from the pod side with its host end
 * `veth<8 hex>` in the root namespace, hairpin on, and in the pod eth0 with the address, the
 * IPAM route to the flannel network and the default route via the gateway.
 */
export function bridgeCniAdd(log: ActionLog, host: Netns, pod: Netns, podIp: string, cfg: BridgeCniConfig, hostVeth: string): void {
  const sub = parseCidr(cfg.subnet);
  const gw = formatIpv4(cidrNetwork(sub) + 1);
  if (!host.dev('cni0')) {
    log.ip(host, AGENT, 'link add cni0 type bridge');
    log.ip(host, AGENT, `link set cni0 mtu ${cfg.mtu}`);
    log.ip(host, AGENT, 'link set cni0 up');
    log.ip(host, AGENT, `addr add ${gw}/${sub.len} brd + dev cni0`);
    log.sysctl(host, AGENT, 'net.ipv4.ip_forward', '1');
  }
  log.ip(pod, AGENT, `link add eth0 mtu ${cfg.mtu} type veth peer name ${hostVeth} netns root`);
  log.ip(host, AGENT, `link set ${hostVeth} master cni0`);
  log.ip(host, AGENT, `link set ${hostVeth} type bridge_slave hairpin on`);
  log.ip(host, AGENT, `link set ${hostVeth} up`);
  log.ip(pod, AGENT, 'link set eth0 up');
  log.ip(pod, AGENT, `addr add ${podIp}/${sub.len} brd + dev eth0`);
  log.ip(pod, AGENT, `route add ${formatCidr(parseCidr(cfg.network))} via ${gw} dev eth0`);
  log.ip(pod, AGENT, `route add default via ${gw} dev eth0`);
  log.sysctl(pod, AGENT, 'net.ipv4.conf.eth0.arp_notify', '1');
}
