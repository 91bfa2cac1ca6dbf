/**
 * The `default-http-backend` of older ingress-nginx installs (image defaultbackend, the
 * 404-server; the seed's controller runs with `--default-backend-service`): every path
 * answers `404` with the body `default backend - 404`, `/healthz` answers `200 ok`. It is a
 * Go net/http server, so its headers are Date, Content-Length, Content-Type (as its
 * documented `curl -i` shows: `Content-Length: 21`, `Content-Type: text/plain; charset=utf-8`).
 */
import { httpDate, type WallClock } from './date.js';
import { h, headerTokens, response, utf8, type HttpRequest, type HttpResponse } from './message.js';
import { listenHttp } from './server.js';
import type { TcpListenerHost } from './stream.js';

export function defaultBackendResponse(clock: WallClock, req: HttpRequest, epochSeconds?: number): HttpResponse {
  const health = req.target === '/healthz' || req.target.startsWith('/healthz?');
  const body = utf8(health ? 'ok' : 'default backend - 404');
  const hs = [h('Date', httpDate(clock, epochSeconds)), h('Content-Length', String(body.length)), h('Content-Type', 'text/plain; charset=utf-8')];
  if (headerTokens(req.headers, 'connection').includes('close') || req.version === 'HTTP/1.0') hs.push(h('Connection', 'close'));
  return response(health ? 200 : 404, health ? 'OK' : 'Not Found', hs, req.method === 'HEAD' ? new Uint8Array(0) : body);
}

export function startDefaultBackend(host: TcpListenerHost, port: number, clock: WallClock, epochSeconds?: number): void {
  listenHttp(host, port, {
    onRequest: (req, _conn, respond) => respond(defaultBackendResponse(clock, req, epochSeconds)),
    onBadRequest: () => response(400, 'Bad Request', [h('Content-Type', 'text/plain; charset=utf-8'), h('Connection', 'close')], utf8('400 Bad Request')),
  });
}
