// The small node topology used by the printer goldens and the live kernel comparison: a node
// with eth0 (veth to an underlay namespace), cni0 with one pod port (hairpin on), flannel.1
// made as flanneld makes it, with the neighbour, FDB entry and route it writes for a peer.
import { EventQueue } from '../../src/sim/event-queue.js';
import { Random } from '../../src/sim/random.js';
import { bridge, ip, Netns, type LinuxEnv } from '../../src/linux/netlink.js';

export type Cmd = readonly [ns: 'n1' | 'p1' | 'ul', tool: 'ip' | 'bridge', args: string];

export const TOPO: readonly Cmd[] = [
  ['n1', 'ip', 'link set lo up'],
  ['n1', 'ip', 'link add eth0 type veth peer name ul0 netns ul'],
  ['n1', 'ip', 'link set eth0 address 7a:36:c7:54:f6:49'],
  ['n1', 'ip', 'addr add 192.168.4.86/24 dev eth0'],
  ['n1', 'ip', 'link set eth0 up'],
  ['ul', 'ip', 'link set ul0 up'],
  ['n1', 'ip', 'link add cni0 type bridge'],
  ['n1', 'ip', 'link set cni0 mtu 1450'],
  ['n1', 'ip', 'addr add 10.42.0.1/24 dev cni0'],
  ['n1', 'ip', 'link set cni0 up'],
  ['n1', 'ip', 'link add veth1a type veth peer name eth0 netns p1'],
  ['n1', 'ip', 'link set veth1a address 8a:08:2c:0e:a9:78'],
  ['n1', 'ip', 'link set veth1a mtu 1450'],
  ['n1', 'ip', 'link set veth1a master cni0'],
  ['n1', 'ip', 'link set veth1a up'],
  ['n1', 'ip', 'link set veth1a type bridge_slave hairpin on'],
  ['p1', 'ip', 'link set eth0 address f2:bc:53:58:92:cd'],
  ['p1', 'ip', 'link set eth0 mtu 1450'],
  ['p1', 'ip', 'link set eth0 up'],
  ['p1', 'ip', 'link set lo up'],
  ['p1', 'ip', 'addr add 10.42.0.2/24 dev eth0'],
  ['p1', 'ip', 'route add 10.42.0.0/16 via 10.42.0.1'],
  ['p1', 'ip', 'route add default via 10.42.0.1'],
  ['n1', 'ip', 'link add flannel.1 type vxlan id 1 local 192.168.4.86 dev eth0 nolearning dstport 8472'],
  ['n1', 'ip', 'link set flannel.1 address aa:aa:aa:00:00:01'],
  ['n1', 'ip', 'link set flannel.1 up'],
  ['n1', 'ip', 'addr add 10.42.0.0/32 dev flannel.1'],
  ['n1', 'ip', 'neigh replace 10.42.1.0 lladdr aa:aa:aa:00:00:02 dev flannel.1 nud permanent'],
  ['n1', 'bridge', 'fdb append aa:aa:aa:00:00:02 dev flannel.1 dst 192.168.4.87 self permanent'],
  ['n1', 'ip', 'route replace 10.42.1.0/24 via 10.42.1.0 dev flannel.1 onlink'],
];

export interface Model {
  env: LinuxEnv & { clock: EventQueue };
  ns: Record<'n1' | 'p1' | 'ul', Netns>;
}

export function buildModel(cmds: readonly Cmd[] = TOPO, prefix = 'kwt-linux-x'): Model {
  const env = { clock: new EventQueue(), rng: new Random(7), trace: null };
  const ns = {
    n1: new Netns(env, 'node', `${prefix}-n1`),
    p1: new Netns(env, 'node', `${prefix}-p1`),
    ul: new Netns(env, 'node', `${prefix}-ul`),
  };
  const byName = (n: string): Netns | undefined => ({ [`${prefix}-n1`]: ns.n1, [`${prefix}-p1`]: ns.p1, [`${prefix}-ul`]: ns.ul, n1: ns.n1, p1: ns.p1, ul: ns.ul })[n];
  for (const [where, tool, args] of cmds) {
    if (tool === 'ip') ip(ns[where], args, byName);
    else bridge(ns[where], args);
  }
  return { env, ns };
}

/** Timers that depend on when the command ran. */
export function normaliseTimers(s: string): string {
  return s.replace(/(gc_timer|forward_delay_timer) +[0-9]+\.[0-9]+/g, '$1 T');
}
