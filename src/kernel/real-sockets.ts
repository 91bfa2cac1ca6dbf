// The socket API the model's apps are written against (linux/sock SocketLayer's shape:
// tcpConnect, tcpListen, udp), over this process's real sockets, so kubewire's own servers
// and clients run unchanged in a real namespace. And a clock that follows real time.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { EventQueue } from '../sim/event-queue.js';
import { formatIpv4, parseIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';

type Handlers = {
  onConnect?(s: RealTcpSocket): void;
  onData?(s: RealTcpSocket, data: Uint8Array): void;
  onEnd?(s: RealTcpSocket): void;
  onClose?(s: RealTcpSocket, errno: string | null): void;
  onError?(s: RealTcpSocket, errno: string): void;
};

const addr = (a: string | undefined): Ipv4Addr => parseIpv4((a ?? '0.0.0.0').replace(/^::ffff:/, ''));

export class RealTcpSocket {
  private errno: string | null = null;
  constructor(readonly sock: net.Socket) {}
  get localAddr(): Ipv4Addr {
    return addr(this.sock.localAddress);
  }
  get localPort(): number {
    return this.sock.localPort ?? 0;
  }
  get remoteAddr(): Ipv4Addr {
    return addr(this.sock.remoteAddress);
  }
  get remotePort(): number {
    return this.sock.remotePort ?? 0;
  }
  write(data: Uint8Array): void {
    this.sock.write(data);
  }
  end(): void {
    this.sock.end();
  }
  close(): void {
    this.sock.destroy();
  }
  wire(h: Handlers): void {
    this.sock.on('data', (d: Buffer) => h.onData?.(this, new Uint8Array(d)));
    this.sock.on('end', () => h.onEnd?.(this));
    this.sock.on('error', (e: NodeJS.ErrnoException) => {
      this.errno = e.code ?? 'EIO';
      h.onError?.(this, this.errno);
    });
    this.sock.on('close', () => h.onClose?.(this, this.errno));
  }
}

export class RealUdpSocket {
  onMessage: ((data: Uint8Array, from: { addr: Ipv4Addr; port: number }, to: { addr: Ipv4Addr; port: number }) => void) | null = null;
  onError: ((errno: string) => void) | null = null;
  private readonly sock = dgram.createSocket('udp4');
  private peer: { addr: Ipv4Addr; port: number } | null = null;
  private connected: Promise<void> | null = null;
  private markBound: () => void = () => undefined;
  /** Settles when bind() has bound (or failed); at once for a socket never bound. */
  readonly bound: Promise<void> = new Promise((resolve) => (this.markBound = resolve));
  constructor() {
    this.sock.on('message', (d, r) => this.onMessage?.(new Uint8Array(d), { addr: addr(r.address), port: r.port }, { addr: 0 as Ipv4Addr, port: 0 }));
    this.sock.on('error', (e: NodeJS.ErrnoException) => this.onError?.(e.code ?? 'EIO'));
  }
  private ephemeral = false;
  bind(port = 0): this {
    this.ephemeral = port === 0;
    this.sock.once('listening', () => this.markBound());
    this.sock.once('error', () => this.markBound());
    this.sock.bind(port, '0.0.0.0');
    return this;
  }
  get localAddr(): Ipv4Addr {
    try {
      return addr(this.sock.address().address);
    } catch {
      return 0 as Ipv4Addr;
    }
  }
  get localPort(): number {
    try {
      return this.sock.address().port;
    } catch {
      return 0;
    }
  }
  /** A connected socket, as the model's: ICMP errors come back as ECONNREFUSED and the like. */
  connect(a: Ipv4Addr, port: number): this {
    this.peer = { addr: a, port };
    this.connected = new Promise((resolve) => this.sock.connect(port, formatIpv4(a), () => resolve()));
    return this;
  }
  send(data: Uint8Array): void {
    if (!this.peer || !this.connected) throw new Error('EDESTADDRREQ');
    void this.connected.then(() =>
      this.sock.send(data, (e) => {
        if (e) this.onError?.((e as NodeJS.ErrnoException).code ?? 'EIO');
      }),
    );
  }
  sendto(data: Uint8Array, a: Ipv4Addr, port: number): void {
    // A client's ephemeral socket talks to one server: connect it, as Go's net.Dial("udp")
    // (CoreDNS forward) and glibc's res_send do, so ICMP errors come back as errno.
    if (this.ephemeral && !this.connected) this.connect(a, port);
    if (this.connected && this.peer?.addr === a && this.peer.port === port) return this.send(data);
    this.sock.send(data, port, formatIpv4(a), (e) => {
      if (e) this.onError?.((e as NodeJS.ErrnoException).code ?? 'EIO');
    });
  }
  close(): void {
    this.sock.close();
  }
}

/** tcpConnect / tcpListen / udp over real sockets (half-open allowed, as the model's TCP). */
export class RealSocketLayer {
  /** Every bind this layer started, settled once the socket is bound (or failed). */
  readonly binds: Promise<void>[] = [];

  tcpConnect(a: Ipv4Addr, port: number, h: Handlers): RealTcpSocket {
    const s = new RealTcpSocket(net.connect({ host: formatIpv4(a), port, allowHalfOpen: true }));
    s.sock.on('connect', () => h.onConnect?.(s));
    s.wire(h);
    return s;
  }
  tcpListen(port: number, onConnection: (s: RealTcpSocket) => Handlers | void): net.Server {
    const server = net.createServer({ allowHalfOpen: true }, (c) => {
      const s = new RealTcpSocket(c);
      s.wire(onConnection(s) ?? {});
    });
    this.binds.push(
      new Promise((resolve) => {
        server.once('listening', () => resolve());
        server.once('error', (e) => {
          process.stderr.write(`tcp/${port}: ${e.message}\n`);
          resolve();
        });
      }),
    );
    server.listen({ port, host: '0.0.0.0', backlog: 128 });
    return server;
  }
  udp(): RealUdpSocket {
    const u = new RealUdpSocket();
    this.binds.push(u.bound);
    return u;
  }
}

/** A socket of a namespace this process is not in: every call does nothing. */
function inert(): Record<string, unknown> {
  return {
    localAddr: 0,
    localPort: 0,
    remoteAddr: 0,
    remotePort: 0,
    onMessage: null,
    onError: null,
    bind() {
      return this;
    },
    connect() {
      return this;
    },
    send: () => undefined,
    sendto: () => undefined,
    write: () => undefined,
    end: () => undefined,
    close: () => undefined,
  };
}

/** A socket layer of a namespace this process is not in: binds nothing, sends nothing. */
export class AbsentSocketLayer {
  tcpConnect(): Record<string, unknown> {
    return inert();
  }
  tcpListen(): object {
    return {};
  }
  udp(): Record<string, unknown> {
    return inert();
  }
}

/**
 * An EventQueue whose time is real time since `start` (ns): the apps' timers run when due.
 * Answers a stop function.
 */
export function realTimeClock(q: EventQueue, hrtimeNs: () => bigint): () => void {
  const t0 = hrtimeNs();
  const tick = (): void => {
    const now = Number(hrtimeNs() - t0);
    q.at(Math.max(now, q.now), () => undefined);
    q.run(now);
  };
  const h = setInterval(tick, 2);
  return () => clearInterval(h);
}
