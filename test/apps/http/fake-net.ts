/**
 * An in-memory network implementing the stream interfaces of src/apps/http/stream.ts:
 * hosts by IPv4 address, listeners by port, connections whose bytes are delivered on the
 * simulated clock in pieces chosen by a chunker (arbitrary chunkings in tests). Every
 * connection's bytes in each direction are kept, so tests can assert what each hop sent.
 */
import { EventQueue } from '../../../src/sim/event-queue.js';
import { formatIpv4, parseIpv4, type Ipv4Addr } from '../../../src/wire/ipv4-address.js';
import type { ConnectFailure, TcpConnection, TcpConnector, TcpListenerHost } from '../../../src/apps/http/stream.js';

export type Chunker = (bytes: Uint8Array) => Uint8Array[];

export const whole: Chunker = (b) => [b];

/** Splits into pieces of the given sizes, cycling (sizes >= 1). */
export function sizes(...ns: number[]): Chunker {
  return (b) => {
    const out: Uint8Array[] = [];
    let i = 0;
    let k = 0;
    while (i < b.length) {
      const n = Math.max(1, ns[k++ % ns.length] ?? 1);
      out.push(b.subarray(i, i + n));
      i += n;
    }
    return out;
  };
}

export interface FlowRecord {
  readonly client: string;
  readonly server: string;
  /** Bytes the client sent. */
  c2s: Uint8Array;
  /** Bytes the server sent. */
  s2c: Uint8Array;
}

class End implements TcpConnection {
  peer!: End;
  private dataCbs: ((b: Uint8Array) => void)[] = [];
  private endCbs: (() => void)[] = [];
  private closeCbs: ((e: string | null) => void)[] = [];
  sentFin = false;
  gotFin = false;
  closedLocal = false;
  private closedFired = false;
  constructor(
    readonly net: FakeNet,
    readonly localAddr: Ipv4Addr,
    readonly localPort: number,
    readonly remoteAddr: Ipv4Addr,
    readonly remotePort: number,
    private readonly record: (b: Uint8Array) => void,
  ) {}
  write(bytes: Uint8Array): void {
    if (this.sentFin) throw new Error('write after end');
    const copy = bytes.slice();
    this.record(copy);
    for (const piece of this.net.chunker(copy)) this.net.deliver(() => this.peer.receive(piece.slice()));
  }
  end(): void {
    if (this.sentFin) return;
    this.sentFin = true;
    this.net.deliver(() => this.peer.receiveFin());
  }
  close(): void {
    this.closedLocal = true;
    this.end();
  }
  onData(cb: (b: Uint8Array) => void): void {
    this.dataCbs.push(cb);
  }
  onEnd(cb: () => void): void {
    this.endCbs.push(cb);
  }
  onClose(cb: (e: string | null) => void): void {
    this.closeCbs.push(cb);
  }
  receive(b: Uint8Array): void {
    if (this.closedLocal) return; // the application closed: data is dropped (the kernel would RST)
    for (const cb of this.dataCbs) cb(b);
  }
  receiveFin(): void {
    this.gotFin = true;
    if (!this.closedLocal) for (const cb of this.endCbs) cb();
    this.maybeClosed();
    this.peer.maybeClosed();
  }
  maybeClosed(): void {
    if (this.closedFired || !(this.sentFin && this.gotFin && this.peer.sentFin && this.peer.gotFin)) return;
    this.closedFired = true;
    this.net.deliver(() => {
      for (const cb of this.closeCbs) cb(null);
    });
  }
}

export class FakeNet {
  readonly clock: EventQueue;
  chunker: Chunker;
  readonly flows: FlowRecord[] = [];
  private readonly listeners = new Map<string, (c: TcpConnection) => void>();
  private readonly nats = new Map<string, { addr: Ipv4Addr; port: number; masquerade: Ipv4Addr | null }>();
  private nextPort = new Map<number, number>();
  private lastDelivery = 0;

  constructor(opts: { clock?: EventQueue; chunker?: Chunker } = {}) {
    this.clock = opts.clock ?? new EventQueue();
    this.chunker = opts.chunker ?? whole;
  }

  /** Schedules in order: every delivery 1 µs after the previous one. */
  deliver(fn: () => void): void {
    this.lastDelivery = Math.max(this.lastDelivery, this.clock.now) + 1000;
    this.clock.at(this.lastDelivery, fn);
  }

  host(ip: string | Ipv4Addr): { connector: TcpConnector; listener: TcpListenerHost; ip: Ipv4Addr } {
    const addr = typeof ip === 'string' ? parseIpv4(ip) : ip;
    return {
      ip: addr,
      listener: {
        listen: (port, onConnection) => {
          this.listeners.set(`${addr}:${port}`, onConnection);
        },
      },
      connector: {
        connect: (dst, port, cb) => this.connect(addr, dst, port, cb),
      },
    };
  }

  /**
   * A DNAT on the way (kube-proxy's NodePort rule): connections to addr:port reach
   * to.addr:to.port, seen from `masquerade` when given (eTP Cluster), else from the client.
   */
  nat(addr: string, port: number, to: { addr: string; port: number; masquerade?: string }): void {
    this.nats.set(`${parseIpv4(addr)}:${port}`, { addr: parseIpv4(to.addr), port: to.port, masquerade: to.masquerade === undefined ? null : parseIpv4(to.masquerade) });
  }

  private connect(src: Ipv4Addr, dst: Ipv4Addr, port: number, cb: (r: TcpConnection | ConnectFailure) => void): void {
    const nat = this.nats.get(`${dst}:${port}`);
    if (nat) {
      this.connectVia(src, dst, port, nat.addr, nat.port, nat.masquerade ?? src, cb);
      return;
    }
    this.connectVia(src, dst, port, dst, port, src, cb);
  }

  private connectVia(src: Ipv4Addr, dst: Ipv4Addr, port: number, realDst: Ipv4Addr, realPort: number, seenSrc: Ipv4Addr, cb: (r: TcpConnection | ConnectFailure) => void): void {
    // 127.0.0.0/8 is the connecting host's own loopback
    const loop = dst >>> 24 === 127;
    const accept = this.listeners.get(`${loop ? src : realDst}:${realPort}`);
    if (!accept) {
      this.deliver(() => cb({ errno: 'ECONNREFUSED' }));
      return;
    }
    const sport = this.nextPort.get(src) ?? 40000;
    this.nextPort.set(src, sport + 1);
    const rec: FlowRecord = { client: `${formatIpv4(src)}:${sport}`, server: `${formatIpv4(dst)}:${port}`, c2s: new Uint8Array(0), s2c: new Uint8Array(0) };
    this.flows.push(rec);
    const app = (a: Uint8Array, b: Uint8Array): Uint8Array => {
      const o = new Uint8Array(a.length + b.length);
      o.set(a);
      o.set(b, a.length);
      return o;
    };
    if (loop) src = seenSrc = dst;
    const c = new End(this, src, sport, dst, port, (b) => (rec.c2s = app(rec.c2s, b)));
    const s = new End(this, realDst, realPort, seenSrc, sport, (b) => (rec.s2c = app(rec.s2c, b)));
    c.peer = s;
    s.peer = c;
    // the handshake: the server accepts, then connect returns
    this.deliver(() => accept(s));
    this.deliver(() => cb(c));
  }

  run(): void {
    this.clock.run(Infinity, 1_000_000);
  }

  flowsTo(server: string): FlowRecord[] {
    return this.flows.filter((f) => f.server === server);
  }
}

export function text(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1');
}
