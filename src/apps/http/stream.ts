/**
 * The byte-stream interfaces the HTTP client, servers, the ingress proxy and the load
 * balancer are written against: the minimal shape of a connected TCP socket, of connect(2)
 * and of listen(2)+accept(2). The Linux model's TCP sockets (src/linux/sock/tcp.ts) are
 * adapted to these by the lead; tests use an in-memory fake. Nothing here imports linux/.
 *
 * Contract (what every implementation must do, as a TCP socket would):
 * - bytes written are delivered to the peer in order, in any chunking;
 * - `end()` is shutdown(SHUT_WR): a FIN after the queued bytes; reading goes on;
 * - `close()` is close(2): end() plus no more reads (the model may then RST on late data);
 * - `onEnd` fires once when the peer's FIN arrives (recv returns 0);
 * - `onClose` fires once when the connection is gone (errno null for an orderly close);
 * - callbacks never run re-entrantly inside write()/end()/close().
 */
import type { Ipv4Addr } from '../../wire/ipv4-address.js';

export interface TcpConnection {
  readonly localAddr: Ipv4Addr;
  readonly localPort: number;
  readonly remoteAddr: Ipv4Addr;
  readonly remotePort: number;
  write(bytes: Uint8Array): void;
  end(): void;
  close(): void;
  onData(cb: (bytes: Uint8Array) => void): void;
  onEnd(cb: () => void): void;
  onClose(cb: (errno: string | null) => void): void;
}

/** Why connect(2) failed, as its errno (`ECONNREFUSED`, `ETIMEDOUT`, `EHOSTUNREACH`, ...). */
export interface ConnectFailure {
  readonly errno: string;
  /** How long connect(2) took to fail, in ns, when the connector has a clock (curl prints it). */
  readonly elapsedNs?: number;
}

export function isConnectFailure(x: TcpConnection | ConnectFailure): x is ConnectFailure {
  return (x as TcpConnection).write === undefined;
}

/** A connect in progress: `abort` is close(2) on it (no packet while the SYN is unanswered). */
export interface ConnectAttempt {
  abort(): void;
}

/** connect(2) from one network namespace: calls back once with the connection or the error. */
export interface TcpConnector {
  connect(addr: Ipv4Addr, port: number, cb: (result: TcpConnection | ConnectFailure) => void): ConnectAttempt | void;
}

/** socket+bind+listen on INADDR_ANY:port; `onConnection` runs for each accepted connection. */
export interface TcpListenerHost {
  listen(port: number, onConnection: (conn: TcpConnection) => void): void;
}
