/**
 * The external load balancer's source-preserving mode (`loadBalancer.mode: dnat`): a cloud
 * "network" LB (AWS NLB with instance targets and client IP preservation, GCP's target-pool
 * LB) or an LVS-NAT director. It opens no connection of its own: the client's packets are
 * forwarded to one node's NodePort with only the destination rewritten, so kube-proxy on the
 * node sees the client's address and externalTrafficPolicy decides what happens to it
 * (Cluster: masqueraded, may hop to another node; Local: kept, local endpoints only).
 *
 * Here the LB host does it with the kernel's own tools, which the trace then shows like any
 * node's rules: ip_forward on, and one nat PREROUTING chain per listener that spreads new
 * connections round robin over the healthy nodes (`statistic --mode nth`, as `ipvsadm -s rr`
 * would) and DNATs them to `node:nodePort`. Conntrack un-DNATs the replies.
 *
 * Replies must come back through the LB (in a cloud the fabric does it; an LVS-NAT director
 * must be the real servers' route to the clients): a node answering the client directly
 * answers from `node:nodePort`, which the client never dialed, and the client resets it.
 * So the plan also routes the LB's clients via the LB on every node: one `/32` per client
 * host (`ip route add CLIENT via LB`), the model's stand-in for the cloud's return path.
 *
 * Health: with externalTrafficPolicy Local only the nodes with a ready local endpoint are
 * targets (what kube-proxy's healthCheckNodePort `/healthz` answers 200 on; a NodePort
 * Service has no such port, and an LB checking the traffic port gets the same answer from
 * iptables mode's drop); with Cluster every node is. With no healthy node the chain is
 * empty: the packet is the LB's own, and nothing listens there (connection refused).
 *
 * Everything is data (the iptables-restore payload, sysctls, routes): the caller applies it
 * through the nodes' action log so it is replayed on a real kernel too.
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import type { LbTarget } from './l4-proxy.js';
import { describeDnatMode, type LbModeDescription } from './modes.js';

export interface DnatListenerInput {
  /** The port clients connect to on the LB (the Service port, 80 for an ingress). */
  readonly port: number;
  /** The Service's NodePort for it. */
  readonly nodePort: number;
}

export interface DnatLbInput {
  /** The LB host's name (for comments) and address (the VIP clients dial). */
  readonly name: string;
  readonly addr: Ipv4Addr;
  /** `namespace/name` of the Service behind it. */
  readonly service: string;
  readonly listeners: readonly DnatListenerInput[];
  /** Every node, in scenario order: name and address. */
  readonly nodes: readonly { readonly node: string; readonly addr: Ipv4Addr }[];
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  /** Nodes with a ready endpoint of the Service (what healthCheckNodePort would report). */
  readonly nodesWithEndpoints: ReadonlySet<string>;
  readonly healthCheckNodePort?: number;
  /** The hosts whose connections come through this LB: the nodes route them back via it. */
  readonly clients: readonly Ipv4Addr[];
}

export interface DnatLbPlan {
  readonly input: DnatLbInput;
  /** One description per listener: targets, health checks, what the node sees. */
  readonly listeners: readonly (LbModeDescription & { readonly port: number; readonly chain: string })[];
  /** `sysctl -w` on the LB host. */
  readonly sysctls: readonly (readonly [string, string])[];
  /** `iptables-restore --noflush` payload for the LB host. */
  readonly restore: string;
  /** `ip route add ...` per node, for the replies to the clients. */
  readonly nodeRoutes: readonly { readonly node: string; readonly cmd: string }[];
}

/** The chain of one listener: `LB-TCP-<port>`. */
export function dnatChainName(port: number): string {
  return `LB-TCP-${port}`;
}

export function planDnatLb(i: DnatLbInput): DnatLbPlan {
  const vip = formatIpv4(i.addr);
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  const rules: string[] = [];
  const listeners = i.listeners.map((l) => {
    const targets: LbTarget[] = i.nodes.map((n) => ({ node: n.node, addr: n.addr, port: l.nodePort }));
    const d = describeDnatMode({
      vip: i.addr,
      port: l.port,
      nodes: targets,
      externalTrafficPolicy: i.externalTrafficPolicy,
      nodesWithEndpoints: i.nodesWithEndpoints,
      ...(i.healthCheckNodePort !== undefined ? { healthCheckNodePort: i.healthCheckNodePort } : {}),
    });
    const chain = dnatChainName(l.port);
    lines.push(`:${chain} - [0:0]`);
    rules.push(`-A PREROUTING -d ${vip}/32 -p tcp -m comment --comment "${i.name} ${i.service}:${l.port}" -m tcp --dport ${l.port} -j ${chain}`);
    // Round robin over n targets: rule k takes every (n-k)th of the connections left, the last all
    // the rest. `-p tcp` because DNAT to a port needs it (iptables: "Need TCP, UDP, SCTP or DCCP").
    d.targets.forEach((t, k) => {
      const left = d.targets.length - k;
      const pick = left > 1 ? ` -m statistic --mode nth --every ${left} --packet 0` : '';
      rules.push(`-A ${chain} -p tcp -m comment --comment "${t.node}"${pick} -j DNAT --to-destination ${formatIpv4(t.addr)}:${t.port}`);
    });
    return { ...d, port: l.port, chain };
  });
  const restore = [...lines, ...rules, 'COMMIT', ''].join('\n');
  const nodeRoutes = i.nodes.flatMap((n) => i.clients.map((c) => ({ node: n.node, cmd: `route add ${formatIpv4(c)}/32 via ${vip} dev eth0` })));
  return { input: i, listeners, sysctls: [['net.ipv4.ip_forward', '1']], restore, nodeRoutes };
}
