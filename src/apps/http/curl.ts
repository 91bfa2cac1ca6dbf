/**
 * A curl-like client: one request per connection, as `curl http://HOST/PATH` sends it
 * (curl 8.5.0, the version in the seed's capture):
 *
 *     GET / HTTP/1.1\r\n
 *     Host: xxx.com\r\n                (with `:port` when not 80)
 *     User-Agent: curl/8.5.0\r\n
 *     Accept: *\/*\r\n
 *     \r\n
 *
 * No Connection header (curl keeps HTTP/1.1 connections alive by default); `-H` headers
 * follow Accept in their order (one naming User-Agent or Accept drops that default, one
 * naming Host replaces it in first place), then Content-Length and Content-Type for a body,
 * as curl 7.88 was seen to send them here. After the
 * response curl exits, so the connection is closed (FIN) from the client side; a response
 * without a length runs until the server's FIN. Errors are reported with curl's exit code
 * and message (`curl: (7) Failed to connect ...`, `curl: (52) Empty reply from server`).
 */
import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import { HttpError } from './errors.js';
import { h, type HttpHeader, type HttpRequest, type HttpResponse, request } from './message.js';
import { CLIENT_LIMITS, HttpParser } from './parser.js';
import { serialize } from './serialize.js';
import { isConnectFailure, type TcpConnection, type TcpConnector } from './stream.js';

export const CURL_USER_AGENT = 'curl/8.5.0';

export interface CurlUrl {
  readonly host: string;
  readonly port: number;
  /** Path and query, at least `/`. */
  readonly path: string;
}

/** Parses `http://host[:port][/path]` (only http: kubewire has no TLS). */
export function parseHttpUrl(url: string): CurlUrl {
  const m = /^http:\/\/([^/:?#]+)(?::([0-9]{1,5}))?([^#]*)/i.exec(url);
  if (!m) throw new Error(`curl: (3) URL rejected: Bad hostname or unsupported scheme: ${url}`);
  const port = m[2] === undefined ? 80 : Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`curl: (3) URL rejected: Port number was not a decimal number between 0 and 65535`);
  let path = m[3] ?? '';
  if (path === '' || path.startsWith('?')) path = `/${path}`;
  return { host: m[1]!.toLowerCase(), port, path };
}

export interface CurlOptions {
  readonly method?: string;
  readonly userAgent?: string;
  /** `-H 'Name: value'` headers, in order. */
  readonly headers?: readonly HttpHeader[];
  readonly body?: Uint8Array;
}

export function curlRequest(url: CurlUrl, opts: CurlOptions = {}): HttpRequest {
  // as curl's http.c builds it: Host (a -H Host replaces it in place), User-Agent and Accept
  // unless given with -H, the -H headers in order, then Content-Length / Content-Type of -d
  const extra = opts.headers ?? [];
  const given = (n: string): HttpHeader | undefined => extra.find((x) => x.name.toLowerCase() === n);
  const hs: HttpHeader[] = [given('host') ?? h('Host', url.port === 80 ? url.host : `${url.host}:${url.port}`)];
  if (!given('user-agent')) hs.push(h('User-Agent', opts.userAgent ?? CURL_USER_AGENT));
  if (!given('accept')) hs.push(h('Accept', '*/*'));
  hs.push(...extra.filter((x) => x.name.toLowerCase() !== 'host'));
  const body = opts.body ?? new Uint8Array(0);
  if (body.length > 0) {
    if (!given('content-length')) hs.push(h('Content-Length', String(body.length)));
    if (!given('content-type')) hs.push(h('Content-Type', 'application/x-www-form-urlencoded'));
  }
  return request(opts.method ?? (body.length > 0 ? 'POST' : 'GET'), url.path, hs, body);
}

export interface CurlResult {
  /** curl's exit status: 0 on a complete response. */
  readonly exitCode: number;
  readonly response: HttpResponse | null;
  /** curl's error line, as it prints to stderr. */
  readonly error: string | null;
  readonly request: HttpRequest;
  /** The bytes written to the connection. */
  readonly sent: Uint8Array;
  readonly local: { addr: Ipv4Addr; port: number } | null;
}

/**
 * Connects to addr:port, sends the request for `url`, and calls back once with the outcome.
 * Answers `abort`: curl killed before it finished (the socket closed, no callback).
 */
export function curl(connector: TcpConnector, addr: Ipv4Addr, url: CurlUrl, cb: (r: CurlResult) => void, opts: CurlOptions = {}): { abort(): void } {
  const req = curlRequest(url, opts);
  const bytes = serialize(req);
  let done = false;
  let open: TcpConnection | null = null;
  const finish = (r: Omit<CurlResult, 'request' | 'sent'>, conn: TcpConnection | null): void => {
    if (done) return;
    done = true;
    if (conn) conn.close();
    cb({ ...r, request: req, sent: bytes });
  };
  const attempt = connector.connect(addr, url.port, (c) => {
    if (isConnectFailure(c)) {
      const why = c.errno === 'ETIMEDOUT' ? 28 : 7;
      finish({ exitCode: why, response: null, error: `curl: (${why}) Failed to connect to ${url.host} port ${url.port} after ${Math.floor((c.elapsedNs ?? 0) / 1e6)} ms: Couldn't connect to server`, local: null }, null);
      return;
    }
    const conn = c;
    open = conn;
    const local = { addr: conn.localAddr, port: conn.localPort };
    let got = 0;
    const parser = new HttpParser<HttpResponse>('response', (res) => finish({ exitCode: 0, response: res, error: null, local }, conn), CLIENT_LIMITS);
    parser.expectResponseTo(req.method);
    const bad = (e: unknown): void => {
      if (!(e instanceof HttpError)) throw e;
      finish({ exitCode: 1, response: null, error: `curl: (1) Received HTTP/0.9 when not allowed`, local }, conn);
    };
    conn.onData((b) => {
      got += b.length;
      try {
        parser.push(b);
      } catch (e) {
        bad(e);
      }
    });
    conn.onEnd(() => {
      if (done) return;
      if (got === 0) {
        finish({ exitCode: 52, response: null, error: 'curl: (52) Empty reply from server', local }, conn);
        return;
      }
      try {
        parser.finish();
      } catch {
        finish({ exitCode: 18, response: null, error: 'curl: (18) transfer closed with outstanding read data remaining', local }, conn);
      }
    });
    conn.onClose((errno) => {
      if (done) return;
      if (errno === 'ECONNRESET') finish({ exitCode: 56, response: null, error: 'curl: (56) Recv failure: Connection reset by peer', local }, null);
      else finish({ exitCode: 52, response: null, error: 'curl: (52) Empty reply from server', local }, null);
    });
    conn.write(bytes);
  });
  return {
    abort: () => {
      if (done) return;
      done = true;
      if (open) open.close();
      else if (attempt) attempt.abort();
    },
  };
}
