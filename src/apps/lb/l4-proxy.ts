/**
 * The external load balancer in front of the cluster (seed 002 step 2, seed 000's
 * "Load Balancer accesses the Kubernetes NodePort SVC"): an L4 TCP proxy, the way
 * haproxy/nginx-stream/a cloud "classic" LB work. It accepts the client's connection on its
 * own address, opens a SECOND connection from itself to one node's NodePort, and copies
 * bytes both ways, half-closes included. So the node sees the LB as the source; the client
 * IP is gone from the IP header (the ingress sees the LB, or the node's masquerade
 * address after kube-proxy).
 *
 * Node choice: round robin over the listener's nodes, from a seeded random start; a node
 * that refuses or times out is skipped for that connection (the next one is tried, up to
 * every node once, as haproxy's `retries` with `option redispatch`). With none left the
 * client connection is closed.
 */
import type { Random } from '../../sim/random.js';
import type { TraceEventBase, TraceSink } from '../../sim/trace.js';
import type { EventQueue } from '../../sim/event-queue.js';
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { isConnectFailure, type TcpConnection, type TcpConnector, type TcpListenerHost } from '../http/stream.js';

export interface LbTarget {
  /** The node's name (for traces). */
  readonly node: string;
  readonly addr: Ipv4Addr;
  /** The Service's NodePort for this listener's port. */
  readonly port: number;
}

export interface LbListenerConfig {
  /** The port the LB listens on (80 for the ingress). */
  readonly port: number;
  readonly targets: readonly LbTarget[];
}

export interface LbDecision {
  readonly client: string;
  readonly listener: number;
  /** `node addr:port` tried, with the outcome. */
  readonly attempts: readonly { readonly target: string; readonly result: string }[];
  /** The second connection's local side (the LB's address and port). */
  readonly upstreamLocal: string | null;
  readonly target: LbTarget | null;
}

export interface LbTraceEvent extends TraceEventBase {
  readonly kind: 'lb';
  /** The decision's gist as scalars (the trace's text line and `--json` keep only scalars). */
  readonly client: string;
  /** `node addr:nodePort` connected to, null when none answered. */
  readonly target: string | null;
  /** The second connection's local side (`lb-addr:port`). */
  readonly upstreamLocal: string | null;
  readonly decision: LbDecision;
}

export interface ExternalLbDeps {
  readonly listener: TcpListenerHost;
  readonly connector: TcpConnector;
  readonly clock: EventQueue;
  readonly rng: Random;
  readonly trace: TraceSink<LbTraceEvent> | null;
  readonly node: string;
  readonly netns: string;
}

export class L4LoadBalancer {
  readonly decisions: LbDecision[] = [];
  private readonly next = new Map<number, number>();

  constructor(
    private readonly deps: ExternalLbDeps,
    readonly listeners: readonly LbListenerConfig[],
  ) {
    const rng = deps.rng.fork('lb-rr');
    for (const l of listeners) this.next.set(l.port, l.targets.length > 0 ? rng.int(l.targets.length) : 0);
  }

  start(): void {
    for (const l of this.listeners) this.deps.listener.listen(l.port, (c) => this.accept(l, c));
  }

  private accept(l: LbListenerConfig, client: TcpConnection): void {
    const pending: Uint8Array[] = [];
    let clientEnded = false;
    let upstream: TcpConnection | null = null;
    let clientGone = false;
    client.onData((b) => (upstream ? upstream.write(b) : pending.push(b)));
    client.onEnd(() => {
      clientEnded = true;
      upstream?.end();
    });
    client.onClose(() => {
      clientGone = true;
      upstream?.close();
    });
    const attempts: { target: string; result: string }[] = [];
    const start = this.next.get(l.port) ?? 0;
    if (l.targets.length > 0) this.next.set(l.port, (start + 1) % l.targets.length);
    const tryTarget = (i: number): void => {
      if (i >= l.targets.length || clientGone) {
        this.record(client, l, attempts, null, null);
        client.close();
        return;
      }
      const t = l.targets[(start + i) % l.targets.length]!;
      const label = `${t.node} ${formatIpv4(t.addr)}:${t.port}`;
      this.deps.connector.connect(t.addr, t.port, (c) => {
        if (isConnectFailure(c)) {
          attempts.push({ target: label, result: c.errno });
          tryTarget(i + 1);
          return;
        }
        attempts.push({ target: label, result: 'connected' });
        upstream = c;
        this.record(client, l, attempts, c, t);
        c.onData((b) => client.write(b));
        c.onEnd(() => client.end());
        c.onClose(() => client.close());
        for (const b of pending.splice(0)) c.write(b);
        if (clientEnded) c.end();
      });
    };
    tryTarget(0);
  }

  private record(client: TcpConnection, l: LbListenerConfig, attempts: { target: string; result: string }[], up: TcpConnection | null, target: LbTarget | null): void {
    const d: LbDecision = {
      client: `${formatIpv4(client.remoteAddr)}:${client.remotePort}`,
      listener: l.port,
      attempts: [...attempts],
      upstreamLocal: up ? `${formatIpv4(up.localAddr)}:${up.localPort}` : null,
      target,
    };
    this.decisions.push(d);
    const label = target ? `${target.node} ${formatIpv4(target.addr)}:${target.port}` : null;
    this.deps.trace?.record({ kind: 'lb', time: this.deps.clock.now, node: this.deps.node, netns: this.deps.netns, step: 'lb_proxy', verdict: target ? 'forwarded' : 'no backend', client: d.client, target: label, upstreamLocal: d.upstreamLocal, decision: d });
  }
}
