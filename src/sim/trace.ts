import type { Nanos } from './clock.js';

/**
 * What every trace event carries: when, where (node, network namespace, device), which step
 * of the path, and its verdict. Each layer adds its own event kinds with the object that
 * decided (the rule, route, neighbour entry, FDB entry, IPVS real server) as a discriminated
 * union on `kind`; text, JSON and pcap comments are printers over the same events.
 */
export interface TraceEventBase {
  readonly kind: string;
  readonly time: Nanos;
  readonly node: string;
  readonly netns: string;
  readonly dev?: string;
  /** Short name of the path step, e.g. `ip_rcv`, `fib_lookup`, `nat:PREROUTING`. */
  readonly step: string;
  readonly verdict?: string;
  /**
   * Which packet the decision was about (its `PacketBuffer.trace` number), when one was in
   * hand; socket and application events have none.
   */
  readonly packet?: number;
}

/**
 * Where trace events go. Emitters hold a `TraceSink | null` and call `sink?.record({...})`:
 * with tracing off the optional call short-circuits before the event object is built, so
 * the cost is nil.
 */
export interface TraceSink<E extends TraceEventBase = TraceEventBase> {
  record(event: E): void;
}

/** Keeps every event in order; the recorder used by the CLI and tests. */
export class TraceRecorder<E extends TraceEventBase = TraceEventBase> implements TraceSink<E> {
  readonly events: E[] = [];
  record(event: E): void {
    this.events.push(event);
  }
  clear(): void {
    this.events.length = 0;
  }
  /** Events of one kind, narrowed by the discriminant. */
  ofKind<K extends E['kind']>(kind: K): Extract<E, { kind: K }>[] {
    return this.events.filter((e): e is Extract<E, { kind: K }> => e.kind === kind);
  }
}
