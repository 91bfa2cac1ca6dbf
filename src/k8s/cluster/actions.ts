import { bridge, ip, type Netns } from '../../linux/netlink.js';

/**
 * Everything an agent does to a node, as the command a real agent's netlink or tool call
 * amounts to (`ip ...`, `bridge fdb ...`, `sysctl -w k=v`, `iptables-restore` with its
 * payload). Applying an action programs the model; the same log replays onto a real kernel.
 */
export interface Action {
  readonly node: string;
  readonly netns: string;
  /** Who did it: `kubelet/cni-bridge`, `flanneld`, `kube-proxy`, ... */
  readonly agent: string;
  readonly argv: readonly string[];
  /** Standard input (an iptables-restore or ipset restore payload). */
  readonly input?: string;
}

export type NetnsResolver = (name: string) => Netns | undefined;

/** Applies agents' commands to namespaces and keeps the log. */
export class ActionLog {
  readonly actions: Action[] = [];

  constructor(private readonly resolve: (node: string, netns: string) => Netns | undefined) {}

  private record(ns: Netns, agent: string, argv: string[], input?: string): void {
    this.actions.push({ node: ns.node, netns: ns.netns, agent, argv, ...(input !== undefined ? { input } : {}) });
  }

  ip(ns: Netns, agent: string, cmd: string): void {
    ip(ns, cmd, (name) => this.resolve(ns.node, name));
    this.record(ns, agent, ['ip', ...cmd.split(/\s+/)]);
  }

  bridge(ns: Netns, agent: string, cmd: string): void {
    bridge(ns, cmd);
    this.record(ns, agent, ['bridge', ...cmd.split(/\s+/)]);
  }

  sysctl(ns: Netns, agent: string, key: string, value: string): void {
    ns.sysctl_.set(key, value);
    this.record(ns, agent, ['sysctl', '-w', `${key}=${value}`]);
  }

  /** A tool whose effect the caller applies itself (iptables-restore into the netfilter model). */
  tool(ns: Netns, agent: string, argv: string[], input?: string): void {
    this.record(ns, agent, argv, input);
  }
}
