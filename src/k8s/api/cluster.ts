/**
 * kubewire's own `Cluster` document (apiVersion kubewire.dev/v1alpha1): what a cluster's
 * installer would know — the machines, their addresses, the CNI, the underlay — plus the
 * outside world and the traffic `kubewire run` sends. Everything else comes as ordinary
 * Kubernetes manifests and component configs.
 */
import type { ObjectMeta } from './types.js';

export type CniKind = 'flannel' | 'canal';

export interface ClusterNode {
  name: string;
  ip: string;
  /** Pinned pod CIDR; otherwise allocated in node order from spec.podCIDR. */
  podCIDR?: string;
  /** flannel.1 MAC (VtepMAC in flannel's backend-data annotation); random when absent. */
  vtepMAC?: string;
  /** MAC of the node's NIC on the underlay; random when absent. */
  mac?: string;
  /**
   * The boot's ID (/proc/sys/kernel/random/boot_id, status.nodeInfo.bootID): the kernel
   * randomness that orders its tables (the ARP hash) comes from it; from the seed when absent.
   */
  bootID?: string;
  labels?: Record<string, string>;
  /** The node's /etc/resolv.conf (used by dnsPolicy Default and CoreDNS's forward . /etc/resolv.conf). */
  resolvConf?: string;
  /** Host processes listening on the node (e.g. the seed's port 6666 server on .86). */
  serve?: ServeSpec;
  /**
   * Routes the OS's network configuration adds on eth0 or lo, as `ip route add` arguments
   * (CentOS's network-scripts add `169.254.0.0/16 dev eth0 scope link metric 1002`).
   */
  routes?: string[];
}

export interface ServeSpec {
  http?: number | number[];
  tcp?: number | number[];
  udp?: number | number[];
  dns?: number;
}

export interface ExternalHost {
  name: string;
  ip: string;
  mac?: string;
  serve?: ServeSpec;
  /** Names this host answers for when it serves DNS: `name: ip`. */
  zone?: Record<string, string>;
  /** resolv.conf of the host (its nameserver), e.g. for the laptop. */
  resolvConf?: string;
  /** `loadBalancer` makes the host an L4 proxy to every node's NodePort of `service`. */
  loadBalancer?: { service: string; mode?: 'proxy' | 'dnat'; ports?: number[] };
}

export interface TrafficItem {
  from: string;
  to: string;
  proto?: 'tcp' | 'udp' | 'icmp';
}

export interface UnderlaySpec {
  cidr: string;
  gateway: string;
  mtu?: number;
  gatewayMAC?: string;
}

export interface ClusterSpec {
  podCIDR: string;
  serviceCIDR: string;
  clusterDNS: string;
  clusterDomain: string;
  cni: CniKind;
  /** Decides small file-format details (resolv.conf line order). */
  containerRuntime: 'docker' | 'containerd';
  /** node-cidr-mask-size (kube-controller-manager), default 24. */
  nodeCIDRMaskSize: number;
  underlay: UnderlaySpec;
  nodes: ClusterNode[];
  externalHosts: ExternalHost[];
  traffic: TrafficItem[];
  /** PRNG seed for everything random in the run. */
  seed: number;
}

export interface Cluster {
  apiVersion: 'kubewire.dev/v1alpha1';
  kind: 'Cluster';
  metadata: ObjectMeta;
  spec: ClusterSpec;
}
