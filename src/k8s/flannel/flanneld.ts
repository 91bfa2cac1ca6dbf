import type { Netns } from '../../linux/netlink.js';
import { cidrNetwork, formatIpv4, parseCidr } from '../../wire/ipv4-address.js';
import type { ActionLog } from '../cluster/actions.js';

const AGENT = 'flanneld';

/** One node's lease as flanneld sees it (node annotations + spec.podCIDR). */
export interface FlannelLease {
  /** The node's pod subnet, e.g. 10.42.1.0/24. */
  subnet: string;
  /** flannel.alpha.coreos.com/public-ip */
  publicIp: string;
  /** VtepMAC of backend-data */
  vtepMac: string;
}

export interface FlannelConfig {
  vni: number;
  /** 0 leaves the kernel's default (8472). */
  port: number;
  /** The underlay MTU flanneld reads from the public interface. */
  underlayMtu: number;
  iface: string;
}

/**
 * flanneld's vxlan backend on one node (pkg/backend/vxlan): flannel.<VNI> with local = the
 * public IP, dev = the public interface, nolearning, MTU = underlay - 50, the lease network
 * address as /32; then for every other node, in the order flanneld writes them, the
 * PERMANENT neighbour, the FDB entry and last the onlink route.
 */
export function flanneldSetup(log: ActionLog, root: Netns, self: FlannelLease, others: readonly FlannelLease[], cfg: FlannelConfig): void {
  const dev = `flannel.${cfg.vni}`;
  const port = cfg.port ? ` dstport ${cfg.port}` : '';
  log.ip(root, AGENT, `link add ${dev} type vxlan id ${cfg.vni} local ${self.publicIp} dev ${cfg.iface}${port} nolearning`);
  log.ip(root, AGENT, `link set ${dev} address ${self.vtepMac}`);
  log.ip(root, AGENT, `link set ${dev} mtu ${cfg.underlayMtu - 50}`);
  log.ip(root, AGENT, `link set ${dev} up`);
  log.ip(root, AGENT, `addr add ${formatIpv4(cidrNetwork(parseCidr(self.subnet)))}/32 dev ${dev}`);
  for (const o of others) addLease(log, root, dev, o);
}

function addLease(log: ActionLog, root: Netns, dev: string, o: FlannelLease): void {
  const c = parseCidr(o.subnet);
  const gw = formatIpv4(cidrNetwork(c));
  log.ip(root, AGENT, `neigh replace ${gw} lladdr ${o.vtepMac} dev ${dev} nud permanent`);
  log.bridge(root, AGENT, `fdb append ${o.vtepMac} dev ${dev} dst ${o.publicIp} self permanent`);
  log.ip(root, AGENT, `route replace ${gw}/${c.len} via ${gw} dev ${dev} onlink`);
}
