/**
 * The socket-shaped interfaces CoreDNS, the stub resolver and dig need. kubewire's Linux
 * model provides them from its UDP/TCP sockets (the lead wires them); tests use in-memory
 * fakes. Addresses are text (`10.43.0.10`) because DNS code prints them, not routes them.
 */
export interface Endpoint {
  readonly addr: string;
  readonly port: number;
}

/** A bound UDP socket: `sendto` and a receive callback. */
export interface DatagramSocket {
  readonly local: Endpoint;
  sendTo(bytes: Uint8Array, addr: string, port: number): void;
  onMessage(cb: (bytes: Uint8Array, from: Endpoint) => void): void;
  /**
   * ICMP errors the kernel reports on the socket (port unreachable -> `ECONNREFUSED`), as a
   * connected UDP socket sees them. Optional: a transport without it never reports errors.
   */
  onError?(cb: (code: 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENETUNREACH', from: Endpoint) => void): void;
  close(): void;
}

/** A connected TCP stream; DNS adds the 2-byte length framing itself (RFC 1035 4.2.2). */
export interface StreamSocket {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  write(bytes: Uint8Array): void;
  onData(cb: (bytes: Uint8Array) => void): void;
  onClose(cb: () => void): void;
  close(): void;
}

/** Opens sockets: a fresh UDP socket on an ephemeral port, or a TCP connection. */
export interface DnsNet {
  udp(): DatagramSocket;
  /** Calls back with the connection, or an error (`ECONNREFUSED`, `ETIMEDOUT`). */
  tcp(addr: string, port: number, cb: (conn: StreamSocket | Error) => void): void;
}

/** Splits a TCP byte stream into DNS messages (2-byte big-endian length prefix). */
export class StreamFramer {
  private buf = new Uint8Array(0);
  constructor(private readonly onMsg: (m: Uint8Array) => void) {}
  push(chunk: Uint8Array): void {
    const b = new Uint8Array(this.buf.length + chunk.length);
    b.set(this.buf);
    b.set(chunk, this.buf.length);
    this.buf = b;
    while (this.buf.length >= 2) {
      const len = (this.buf[0]! << 8) | this.buf[1]!;
      if (this.buf.length < 2 + len) break;
      const m = this.buf.slice(2, 2 + len);
      this.buf = this.buf.slice(2 + len);
      this.onMsg(m);
    }
  }
}

export function frame(msg: Uint8Array): Uint8Array {
  const b = new Uint8Array(msg.length + 2);
  b[0] = msg.length >> 8;
  b[1] = msg.length & 0xff;
  b.set(msg, 2);
  return b;
}
