/**
 * The seed's external web server `xxx.com` (122.14.236.25:80): a front end that answers
 * every plain-HTTP request with `301 Moved Permanently` to the https URL, using nginx's own
 * redirect page with its server name in the tail, exactly as the seed's `curl xxx.com`
 * printed it:
 *
 *     <html>
 *     <head><title>301 Moved Permanently</title></head>
 *     <body>
 *     <center><h1>301 Moved Permanently</h1></center>
 *     <hr><center>TLB</center>
 *     </body>
 *     </html>
 *
 * The headers are nginx's (ngx_http_header_filter_module order: Server, Date, Content-Type,
 * Content-Length, Location, Connection) with `Server: TLB`; the seed shows only the body, so
 * the header set and the https Location are the plausible nginx-family answer.
 */
import { httpDate, type WallClock } from './date.js';
import { nginxErrorPage, nginxReason, wireStatus } from './error-pages.js';
import { getHeader, h, keepAlive, latin1Bytes, response, type HttpRequest, type HttpResponse } from './message.js';
import { listenHttp } from './server.js';
import type { TcpListenerHost } from './stream.js';

export interface RedirectServerOptions {
  /** The name in the `Server` header and the page tail. */
  readonly serverName: string;
  /** Host to redirect to when the request has none. */
  readonly defaultHost: string;
  readonly clock: WallClock;
  readonly epochSeconds?: number;
}

export const SEED_XXX_COM = { serverName: 'TLB', defaultHost: 'xxx.com' } as const;

/** nginx's special response for `code` as this server sends it (status line, headers, page). */
export function nginxStyleResponse(
  code: number,
  req: HttpRequest | null,
  o: { serverName: string | null; tail: string; date: string; location?: string },
): HttpResponse {
  const page = nginxErrorPage(code, o.tail) ?? '';
  const body = latin1Bytes(page);
  const hs = [];
  if (o.serverName !== null) hs.push(h('Server', o.serverName));
  hs.push(h('Date', o.date));
  if (page !== '') hs.push(h('Content-Type', 'text/html'));
  hs.push(h('Content-Length', String(body.length)));
  if (o.location !== undefined) hs.push(h('Location', o.location));
  const ka = req !== null && keepAlive(req) && code !== 400 && code !== 413 && code !== 414 && code !== 500 && code !== 501;
  hs.push(h('Connection', ka ? 'keep-alive' : 'close'));
  return response(wireStatus(code), nginxReason(wireStatus(code)), hs, body);
}

export function redirectResponse(opts: RedirectServerOptions, req: HttpRequest): HttpResponse {
  const host = (getHeader(req.headers, 'host') ?? opts.defaultHost).replace(/:\d+$/, '');
  const path = req.target.startsWith('/') ? req.target : '/';
  return nginxStyleResponse(301, req, {
    serverName: opts.serverName,
    tail: opts.serverName,
    date: httpDate(opts.clock, opts.epochSeconds),
    location: `https://${host}${path}`,
  });
}

export function startRedirectServer(host: TcpListenerHost, port: number, opts: RedirectServerOptions): void {
  listenHttp(host, port, {
    onRequest: (req, _conn, respond) => respond(redirectResponse(opts, req)),
    onBadRequest: (err) =>
      nginxStyleResponse(err.status, null, { serverName: opts.serverName, tail: opts.serverName, date: httpDate(opts.clock, opts.epochSeconds) }),
  });
}
