/**
 * The two ways the external load balancer can reach the NodePorts, as data for the trace
 * and the dataplane. `proxy` is implemented by l4-proxy.ts. `dnat` (a cloud "network" LB,
 * GCP/AWS NLB-style, or an LVS-NAT director) by dnat.ts on the LB host's own netfilter:
 * the LB rewrites only the destination, so the node sees the client's own IP.
 * With `externalTrafficPolicy: Local` the LB sends only to nodes whose
 * healthCheckNodePort answers 200 (nodes with a local ready endpoint), and kube-proxy keeps
 * the source; with `Cluster` every node is a target and kube-proxy masquerades whatever it
 * forwards to another node.
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import type { LbTarget } from './l4-proxy.js';

export type LbMode = 'proxy' | 'dnat';

export interface LbModeDescription {
  readonly mode: LbMode;
  /** What the node's NodePort sees as the packet's source. */
  readonly sourceSeenByNode: 'lb' | 'client';
  /** How the destination is rewritten. */
  readonly rewrite: string;
  /** How replies get back to the client. */
  readonly replies: string;
  /** Whether there are two TCP connections (client-LB and LB-node) or one. */
  readonly connections: 1 | 2;
  /** The nodes the LB sends to. */
  readonly targets: readonly LbTarget[];
  /** With eTP Local: why a node is (not) a target. */
  readonly healthChecks: readonly { readonly node: string; readonly healthy: boolean; readonly why: string }[];
}

export interface DnatInputs {
  readonly vip: Ipv4Addr;
  readonly port: number;
  readonly nodes: readonly LbTarget[];
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  /** Nodes that have a ready local endpoint of the Service (what healthCheckNodePort reports). */
  readonly nodesWithEndpoints: ReadonlySet<string>;
  readonly healthCheckNodePort?: number;
}

export function describeProxyMode(lbAddr: Ipv4Addr, port: number, nodes: readonly LbTarget[]): LbModeDescription {
  return {
    mode: 'proxy',
    sourceSeenByNode: 'lb',
    rewrite: `client -> ${formatIpv4(lbAddr)}:${port} is terminated; a new connection ${formatIpv4(lbAddr)}:<ephemeral> -> <node>:<nodePort>`,
    replies: 'to the LB on the second connection, copied back to the client on the first',
    connections: 2,
    targets: nodes,
    healthChecks: nodes.map((n) => ({ node: n.node, healthy: true, why: 'TCP connect to the NodePort' })),
  };
}

export function describeDnatMode(i: DnatInputs): LbModeDescription {
  const local = i.externalTrafficPolicy === 'Local';
  const checks = i.nodes.map((n) => {
    const has = i.nodesWithEndpoints.has(n.node);
    if (!local) return { node: n.node, healthy: true, why: 'externalTrafficPolicy Cluster: every node forwards' };
    const hc = i.healthCheckNodePort === undefined ? 'healthCheckNodePort' : `:${i.healthCheckNodePort}/healthz`;
    return { node: n.node, healthy: has, why: has ? `${hc} answers 200 (local endpoints)` : `${hc} answers 503 (no local endpoint)` };
  });
  return {
    mode: 'dnat',
    sourceSeenByNode: 'client',
    rewrite: `dst ${formatIpv4(i.vip)}:${i.port} -> <node>:<nodePort>, source unchanged`,
    replies: 'the node must send them back through the LB (it un-DNATs them); a node replying directly breaks the connection',
    connections: 1,
    targets: i.nodes.filter((n) => checks.find((c) => c.node === n.node)!.healthy),
    healthChecks: checks,
  };
}
