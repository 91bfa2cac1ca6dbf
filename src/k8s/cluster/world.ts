import { EventQueue } from '../../sim/event-queue.js';
import { Random } from '../../sim/random.js';
import type { TraceEventBase, TraceSink } from '../../sim/trace.js';
import { createNetns, ip, type LinuxEnv, type Netns } from '../../linux/netlink.js';
import { Segment } from '../../linux/link/segment.js';
import { SocketLayer } from '../../linux/sock/stack.js';
import { hookPacketSink, type LinuxTraceEvent } from '../../linux/trace.js';
import type { Pod } from '../api/types.js';
import { ActionLog } from './actions.js';
import type { NetfilterIptables } from './iptables-backend.js';
import type { Ipvs } from '../../ipvs/ipvs.js';

/** A machine: a cluster node, an external host or the underlay gateway. */
export interface Machine {
  readonly name: string;
  readonly ip: string;
  readonly role: 'node' | 'host' | 'gateway';
  /** The root network namespace, named `root`. */
  readonly root: Netns;
  readonly sockets: SocketLayer;
}

/** A pod with its own network namespace (host-network pods use their node's root). */
export interface PodRuntime {
  readonly pod: Pod;
  readonly node: Machine;
  readonly netns: Netns;
  readonly sockets: SocketLayer;
  /** The host-side interface of the pod's veth (`cali...` or `veth...`), '' for host network. */
  readonly hostVeth: string;
}

/**
 * Everything one simulation holds: the clock, the seeded random source, the trace sink, the
 * machines with their namespaces, the underlay segments, and the log of what agents did.
 */
export class World {
  readonly clock = new EventQueue();
  readonly rng: Random;
  readonly env: LinuxEnv;
  readonly machines = new Map<string, Machine>();
  readonly pods = new Map<string, PodRuntime>();
  readonly segments = new Map<string, Segment>();
  readonly log: ActionLog;
  /** The iptables of the namespaces that have rules (node root namespaces). */
  readonly iptables = new Map<Netns, NetfilterIptables>();
  /** The IPVS state of namespaces where kube-proxy runs in ipvs mode. */
  readonly ipvs = new Map<Netns, Ipvs>();
  /** Every namespace, by `machine/netns`. */
  private readonly namespaces = new Map<string, Netns>();
  private readonly socketLayers = new Map<Netns, SocketLayer>();

  constructor(seed: number) {
    this.rng = new Random(seed);
    this.env = { clock: this.clock, rng: this.rng.fork('linux'), trace: null };
    this.log = new ActionLog((node, name) => this.namespaces.get(`${node}/${name}`));
  }

  /** One sink for every layer's events: the Linux model's, netfilter's, IPVS's. */
  set trace(sink: TraceSink<TraceEventBase> | null) {
    this.env.trace = sink as TraceSink<LinuxTraceEvent> | null;
    this.current = sink;
    for (const [ns, ipt] of this.iptables) ipt.nf.setTraceSink((sink && hookPacketSink(sink, ns)) as never);
    for (const f of this.traceSinks) f(sink);
  }

  private current: TraceSink<TraceEventBase> | null = null;
  /**
   * A sink for applications (ingress, load balancer, CoreDNS): forwards to whatever sink is
   * set now. Not for per-packet code, which holds the real sink or null.
   */
  readonly appTrace: TraceSink<TraceEventBase> = { record: (e) => this.current?.record(e) };

  /** Other layers (IPVS) that want the trace sink when it changes. */
  readonly traceSinks: ((sink: TraceSink<TraceEventBase> | null) => void)[] = [];

  segment(name: string): Segment {
    let s = this.segments.get(name);
    if (!s) this.segments.set(name, (s = new Segment(this.clock, name)));
    return s;
  }

  /** A new namespace on a machine, with `lo` up as a container runtime leaves it. */
  netns(machine: string, name: string): Netns {
    const key = `${machine}/${name}`;
    if (this.namespaces.has(key)) throw new Error(`namespace ${key} exists`);
    const ns = createNetns(this.env, machine, name);
    this.namespaces.set(key, ns);
    ip(ns, 'link set lo up');
    return ns;
  }

  getNetns(machine: string, name: string): Netns | undefined {
    return this.namespaces.get(`${machine}/${name}`);
  }

  allNetns(): Netns[] {
    return [...this.namespaces.values()];
  }

  sockets(ns: Netns): SocketLayer {
    let s = this.socketLayers.get(ns);
    if (!s) this.socketLayers.set(ns, (s = new SocketLayer(ns)));
    return s;
  }

  addMachine(name: string, ipAddr: string, role: Machine['role']): Machine {
    const root = this.netns(name, 'root');
    // A machine's own namespace has no /var/run/netns name: its peers see it as an id.
    root.mountName = null;
    const m: Machine = { name, ip: ipAddr, role, root, sockets: this.sockets(root) };
    this.machines.set(name, m);
    return m;
  }

  /** Runs the simulation until nothing is due or `ns` of simulated time passed. */
  run(ns = 120e9): void {
    this.clock.run(this.clock.now + ns);
  }
}

export function podKey(p: Pod): string {
  return `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`;
}
