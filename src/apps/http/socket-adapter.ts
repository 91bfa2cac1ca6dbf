/**
 * The stream interfaces of stream.ts over a socket layer shaped like the Linux model's
 * (src/linux/sock/stack.ts SocketLayer: `tcpConnect(addr, port, handlers)`,
 * `tcpListen(port, onConnection)` with TcpHandlers onConnect/onData/onEnd/onClose/onError).
 * Typed structurally so apps/ needs no import of linux/: pass a namespace's SocketLayer.
 */
import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import type { ConnectFailure, TcpConnection, TcpConnector, TcpListenerHost } from './stream.js';

export interface KernelTcpSocket {
  readonly localAddr: Ipv4Addr;
  readonly localPort: number;
  readonly remoteAddr: Ipv4Addr;
  readonly remotePort: number;
  write(data: Uint8Array): void;
  end(): void;
  close(): void;
}

export interface KernelTcpHandlers<S> {
  onConnect?(s: S): void;
  onData?(s: S, data: Uint8Array): void;
  onEnd?(s: S): void;
  onClose?(s: S, errno: string | null): void;
  onError?(s: S, errno: string): void;
}

export interface KernelSocketLayer<S extends KernelTcpSocket> {
  tcpConnect(addr: Ipv4Addr, port: number, handlers: KernelTcpHandlers<S>): S;
  tcpListen(port: number, onConnection: (s: S) => KernelTcpHandlers<S> | void): unknown;
  /** The namespace's clock, when the layer has one (the model's): failures say how long they took. */
  readonly ip?: { readonly clock: { readonly now: number } };
}

/** A TcpConnection over one kernel socket; the handlers feed its callback lists. */
class Adapted<S extends KernelTcpSocket> implements TcpConnection {
  private readonly dataCbs: ((b: Uint8Array) => void)[] = [];
  private readonly endCbs: (() => void)[] = [];
  private readonly closeCbs: ((e: string | null) => void)[] = [];
  private closed = false;
  constructor(readonly sock: S) {}
  get localAddr(): Ipv4Addr {
    return this.sock.localAddr;
  }
  get localPort(): number {
    return this.sock.localPort;
  }
  get remoteAddr(): Ipv4Addr {
    return this.sock.remoteAddr;
  }
  get remotePort(): number {
    return this.sock.remotePort;
  }
  write(bytes: Uint8Array): void {
    this.sock.write(bytes);
  }
  end(): void {
    this.sock.end();
  }
  close(): void {
    this.sock.close();
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
  handlers(onConnect?: () => void, onConnectError?: (errno: string) => void): KernelTcpHandlers<S> {
    let connected = onConnect === undefined;
    return {
      onConnect: () => {
        connected = true;
        onConnect?.();
      },
      onData: (_s, d) => {
        for (const cb of this.dataCbs) cb(d);
      },
      onEnd: () => {
        for (const cb of this.endCbs) cb();
      },
      onError: (_s, errno) => {
        if (!connected) {
          connected = true; // report once, as connect(2)'s error
          onConnectError?.(errno);
          this.closed = true;
          return;
        }
        this.fireClose(errno);
      },
      onClose: (_s, errno) => this.fireClose(errno),
    };
  }
  private fireClose(errno: string | null): void {
    if (this.closed) return;
    this.closed = true;
    for (const cb of this.closeCbs) cb(errno);
  }
}

export function streamsFor<S extends KernelTcpSocket>(layer: KernelSocketLayer<S>): { connector: TcpConnector; listener: TcpListenerHost } {
  return {
    connector: {
      connect(addr, port, cb: (r: TcpConnection | ConnectFailure) => void) {
        let conn: Adapted<S> | null = null;
        let pendingHandlers: KernelTcpHandlers<S> | null = null;
        const proxy: KernelTcpHandlers<S> = {
          onConnect: (s) => pendingHandlers?.onConnect?.(s),
          onData: (s, d) => pendingHandlers?.onData?.(s, d),
          onEnd: (s) => pendingHandlers?.onEnd?.(s),
          onError: (s, e) => pendingHandlers?.onError?.(s, e),
          onClose: (s, e) => pendingHandlers?.onClose?.(s, e),
        };
        const started = layer.ip?.clock.now;
        const sock = layer.tcpConnect(addr, port, proxy);
        conn = new Adapted(sock);
        const c = conn;
        pendingHandlers = c.handlers(
          () => cb(c),
          (errno) => cb(started === undefined ? { errno } : { errno, elapsedNs: layer.ip!.clock.now - started }),
        );
        return { abort: () => sock.close() };
      },
    },
    listener: {
      listen(port, onConnection) {
        layer.tcpListen(port, (s) => {
          const c = new Adapted(s);
          const hs = c.handlers();
          onConnection(c);
          return hs;
        });
      },
    },
  };
}
