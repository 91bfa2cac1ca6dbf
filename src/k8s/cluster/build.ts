import { linkAdd } from '../../linux/netlink.js';
import type { NicDevice } from '../../linux/link/nic.js';
import { setBootId } from '../../linux/neigh-hash.js';
import { hookPacketSink } from '../../linux/trace.js';
import { cidrContains, formatIpv4, parseCidr, parseIpv4 } from '../../wire/ipv4-address.js';
import { formatMac, parseMac, randomMac } from '../../wire/mac-address.js';
import type { ClusterState } from '../controllers/cluster-state.js';
import { bridgeCniAdd } from '../cni/bridge.js';
import { caliName, calicoCniAdd } from '../cni/calico.js';
import { AGENT as FELIX, startFelix } from '../calico/agent.js';
import { defaultIPv4Pool, podProfileIds } from '../calico/felix.js';
import { AGENT as DOCKERD, DEFAULT_BRIDGE, dockerdSetup } from '../dockerd/dockerd.js';
import { flanneldSetup, type FlannelLease } from '../flannel/flanneld.js';
import { flannelRestoreText } from '../flannel/iptables.js';
import { NetfilterIptables } from './iptables-backend.js';
import { AGENT as KUBE_PROXY, proxyConfigOf, startIptablesProxy, startIpvsProxy } from './kube-proxy.js';
import { podKey, World, type Machine } from './world.js';

export const GATEWAY = 'gateway';
const OS = 'os/network';

/**
 * Builds the Linux side of a cluster from the control plane's state: the underlay segment and
 * its gateway, every node's root namespace with eth0, external hosts, then what the node
 * agents do, in the order they start on a real node: flanneld, then kubelet + CNI for each
 * pod. Deterministic for the same state.
 */
