/**
 * The echo server: the default workload of Deployments in scenarios and the seed's
 * `laosiji` host process on 192.168.4.86:6666. It answers every request with 200 and a
 * text/plain body naming who answered and what it received, so a trace shows which pod
 * served the request and what the proxies in between changed.
 *
 * Body format (every line ends in LF; modelled on traefik/whoami):
 *
 *     Hostname: <pod name, or the host's name for a host process>
 *     IP: <pod IP>
 *     RemoteAddr: <TCP peer address>:<peer port>
 *     <request line exactly as received, e.g. `GET /api HTTP/1.1`>
 *     <each request header exactly as received, in order: `Name: value`>
 *     <an empty line>
 *
 * Response headers are written as a Go net/http server writes them: `Date`,
 * `Content-Length`, `Content-Type: text/plain; charset=utf-8`, plus `Connection: close`
 * when the request asked to close. Request bodies are read and ignored.
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { httpDate, type WallClock } from './date.js';
import { nginxErrorPage } from './error-pages.js';
import { h, headerTokens, response, utf8, type HttpHeader, type HttpRequest, type HttpResponse } from './message.js';
import { listenHttp } from './server.js';
import type { TcpConnection, TcpListenerHost } from './stream.js';

export interface EchoServerOptions {
  readonly name: string;
  readonly ip: Ipv4Addr;
  readonly clock: WallClock;
  readonly epochSeconds?: number;
}

/** The seed's laosiji backend: a plain process on the node 192.168.4.86, port 6666. */
export const SEED_LAOSIJI = { name: 'k8s-192-168-4-86', ip: '192.168.4.86', port: 6666 } as const;

export function echoBody(opts: { name: string; ip: Ipv4Addr }, req: HttpRequest, peer: { addr: Ipv4Addr; port: number }): string {
  let s = `Hostname: ${opts.name}\nIP: ${formatIpv4(opts.ip)}\nRemoteAddr: ${formatIpv4(peer.addr)}:${peer.port}\n`;
  s += `${req.method} ${req.target} ${req.version}\n`;
  for (const x of req.headers) s += `${x.name}: ${x.value}\n`;
  return `${s}\n`;
}

function goHeaders(date: string, len: number, contentType: string, close: boolean): HttpHeader[] {
  const hs = [h('Date', date), h('Content-Length', String(len)), h('Content-Type', contentType)];
  if (close) hs.push(h('Connection', 'close'));
  return hs;
}

export function echoResponse(opts: EchoServerOptions, req: HttpRequest, conn: Pick<TcpConnection, 'remoteAddr' | 'remotePort'>): HttpResponse {
  const body = utf8(echoBody(opts, req, { addr: conn.remoteAddr, port: conn.remotePort }));
  const close = headerTokens(req.headers, 'connection').includes('close') || req.version === 'HTTP/1.0';
  return response(200, 'OK', goHeaders(httpDate(opts.clock, opts.epochSeconds), body.length, 'text/plain; charset=utf-8', close), body);
}

/** Starts the echo server on `port` of `host`. */
export function startEchoServer(host: TcpListenerHost, port: number, opts: EchoServerOptions): void {
  listenHttp(host, port, {
    onRequest: (req, conn, respond) => respond(echoResponse(opts, req, conn)),
    onBadRequest: () => {
      // Go's server answers a malformed request with a plain 400 and closes
      const body = utf8('400 Bad Request');
      return response(400, 'Bad Request', [h('Content-Type', 'text/plain; charset=utf-8'), h('Connection', 'close')], body);
    },
  });
}

export { nginxErrorPage };
