import type { DatagramSocket, DnsNet, Endpoint, StreamSocket } from '../apps/coredns/transport.js';
import type { SocketLayer } from '../linux/sock/stack.js';
import type { TcpSocket } from '../linux/sock/tcp.js';
import { formatIpv4, parseIpv4 } from '../wire/ipv4-address.js';

/**
 * The DNS programs' socket interfaces (apps/coredns/transport.ts) over one namespace's
 * Linux-model sockets: UDP sockets with their ICMP errors, and TCP streams.
 */
export function dnsNet(s: SocketLayer): DnsNet {
  return {
    udp: () => udpSocket(s, 0),
    tcp: (addr, port, cb) => {
      let conn: StreamSocket | null = null;
      let onData: ((b: Uint8Array) => void) | null = null;
      let onClose: (() => void) | null = null;
      const sock = s.tcpConnect(parseIpv4(addr), port, {
        onConnect: (t) => {
          conn = stream(t, (f) => (onData = f), (f) => (onClose = f));
          cb(conn);
        },
        onData: (_t, d) => onData?.(d),
        onEnd: (t) => {
          t.close();
          onClose?.();
        },
        onError: (_t, errno) => (conn ? onClose?.() : cb(new Error(errno))),
      });
      void sock;
    },
  };
}

/** A UDP socket bound to `port` (0: ephemeral). */
export function udpSocket(s: SocketLayer, port: number): DatagramSocket {
  const u = s.udp();
  u.bind(port);
  let errCb: ((code: 'ECONNREFUSED' | 'EHOSTUNREACH' | 'ENETUNREACH', from: Endpoint) => void) | null = null;
  let lastPeer: Endpoint = { addr: '0.0.0.0', port: 0 };
  u.onError = (errno) => {
    if (errno === 'ECONNREFUSED' || errno === 'EHOSTUNREACH' || errno === 'ENETUNREACH') errCb?.(errno, lastPeer);
  };
  return {
    get local() {
      return { addr: formatIpv4(u.localAddr), port: u.localPort };
    },
    sendTo: (bytes, addr, p) => {
      lastPeer = { addr, port: p };
      // A connected socket gets ICMP errors reported, as glibc's res_send connects its socket.
      u.sendto(bytes, parseIpv4(addr), p);
    },
    onMessage: (cb) => {
      u.onMessage = (d, from) => cb(d, { addr: formatIpv4(from.addr), port: from.port });
    },
    onError: (cb) => {
      errCb = cb;
    },
    close: () => u.close(),
  };
}

function stream(t: TcpSocket, setData: (f: (b: Uint8Array) => void) => void, setClose: (f: () => void) => void): StreamSocket {
  return {
    local: { addr: formatIpv4(t.localAddr), port: t.localPort },
    remote: { addr: formatIpv4(t.remoteAddr), port: t.remotePort },
    write: (b) => t.write(b),
    onData: setData,
    onClose: setClose,
    close: () => t.close(),
  };
}

/** A TCP listener handing each accepted connection over as a DNS stream. */
export function listenStream(s: SocketLayer, port: number, onConn: (c: StreamSocket) => void): void {
  s.tcpListen(port, (t) => {
    let onData: ((b: Uint8Array) => void) | null = null;
    let onClose: (() => void) | null = null;
    onConn(stream(t, (f) => (onData = f), (f) => (onClose = f)));
    return {
      onData: (_x, d) => onData?.(d),
      onEnd: (x) => {
        x.close();
        onClose?.();
      },
    };
  });
}
