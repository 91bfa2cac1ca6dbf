/**
 * kube-proxy's rule generation: pick the proxier the configuration asks for. Both proxiers
 * take Service/EndpointSlice events and answer, per sync, what they wrote (restore text and
 * operations); the backends they drive are interfaces the netfilter/ipvs/linux models implement.
 */
export * from './backend.js';
export * from './chain-names.js';
export * from './config.js';
export * from './endpoints.js';
export * from './ipset.js';
export * from './iptables.js';
export * from './ipvs.js';
export * from './restore-dump.js';
export * from './service-port.js';
export * from './sync-runner.js';
export * from './topology.js';

import type { IptablesBackend } from './backend.js';
import type { KubeProxyConfig } from './config.js';
import { IptablesProxier } from './iptables.js';
import { IpvsProxier, type IpsetBackend, type IpvsBackend, type NetlinkBackend } from './ipvs.js';

export interface ProxierChoice {
  config: KubeProxyConfig;
  nodeName: string;
  nodeIP: string;
  nodePodCIDR?: string;
  iptables: IptablesBackend;
  /** required in ipvs mode */
  netlink?: NetlinkBackend;
  ipvs?: IpvsBackend;
  ipset?: IpsetBackend;
  now?: () => number;
  interfaceAddrs?: readonly string[];
  kernelVersion?: string;
}

/** The proxier for config.mode (nftables mode is not modelled: it fails clearly). */
export function createProxier(c: ProxierChoice): IptablesProxier | IpvsProxier {
  const common = { nodeName: c.nodeName, nodeIP: c.nodeIP, config: c.config, ...(c.nodePodCIDR !== undefined ? { nodePodCIDR: c.nodePodCIDR } : {}) };
  switch (c.config.mode) {
    case 'iptables':
      return new IptablesProxier({
        ...common,
        backend: c.iptables,
        ...(c.now !== undefined ? { now: c.now } : {}),
        ...(c.interfaceAddrs !== undefined ? { interfaceAddrs: c.interfaceAddrs } : {}),
      });
    case 'ipvs':
      if (c.netlink === undefined) throw new Error('kube-proxy ipvs mode needs a netlink backend (kube-ipvs0)');
      return new IpvsProxier({
        ...common,
        iptables: c.iptables,
        netlink: c.netlink,
        ...(c.ipvs !== undefined ? { ipvs: c.ipvs } : {}),
        ...(c.ipset !== undefined ? { ipset: c.ipset } : {}),
        ...(c.kernelVersion !== undefined ? { kernelVersion: c.kernelVersion } : {}),
      });
    case 'nftables':
      throw new Error('kube-proxy nftables mode is not modelled; use mode iptables or ipvs');
  }
}
