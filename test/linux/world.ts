// Small builders for datapath tests: namespaces programmed with the same words as `ip`.
import { EventQueue } from '../../src/sim/event-queue.js';
import { Random } from '../../src/sim/random.js';
import { TraceRecorder } from '../../src/sim/trace.js';
import { bridge, ip, linkAdd, Netns } from '../../src/linux/netlink.js';
import type { LinuxTraceEvent } from '../../src/linux/trace.js';
import type { NetProtocol, IcmpErrorInfo } from '../../src/linux/ip-layer.js';
import { Segment } from '../../src/linux/link/segment.js';
import type { NicDevice } from '../../src/linux/link/nic.js';
import type { PacketBuffer } from '../../src/wire/packet-buffer.js';

export class World {
  readonly clock = new EventQueue();
  readonly trace = new TraceRecorder<LinuxTraceEvent>();
  readonly env = { clock: this.clock, rng: new Random(42), trace: this.trace as TraceRecorder<LinuxTraceEvent> | null };
  readonly ns = new Map<string, Netns>();

  netns(name: string, node = 'n'): Netns {
    const n = new Netns(this.env, node, name);
    this.ns.set(name, n);
    ip(n, 'link set lo up');
    return n;
  }

  ip(where: string, cmd: string): void {
    ip(this.ns.get(where)!, cmd, (x) => this.ns.get(x));
  }

  bridge(where: string, cmd: string): void {
    bridge(this.ns.get(where)!, cmd);
  }

  nic(where: string, name: string, seg: Segment, mac?: number): NicDevice {
    const n = this.ns.get(where)!;
    const d = linkAdd(n, mac === undefined ? { name, kind: 'nic' } : { name, kind: 'nic', address: mac as never }) as NicDevice;
    d.attach(seg);
    return d;
  }

  segment(name: string): Segment {
    return new Segment(this.clock, name);
  }

  /** Runs the simulation for `ns` of simulated time (the clock reaches the end even when idle). */
  run(ns = 10e9): void {
    const until = this.clock.now + ns;
    this.clock.at(until, () => undefined);
    this.clock.run(until);
  }
}

/** A protocol handler that records what it is given. */
export function recorder(accept = true): NetProtocol & { got: PacketBuffer[]; errors: IcmpErrorInfo[] } {
  const got: PacketBuffer[] = [];
  const errors: IcmpErrorInfo[] = [];
  return {
    got,
    errors,
    handler(p) {
      got.push(p.clone());
      return accept;
    },
    errHandler(e) {
      errors.push(e);
    },
  };
}

export interface FlannelNode {
  node: string;
  ip: string;
  subnet: number;
  vtep: string;
  eth: string;
}

/**
 * A node as the flannel bridge CNI and flanneld program it: eth0 on the segment, cni0
 * 10.42.<subnet>.1/24, flannel.1 (VNI 1, dstport 8472, nolearning) with 10.42.<subnet>.0/32,
 * ip_forward=1, and one pod `<node>-pod` at 10.42.<subnet>.2 behind veth `<node>-veth`.
 */
export function flannelNode(w: World, seg: Segment, n: FlannelNode, peers: readonly FlannelNode[]): void {
  const root = n.node;
  const pod = `${n.node}-pod`;
  w.netns(root, n.node);
  w.netns(pod, n.node);
  w.nic(root, 'eth0', seg);
  w.ip(root, `link set eth0 address ${n.eth}`);
  w.ip(root, 'link set eth0 up');
  w.ip(root, `addr add ${n.ip}/24 brd + dev eth0`);
  w.ns.get(root)!.sysctl_.set('net.ipv4.ip_forward', '1');
  w.ip(root, 'link add cni0 type bridge');
  w.ip(root, 'link set cni0 mtu 1450');
  w.ip(root, `addr add 10.42.${n.subnet}.1/24 brd + dev cni0`);
  w.ip(root, 'link set cni0 up');
  w.ip(root, `link add veth${n.subnet} type veth peer name eth0 netns ${pod}`);
  w.ip(root, `link set veth${n.subnet} mtu 1450`);
  w.ip(root, `link set veth${n.subnet} master cni0`);
  w.ip(root, `link set veth${n.subnet} up`);
  w.ip(root, `link set veth${n.subnet} type bridge_slave hairpin on`);
  w.ip(pod, 'link set eth0 mtu 1450');
  w.ip(pod, 'link set eth0 up');
  w.ip(pod, `addr add 10.42.${n.subnet}.2/24 brd + dev eth0`);
  w.ip(pod, `route add 10.42.0.0/16 via 10.42.${n.subnet}.1`);
  w.ip(pod, `route add default via 10.42.${n.subnet}.1`);
  w.ip(root, `link add flannel.1 type vxlan id 1 local ${n.ip} dev eth0 nolearning`);
  w.ip(root, `link set flannel.1 address ${n.vtep}`);
  w.ip(root, 'link set flannel.1 up');
  w.ip(root, `addr add 10.42.${n.subnet}.0/32 dev flannel.1`);
  for (const p of peers) {
    if (p === n) continue;
    w.ip(root, `neigh replace 10.42.${p.subnet}.0 lladdr ${p.vtep} dev flannel.1 nud permanent`);
    w.bridge(root, `fdb append ${p.vtep} dev flannel.1 dst ${p.ip} self permanent`);
    w.ip(root, `route replace 10.42.${p.subnet}.0/24 via 10.42.${p.subnet}.0 dev flannel.1 onlink`);
  }
}

export const NODE_A: FlannelNode = { node: 'a', ip: '192.168.4.86', subnet: 0, vtep: 'aa:aa:aa:00:00:01', eth: '7a:36:c7:54:f6:49' };
export const NODE_B: FlannelNode = { node: 'b', ip: '192.168.4.87', subnet: 1, vtep: 'aa:aa:aa:00:00:02', eth: 'e6:d8:6c:c3:af:74' };