export function buildWorld(state: ClusterState): World {
  const spec = state.cluster.spec;
  const w = new World(spec.seed);
  const macRng = w.rng.fork('hw-mac');
  const underlay = parseCidr(spec.underlay.cidr);
  const seg = w.segment('underlay');
  const mtu = spec.underlay.mtu ?? 1500;

  const nic = (m: Machine, name: string, mac: string | undefined, segName: string): NicDevice => {
    const d = linkAdd(m.root, { name, kind: 'nic', address: mac ? parseMac(mac) : randomMac(() => macRng.byte()) }) as NicDevice;
    d.mtu = mtu;
    d.attach(w.segment(segName));
    return d;
  };

  // The underlay gateway routes to everything outside the underlay (the "internet" side).
  const gw = w.addMachine(GATEWAY, spec.underlay.gateway, 'gateway');
  nic(gw, 'eth0', spec.underlay.gatewayMAC, 'underlay');
  w.log.ip(gw.root, OS, 'link set eth0 up');
  w.log.ip(gw.root, OS, `addr add ${spec.underlay.gateway}/${underlay.len} brd + dev eth0`);
  w.log.sysctl(gw.root, OS, 'net.ipv4.ip_forward', '1');
  const outside = spec.externalHosts.filter((h) => !cidrContains(underlay, parseIpv4(h.ip)));
  if (outside.length) {
    nic(gw, 'eth1', undefined, 'internet');
    w.log.ip(gw.root, OS, 'link set eth1 up');
    w.log.ip(gw.root, OS, `addr add ${spec.underlay.gateway}/32 dev eth1`);
  }

  const dockerRng = w.rng.fork('dockerd');
  for (const n of spec.nodes) {
    if (n.bootID !== undefined) setBootId(w.env, n.name, n.bootID);
    const m = w.addMachine(n.name, n.ip, 'node');
    nic(m, 'eth0', n.mac, 'underlay');
    w.log.ip(m.root, OS, 'link set eth0 up');
    w.log.ip(m.root, OS, `addr add ${n.ip}/${underlay.len} brd + dev eth0`);
    w.log.ip(m.root, OS, `route add default via ${spec.underlay.gateway} dev eth0`);
    for (const r of n.routes ?? []) w.log.ip(m.root, OS, `route add ${r}`);
    // br_netfilter is loaded on every Kubernetes node (kubeadm preflight, kube-proxy).
    w.log.sysctl(m.root, OS, 'net.bridge.bridge-nf-call-iptables', '1');
    w.log.sysctl(m.root, OS, 'net.ipv4.ip_forward', '1');
    // dockerd starts at boot, before the node's Kubernetes agents.
    if (spec.containerRuntime === 'docker') {
      const ipt = NetfilterIptables.forNetns(m.root, w.log, DOCKERD);
      w.iptables.set(m.root, ipt);
      dockerdSetup(w.log, m.root, ipt, { ...DEFAULT_BRIDGE, mac: `02:42:${formatMac(randomMac(() => dockerRng.byte())).slice(6)}` });
    }
  }

  for (const h of spec.externalHosts) {
    const m = w.addMachine(h.name, h.ip, 'host');
    const inside = cidrContains(underlay, parseIpv4(h.ip));
    nic(m, 'eth0', h.mac, inside ? 'underlay' : 'internet');
    w.log.ip(m.root, OS, 'link set eth0 up');
    if (inside) {
      w.log.ip(m.root, OS, `addr add ${h.ip}/${underlay.len} brd + dev eth0`);
      w.log.ip(m.root, OS, `route add default via ${spec.underlay.gateway} dev eth0`);
    } else {
      w.log.ip(m.root, OS, `addr add ${h.ip}/32 dev eth0`);
      w.log.ip(m.root, OS, `route add ${spec.underlay.gateway} dev eth0 scope link`);
      w.log.ip(m.root, OS, `route add default via ${spec.underlay.gateway} dev eth0`);
      w.log.ip(gw.root, OS, `route add ${h.ip} dev eth1 scope link`);
    }
  }

  // flanneld: one lease per node with a pod CIDR.
  const vtepRng = w.rng.fork('flannel-vtep');
  const leases: FlannelLease[] = state.nodes.map((node, i) => ({
    subnet: node.spec.podCIDR ?? '',
    publicIp: spec.nodes[i]!.ip,
    vtepMac: spec.nodes[i]!.vtepMAC ?? formatMac(randomMac(() => vtepRng.byte())),
  }));
  state.nodes.forEach((node, i) => {
    const self = leases[i]!;
    if (!self.subnet) return;
    const m = w.machines.get(node.metadata.name)!;
    flanneldSetup(w.log, m.root, self, leases.filter((l, j) => j !== i && l.subnet), { vni: 1, port: 0, underlayMtu: mtu, iface: 'eth0' });
    // flanneld --ip-masq (the default manifests, Canal's too) and its forward rules.
    const ipt = (w.iptables.get(m.root) ?? NetfilterIptables.forNetns(m.root, w.log, 'flanneld')).withAgent('flanneld');
    w.iptables.set(m.root, ipt);
    const text = flannelRestoreText({ network: spec.podCIDR, lease: self.subnet, ipMasq: true, forwardRules: true, randomFully: ipt.hasRandomFully });
    ipt.restore(text, { noflush: true });
  });

  // kube-proxy on every node.
  const proxyCfg = proxyConfigOf(state);
  state.nodes.forEach((node, i) => {
    const m = w.machines.get(node.metadata.name)!;
    const ipt = (w.iptables.get(m.root) ?? NetfilterIptables.forNetns(m.root, w.log, KUBE_PROXY)).withAgent(KUBE_PROXY);
    w.iptables.set(m.root, ipt);
    if (proxyCfg.mode === 'iptables') startIptablesProxy(w.log, m.root, ipt, state, node.metadata.name, spec.nodes[i]!.ip, node.spec.podCIDR, proxyCfg);
    else if (proxyCfg.mode === 'ipvs') {
      const { ipvs } = startIpvsProxy(w.log, m.root, ipt, state, node.metadata.name, spec.nodes[i]!.ip, node.spec.podCIDR, proxyCfg);
      w.ipvs.set(m.root, ipvs.ipvs);
      w.traceSinks.push((sink) => void (ipvs.ipvs.sink = (sink && hookPacketSink(sink, m.root)) as never));
    }
  });

  // kubelet + CNI for every scheduled pod.
  const vethRng = w.rng.fork('cni-veth');
  const netnsRng = w.rng.fork('cri-netns');
  const usedNetns = new Set<string>();
  for (const p of state.pods) {
    const nodeName = p.spec.nodeName;
    if (!nodeName || !p.status?.podIP) continue;
    const m = w.machines.get(nodeName)!;
    if (p.spec.hostNetwork) {
      w.pods.set(podKey(p), { pod: p, node: m, netns: m.root, sockets: m.sockets, hostVeth: '' });
      continue;
    }
    let nsName = p.metadata.name;
    if (usedNetns.has(`${nodeName}/${nsName}`)) nsName = `${p.metadata.namespace}.${p.metadata.name}`;
    usedNetns.add(`${nodeName}/${nsName}`);
    const podNs = w.netns(nodeName, nsName);
    // What /var/run/netns calls the sandbox's namespace: containerd's cni-<uuid>; dockershim's
    // live under /var/run/docker/netns, unnamed to iproute2.
    podNs.mountName = spec.containerRuntime === 'containerd' ? `cni-${netnsRng.uuidV4()}` : null;
    const node = state.nodes.find((n) => n.metadata.name === nodeName)!;
    let hostVeth: string;
    if (spec.cni === 'canal') {
      hostVeth = caliName(p.metadata.namespace ?? 'default', p.metadata.name);
      calicoCniAdd(w.log, m.root, podNs, p.status.podIP, mtu - 50, hostVeth);
    } else {
      hostVeth = `veth${[0, 1, 2, 3].map(() => vethRng.byte().toString(16).padStart(2, '0')).join('')}`;
      bridgeCniAdd(w.log, m.root, podNs, p.status.podIP, { subnet: node.spec.podCIDR!, network: spec.podCIDR, mtu: mtu - 50 }, hostVeth);
    }
    w.pods.set(podKey(p), { pod: p, node: m, netns: podNs, sockets: w.sockets(podNs), hostVeth });
  }

  // Canal: calico-node's Felix polices the cali* veths. The pool is the one calico-node's
  // start-up creates on the first node (Canal's manifest leaves CALICO_IPV4POOL_CIDR unset).
  if (spec.cni === 'canal' && state.nodes.length) {
    const first = w.machines.get(state.nodes[0]!.metadata.name)!;
    const pool = defaultIPv4Pool(first.root.devicesInOrder().flatMap((d) => d.inAddrs.map((a) => formatIpv4(a.addr))));
    for (const node of state.nodes) {
      const m = w.machines.get(node.metadata.name)!;
      const endpoints = [...w.pods.values()]
        .filter((x) => x.node === m && x.hostVeth)
        .map((x) => ({ name: x.hostVeth, profileIds: podProfileIds(x.pod.metadata.namespace ?? 'default', serviceAccountOf(x.pod)) }));
      const ipt = w.iptables.get(m.root) ?? NetfilterIptables.forNetns(m.root, w.log, FELIX);
      w.iptables.set(m.root, ipt);
      startFelix(w.log, m.root, ipt, endpoints, [pool]);
    }
  }
  return w;
}

/** spec.serviceAccountName, which the API server's ServiceAccount admission sets to `default`. */
function serviceAccountOf(p: { spec: object }): string {
  const s = p.spec as { serviceAccountName?: string; serviceAccount?: string };
  return s.serviceAccountName ?? s.serviceAccount ?? 'default';
}
