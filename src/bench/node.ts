/**
 * One benchmark node: a World with a single machine `bench-node` (root namespace with eth0 on
 * the underlay and a pod-facing veth `vethclient` to a client pod 10.32.0.2), and kube-proxy
 * programming it through the real proxier and the lead's model backends (NetfilterIptables,
 * ModelIpvs, ModelNetlink, ModelIpset). Packets are Ethernet frames handed to the root
 * namespace's receive path on the veth (a pod's SYN) or on eth0 (the endpoint's reply), so
 * they walk every registered hook (raw, conntrack, mangle, nat, filter, IPVS) as on a node.
 * The two egress devices are link wrappers (as linux/capture.ts wraps queueXmit) that keep the
 * last frame's addresses and drop it: the wire ends there, nothing is scheduled.
 */
import { IpsetBackendTimer, IptablesTimer, timedIpvs, type ApplyTimes } from './timed.js';
import { World } from '../k8s/cluster/world.js';
import { ActionLog } from '../k8s/cluster/actions.js';
import { NetfilterIptables } from '../k8s/cluster/iptables-backend.js';
import { ModelIpset, ModelIpvs, ModelNetlink } from '../k8s/cluster/ipvs-backend.js';
import { kubeProxyConfig, type KubeProxyConfig } from '../k8s/kube-proxy/config.js';
import { IptablesProxier, type IptablesSyncResult } from '../k8s/kube-proxy/iptables.js';
import { IpvsProxier, type IpvsSyncResult } from '../k8s/kube-proxy/ipvs.js';
import type { EndpointSlice, Service } from '../k8s/api/types.js';
import { linkAdd, neighSet, type Netns } from '../linux/netlink.js';
import type { NetDevice } from '../linux/link/device.js';
import { NicDevice } from '../linux/link/nic.js';
import { Netfilter } from '../netfilter/netfilter.js';
import type { Ipvs } from '../ipvs/ipvs.js';
import { buildTcp, pushEthernet } from '../wire/build.js';
import { parseIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import type { MacAddr } from '../wire/mac-address.js';
import type { PacketBuffer } from '../wire/packet-buffer.js';
import { CLUSTER_CIDR, NODE_POD_CIDR } from './synth.js';

export type Mode = 'iptables' | 'ipvs';

export const NODE_IP = '192.168.1.10';
export const GATEWAY_IP = '192.168.1.1';
export const CLIENT_IP = parseIpv4('10.32.0.2');
const GATEWAY_MAC = 0x020000000001 as MacAddr;
const CLIENT_MAC = 0x020000000002 as MacAddr;
const VETH_MAC = 0x020000000003 as MacAddr;
const ETH0_MAC = 0x020000000004 as MacAddr;

/** The agents' command log without their payloads (the bench would otherwise hold every one). */
class QuietLog extends ActionLog {
  override tool(): void {}
}

export interface SeenFrame {
  src: Ipv4Addr;
  dst: Ipv4Addr;
  sport: number;
  dport: number;
  frames: number;
}

export interface SyncFigures {
  result: IptablesSyncResult | IpvsSyncResult;
  /** syncProxyRules: generating the rules and applying them (what kube-proxy's sync metric times). */
  totalNs: number;
  /** The informer events before it (Service / EndpointSlice handlers filling the change trackers). */
  informerNs: number;
  apply: ApplyTimes;
}

export class BenchNode {
  readonly world = new World(1);
  readonly root: Netns;
  readonly nf: Netfilter;
  readonly ipt: IptablesTimer;
  readonly veth: NetDevice;
  readonly eth0: NicDevice;
  readonly out: SeenFrame = { src: 0 as Ipv4Addr, dst: 0 as Ipv4Addr, sport: 0, dport: 0, frames: 0 };
  readonly toClient: SeenFrame = { src: 0 as Ipv4Addr, dst: 0 as Ipv4Addr, sport: 0, dport: 0, frames: 0 };
  readonly config: KubeProxyConfig;
  readonly apply: ApplyTimes = { iptablesNs: 0, ipsetNs: 0, ipvsNs: 0, restoreBytes: 0 };
  proxier: IptablesProxier | IpvsProxier | null = null;
  ipvs: Ipvs | null = null;
  /** IPVS hash lookups (connection table in/out, service table), counted on the instance. */
  ipvsLookups = 0;

  constructor(readonly mode: Mode, private readonly now: () => number) {
    const log = new QuietLog((node, name) => this.world.getNetns(node, name));
    const m = this.world.addMachine('bench-node', NODE_IP, 'node');
    this.root = m.root;
    const client = this.world.netns('bench-node', 'client');
    const ns = this.root;
    this.eth0 = linkAdd(ns, { name: 'eth0', kind: 'nic', address: ETH0_MAC }) as NicDevice;
    this.eth0.attach(this.world.segment('underlay'));
    this.veth = linkAdd(ns, { name: 'vethclient', kind: 'veth', address: VETH_MAC, peer: { name: 'eth0', netns: client, address: CLIENT_MAC } });
    for (const cmd of [
      'link set eth0 up',
      `addr add ${NODE_IP}/24 brd + dev eth0`,
      `route add default via ${GATEWAY_IP} dev eth0`,
      'link set vethclient up',
      `addr add 10.32.0.1/24 dev vethclient`,
    ]) log.ip(ns, 'bench', cmd);
    log.ip(client, 'bench', 'link set eth0 up');
    neighSet(ns, { dst: parseIpv4(GATEWAY_IP), dev: 'eth0', lladdr: GATEWAY_MAC, state: 'permanent' }, false);
    neighSet(ns, { dst: CLIENT_IP, dev: 'vethclient', lladdr: CLIENT_MAC, state: 'permanent' }, false);
    log.sysctl(ns, 'bench', 'net.ipv4.ip_forward', '1');
    // The wire: keep what left and drop it (as a capture wrapper replaces queueXmit).
    const tap = (seen: SeenFrame) => (p: PacketBuffer): void => {
      const b = p.buf;
      const ipo = p.head + 14;
      const ihl = (b[ipo]! & 15) * 4;
      seen.src = (((b[ipo + 12]! << 24) | (b[ipo + 13]! << 16) | (b[ipo + 14]! << 8) | b[ipo + 15]!) >>> 0) as Ipv4Addr;
      seen.dst = (((b[ipo + 16]! << 24) | (b[ipo + 17]! << 16) | (b[ipo + 18]! << 8) | b[ipo + 19]!) >>> 0) as Ipv4Addr;
      seen.sport = (b[ipo + ihl]! << 8) | b[ipo + ihl + 1]!;
      seen.dport = (b[ipo + ihl + 2]! << 8) | b[ipo + ihl + 3]!;
      seen.frames++;
    };
    this.eth0.queueXmit = tap(this.out);
    this.veth.queueXmit = tap(this.toClient);

    this.config = kubeProxyConfig({ mode, clusterCIDR: CLUSTER_CIDR });
    this.nf = new Netfilter(ns);
    this.ipt = new IptablesTimer(this.nf, ns, log, 'kube-proxy', this.apply, now);
    if (mode === 'iptables') {
      this.proxier = new IptablesProxier({
        nodeName: 'bench-node', nodeIP: NODE_IP, config: this.config, backend: this.ipt,
        now: () => ns.clock.now, interfaceAddrs: [NODE_IP], nodePodCIDR: NODE_POD_CIDR,
        // As kube-proxy on a node where nfacct.Ensure fails (no nfacct objects): no `-m nfacct`
        // rules, so the same payload loads into a real namespace (--kernel) unchanged.
        nfacctCounters: { ctStateInvalidDropped: false, localhostNodePortsAccepted: false },
      });
    } else {
      const model = new ModelIpvs(ns, log, 'kube-proxy');
      this.ipvs = model.ipvs;
      const proxier = new IpvsProxier({
        nodeName: 'bench-node', nodeIP: NODE_IP, config: this.config, iptables: this.ipt,
        ipvs: timedIpvs(model, this.apply, now),
        netlink: new ModelNetlink(ns, log, 'kube-proxy'),
        ipset: new IpsetBackendTimer(new ModelIpset(this.ipt, ns, log, 'kube-proxy'), this.apply, now),
        kernelVersion: '6.18', nodePodCIDR: NODE_POD_CIDR,
      });
      // As startIpvsProxy: net.ipv4.vs.* belong to the IPVS model once ip_vs is loaded.
      for (const s of proxier.sysctls) {
        const key = s.name.replace(/\//g, '.');
        const vs = /^net\.ipv4\.vs\.(\w+)$/.exec(key);
        if (vs && vs[1]! in model.ipvs.sysctl) (model.ipvs.sysctl as unknown as Record<string, number>)[vs[1]!] = Number(s.value);
        else log.sysctl(ns, 'kube-proxy', key, String(s.value));
      }
      this.proxier = proxier;
      const conns = model.ipvs.conns;
      const inGet = conns.inGet.bind(conns);
      const outGet = conns.outGet.bind(conns);
      const find = model.ipvs.serviceFind.bind(model.ipvs);
      conns.inGet = (...a) => (this.ipvsLookups++, inGet(...a));
      conns.outGet = (...a) => (this.ipvsLookups++, outGet(...a));
      model.ipvs.serviceFind = (...a) => (this.ipvsLookups++, find(...a));
    }
  }

  /** The informers' events, then one syncProxyRules, each timed. */
  sync(services: readonly Service[], slices: readonly EndpointSlice[]): SyncFigures {
    const p = this.proxier!;
    for (const k of Object.keys(this.apply) as (keyof ApplyTimes)[]) this.apply[k] = 0;
    const t0 = this.now();
    for (const s of services) p.onServiceAdd(s);
    for (const e of slices) p.onEndpointSliceAdd(e);
    const t1 = this.now();
    const result = p.syncProxyRules();
    const totalNs = this.now() - t1;
    if (!result.success) throw new Error(`kube-proxy sync failed: ${result.error?.message ?? 'unknown error'}`);
    return { result, totalNs, informerNs: t1 - t0, apply: { ...this.apply } };
  }

  /** A TCP segment from the client pod, as received on the node's end of its veth. */
  fromClient(sport: number, dst: Ipv4Addr, dport: number, flags: number): PacketBuffer {
    const p = buildTcp({ src: CLIENT_IP, dst, ttl: 64 }, { srcPort: sport, dstPort: dport, seq: 1000, ack: flags & 0x10 ? 5001 : 0, flags, window: 64240, urgent: 0, options: [] });
    return pushEthernet(p, { dst: VETH_MAC, src: CLIENT_MAC });
  }

  /** The endpoint's answer, arriving on eth0 from the gateway. */
  fromEndpoint(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, flags: number): PacketBuffer {
    const p = buildTcp({ src, dst, ttl: 63 }, { srcPort: sport, dstPort: dport, seq: 5000, ack: 1001, flags, window: 64240, urgent: 0, options: [] });
    return pushEthernet(p, { dst: ETH0_MAC, src: GATEWAY_MAC });
  }

  receiveFromClient(p: PacketBuffer): void {
    this.root.receive(this.veth, p);
  }
  receiveFromUnderlay(p: PacketBuffer): void {
    this.root.receive(this.eth0, p);
  }
}
