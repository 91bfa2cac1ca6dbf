import { createHash } from 'node:crypto';
import type { Netns } from '../../linux/netlink.js';
import type { ActionLog } from '../cluster/actions.js';

const AGENT = 'kubelet/cni-calico';

/** Calico's host-side veth name: `cali` + the first 11 hex digits of sha1("<namespace>.<pod>"). */
export function caliName(namespace: string, pod: string): string {
  return 'cali' + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

/**
 * The calico CNI plugin (Canal: policy by calico, pod CIDRs and VXLAN by flannel), as its
 * linux dataplane programs a pod (cni-plugin/internal/pkg/utils/network_linux.go): the veth
 * made in the pod namespace, the host end moved to the root namespace, MAC ee:ee:ee:ee:ee:ee,
 * proxy ARP on, a /32 route to the pod; in the pod eth0 with the /32 address and the
 * link-local gateway 169.254.1.1 that the host answers for by proxy ARP.
 */
export function calicoCniAdd(log: ActionLog, host: Netns, pod: Netns, podIp: string, mtu: number, hostVeth: string): void {
  log.ip(pod, AGENT, `link add eth0 mtu ${mtu} type veth peer name ${hostVeth} mtu ${mtu}`);
  log.ip(pod, AGENT, `link set ${hostVeth} netns root`);
  log.ip(host, AGENT, `link set ${hostVeth} address ee:ee:ee:ee:ee:ee`);
  log.sysctl(host, AGENT, `net.ipv4.conf.${hostVeth}.proxy_arp`, '1');
  log.sysctl(host, AGENT, `net.ipv4.neigh.${hostVeth}.proxy_delay`, '0');
  log.sysctl(host, AGENT, `net.ipv4.conf.${hostVeth}.forwarding`, '1');
  log.ip(host, AGENT, `link set ${hostVeth} up`);
  log.ip(pod, AGENT, 'link set eth0 up');
  // Calico's netlink AddrAdd fills the broadcast as ip | ~mask, the address itself for a /32.
  log.ip(pod, AGENT, `addr add ${podIp}/32 brd ${podIp} dev eth0`);
  log.ip(pod, AGENT, 'route add 169.254.1.1 dev eth0 scope link');
  log.ip(pod, AGENT, 'route add default via 169.254.1.1 dev eth0');
  log.ip(host, AGENT, `route add ${podIp} dev ${hostVeth} scope link`);
}
