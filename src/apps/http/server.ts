/**
 * An HTTP/1.1 server connection loop over a `TcpConnection`: parses requests as they
 * arrive (in any chunking, pipelined or not), hands them one at a time to the handler, and
 * writes the responses in order. After a response it closes the connection when the request
 * or the response says so (`Connection: close`, HTTP/1.0 without keep-alive); when the peer
 * half-closes it finishes what it has and closes, as nginx does. A malformed request gets
 * the server's error response and the connection is closed (ngx_http_finalize_request with
 * keepalive off for 400/413/414).
 */
import { HttpError } from './errors.js';
import { keepAlive, type HttpRequest, type HttpResponse } from './message.js';
import { HttpParser, NGINX_LIMITS, type HttpLimits } from './parser.js';
import { serialize } from './serialize.js';
import type { TcpConnection, TcpListenerHost } from './stream.js';

export interface HttpServerHandlers {
  /** Answers one request; call `respond` exactly once, now or later. */
  onRequest(req: HttpRequest, conn: TcpConnection, respond: (res: HttpResponse) => void): void;
  /** The response to a request that failed to parse (the connection closes after it). */
  onBadRequest(err: HttpError, conn: TcpConnection): HttpResponse;
}

/** An idle keep-alive timeout (nginx keepalive_timeout; ingress-nginx sets 75 s). */
export interface IdleTimeout {
  readonly clock: { schedule(delay: number, fn: () => void): { cancelled: boolean } };
  readonly ns: number;
}

export function serveHttp(conn: TcpConnection, handlers: HttpServerHandlers, limits: HttpLimits = NGINX_LIMITS, idle: IdleTimeout | null = null): void {
  const queue: HttpRequest[] = [];
  let idleTimer: { cancelled: boolean } | null = null;
  const armIdle = (): void => {
    if (!idle || closing) return;
    if (idleTimer) idleTimer.cancelled = true;
    idleTimer = idle.clock.schedule(idle.ns, () => {
      if (!busy && parser.idle) shut();
    });
  };
  let busy = false;
  let closing = false;
  let peerEnded = false;
  const parser = new HttpParser<HttpRequest>('request', (m) => queue.push(m), limits);

  const shut = (): void => {
    if (closing) return;
    closing = true;
    if (idleTimer) idleTimer.cancelled = true;
    conn.close();
  };

  const next = (): void => {
    if (busy || closing) return;
    const req = queue.shift();
    if (req === undefined) {
      if (peerEnded) shut();
      else armIdle();
      return;
    }
    busy = true;
    let answered = false;
    handlers.onRequest(req, conn, (res) => {
      if (answered || closing) return;
      answered = true;
      conn.write(serialize(res));
      busy = false;
      if (!keepAlive(req) || !keepAlive(res)) shut();
      else next();
    });
  };

  const fail = (e: unknown): void => {
    if (!(e instanceof HttpError)) throw e;
    queue.length = 0;
    if (!busy && !closing) {
      conn.write(serialize(handlers.onBadRequest(e, conn)));
      shut();
    }
  };

  conn.onData((bytes) => {
    if (closing || parser.failed) return;
    if (idleTimer) idleTimer.cancelled = true;
    try {
      parser.push(bytes);
    } catch (e) {
      fail(e);
      return;
    }
    next();
  });
  conn.onEnd(() => {
    peerEnded = true;
    if (closing) return;
    try {
      parser.finish();
    } catch (e) {
      // a request cut short: nginx logs it and closes without answering
      if (!(e instanceof HttpError)) throw e;
      if (!busy) shut();
      return;
    }
    next();
  });
}

/** listen(port) and serve every accepted connection. */
export function listenHttp(host: TcpListenerHost, port: number, handlers: HttpServerHandlers, limits: HttpLimits = NGINX_LIMITS, idle: IdleTimeout | null = null): void {
  host.listen(port, (conn) => {
    serveHttp(conn, handlers, limits, idle);
  });
}
