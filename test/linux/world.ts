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
