/**
 * An incremental HTTP/1.x parser for a byte stream that arrives in arbitrary pieces. It
 * yields each complete message (keep-alive and pipelining: several per stream) and throws
 * only `HttpError`; after an error it stays failed, as a server then closes the connection.
 *
 * What it accepts and refuses follows nginx (ngx_http_parse.c, ngx_http_request.c):
 * - lines end in CRLF or a bare LF; empty lines before a request line are skipped;
 * - request line `METHOD SP target SP HTTP/1.x`; methods are upper-case letters, `_`, `-`;
 *   HTTP/2 and later in a request line answer 505; longer than `maxStartLine` answers 414;
 * - header lines `name: value`; the name is visible bytes with no space before the colon (a
 *   line without a colon is a header with an empty value); only spaces around the value are
 *   dropped (tabs stay, as nginx keeps them); obs-fold (a line starting with space or tab),
 *   NUL or CR inside a line answer 400; one line
 *   longer than `maxHeaderLine`, or the whole header longer than `maxHeaderBlock`, answer
 *   494 ("Request Header Or Cookie Too Large"), as large_client_header_buffers 4 8k;
 * - body: `Transfer-Encoding: chunked` (anything else there answers 501; with a
 *   Content-Length too, 400), else `Content-Length` (digits only; duplicates 400), else none
 *   for a request; a response without either runs to the end of the stream, and responses
 *   to HEAD, 1xx, 204 and 304 have none. More than `maxBody` answers 413
 *   (client_max_body_size 1m).
 */
import { HttpError } from './errors.js';
import { getHeaders, latin1, type HttpHeader, type HttpMessage, type HttpRequest, type HttpResponse, type HttpVersion } from './message.js';

export interface HttpLimits {
  readonly maxStartLine: number;
  readonly maxHeaderLine: number;
  readonly maxHeaderBlock: number;
  readonly maxBody: number;
}

/** nginx's defaults as ingress-nginx configures them (large-client-header-buffers "4 8k", proxy-body-size 1m). */
export const NGINX_LIMITS: HttpLimits = { maxStartLine: 8192, maxHeaderLine: 8192, maxHeaderBlock: 4 * 8192, maxBody: 1024 * 1024 };

/** An upstream response as nginx reads it: the whole header within proxy-buffer-size 4k, any body. */
export const NGINX_UPSTREAM_LIMITS: HttpLimits = { maxStartLine: 4096, maxHeaderLine: 4096, maxHeaderBlock: 4096, maxBody: Number.MAX_SAFE_INTEGER };

/** A client reading responses (curl): generous header limits (curl's 100 KiB line), any body. */
export const CLIENT_LIMITS: HttpLimits = { maxStartLine: 102400, maxHeaderLine: 102400, maxHeaderBlock: 300 * 1024, maxBody: Number.MAX_SAFE_INTEGER };

type State = 'start' | 'headers' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'eof-body' | 'failed';

const METHOD = /^[A-Z_-]+$/;

export class HttpParser<M extends HttpMessage = HttpMessage> {
  private buf = new Uint8Array(0);
  private state: State = 'start';
  private error: HttpError | null = null;
  private headerBytes = 0;
  // the message being assembled
  private startLine: { method: string; target: string; version: HttpVersion } | { version: HttpVersion; status: number; reason: string } | null = null;
  private headers: HttpHeader[] = [];
  private trailers: HttpHeader[] = [];
  private bodyParts: Uint8Array[] = [];
  private bodyLen = 0;
  private remaining = 0;
  private chunked = false;
  /** Methods of the requests whose responses are awaited, oldest first (HEAD has no body). */
  private readonly pendingMethods: string[] = [];

  constructor(
    readonly mode: M extends HttpRequest ? 'request' : 'response',
    private readonly onMessage: (m: M) => void,
    readonly limits: HttpLimits = NGINX_LIMITS,
  ) {}

  /** For a response parser: the next response answers a request with this method. */
  expectResponseTo(method: string): void {
    this.pendingMethods.push(method);
  }

  /** True when no message is partly received. */
  get idle(): boolean {
    return this.state === 'start' && this.buf.length === 0;
  }

  get failed(): HttpError | null {
    return this.error;
  }

  push(bytes: Uint8Array): void {
    if (this.error) throw this.error;
    if (bytes.length === 0) return;
    if (this.buf.length === 0) this.buf = new Uint8Array(bytes); // a plain copy, even of a Buffer
    else {
      const b = new Uint8Array(this.buf.length + bytes.length);
      b.set(this.buf);
      b.set(bytes, this.buf.length);
      this.buf = b;
    }
    try {
      this.run();
    } catch (e) {
      if (e instanceof HttpError) {
        this.error = e;
        this.state = 'failed';
      }
      throw e;
    }
  }

  /** The stream ended (peer FIN): completes a body that runs to the end, else fails if mid-message. */
  finish(): void {
    if (this.error) throw this.error;
    if (this.state === 'eof-body') {
      this.emit();
      return;
    }
    if (this.state === 'start' && this.onlyBlankLines()) return;
    this.error = new HttpError(400, this.state === 'start' ? 'client prematurely closed connection while reading request line' : 'client prematurely closed connection');
    this.state = 'failed';
    throw this.error;
  }

  private onlyBlankLines(): boolean {
    for (const b of this.buf) if (b !== 0x0d && b !== 0x0a) return false;
    return true;
  }

  /** One line without its terminator, or null if incomplete; `limit` bounds the pending length. */
  private line(limit: number, tooLong: () => HttpError): string | null {
    const lf = this.buf.indexOf(0x0a);
    if (lf < 0) {
      if (this.buf.length > limit) throw tooLong();
      return null;
    }
    let end = lf;
    if (end > 0 && this.buf[end - 1] === 0x0d) end--;
    if (end > limit) throw tooLong();
    const bytes = this.buf.subarray(0, end);
    if (bytes.includes(0) || bytes.includes(0x0d)) throw new HttpError(400, 'client sent invalid header line');
    const s = latin1(bytes);
    this.consume(lf + 1);
    return s;
  }

  private consume(n: number): void {
    this.buf = this.buf.subarray(n);
  }

  private run(): void {
    for (;;) {
      switch (this.state) {
        case 'start': {
          // skip empty lines before a message (RFC 9112 2.2)
          while (this.buf.length > 0 && (this.buf[0] === 0x0a || (this.buf[0] === 0x0d && this.buf[1] === 0x0a))) this.consume(this.buf[0] === 0x0a ? 1 : 2);
          const l = this.line(this.limits.maxStartLine, () =>
            this.mode === 'request' ? new HttpError(414, 'client sent too long URI') : new HttpError(502, 'upstream sent too big header'),
          );
          if (l === null) return;
          this.startLine = this.mode === 'request' ? parseRequestLine(l) : parseStatusLine(l);
          this.headers = [];
          this.trailers = [];
          this.headerBytes = l.length;
          this.state = 'headers';
          break;
        }
        case 'headers': {
          const l = this.line(this.limits.maxHeaderLine, () => this.tooBig());
          if (l === null) return;
          this.headerBytes += l.length + 2;
          if (this.headerBytes > this.limits.maxHeaderBlock) throw this.tooBig();
          if (l === '') {
            this.startBody();
            break;
          }
          this.headers.push(parseHeaderLine(l));
          break;
        }
        case 'body': {
          const n = Math.min(this.remaining, this.buf.length);
          if (n > 0) {
            this.bodyParts.push(this.buf.slice(0, n));
            this.consume(n);
            this.remaining -= n;
          }
          if (this.remaining > 0) return;
          this.emit();
          break;
        }
        case 'chunk-size': {
          const l = this.line(4096, () => new HttpError(400, 'client sent invalid chunked body'));
          if (l === null) return;
          const m = /^([0-9A-Fa-f]{1,15})[ \t]*(;.*)?$/.exec(l);
          if (!m) throw new HttpError(400, 'client sent invalid chunked body');
          const size = parseInt(m[1]!, 16);
          if (this.bodyLen + size > this.limits.maxBody) throw this.mode === 'request' ? new HttpError(413, 'client intended to send too large chunked body') : new HttpError(502, 'upstream sent too large body');
          if (size === 0) this.state = 'trailers';
          else {
            this.remaining = size;
            this.state = 'chunk-data';
          }
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, this.buf.length);
          if (n > 0) {
            this.bodyParts.push(this.buf.slice(0, n));
            this.bodyLen += n;
            this.consume(n);
            this.remaining -= n;
          }
          if (this.remaining > 0) return;
          this.state = 'chunk-crlf';
          break;
        }
        case 'chunk-crlf': {
          const l = this.line(2, () => new HttpError(400, 'client sent invalid chunked body'));
          if (l === null) return;
          if (l !== '') throw new HttpError(400, 'client sent invalid chunked body');
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          const l = this.line(this.limits.maxHeaderLine, () => this.tooBig());
          if (l === null) return;
          if (l === '') {
            this.emit();
            break;
          }
          this.trailers.push(parseHeaderLine(l));
          break;
        }
        case 'eof-body': {
          if (this.buf.length > 0) {
            this.bodyLen += this.buf.length;
            if (this.bodyLen > this.limits.maxBody) throw new HttpError(502, 'upstream sent too large body');
            this.bodyParts.push(this.buf.slice());
            this.buf = new Uint8Array(0);
          }
          return;
        }
        case 'failed':
          throw this.error!;
      }
    }
  }

  private tooBig(): HttpError {
    return this.mode === 'request' ? new HttpError(494, 'client sent too long header line') : new HttpError(502, 'upstream sent too big header');
  }

  private startBody(): void {
    const te = getHeaders(this.headers, 'transfer-encoding');
    const cl = getHeaders(this.headers, 'content-length');
    this.bodyParts = [];
    this.bodyLen = 0;
    this.chunked = false;
    const sl = this.startLine!;
    if (this.mode === 'response' && 'status' in sl) {
      const method = this.pendingMethods.shift();
      if (method === 'HEAD' || (sl.status >= 100 && sl.status < 200) || sl.status === 204 || sl.status === 304) {
        this.emit();
        return;
      }
    }
    if (te.length > 0) {
      if (cl.length > 0) throw new HttpError(400, 'client sent "Content-Length" and "Transfer-Encoding" headers at the same time');
      const codings = te.flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase());
      if (codings.length !== 1 || codings[0] !== 'chunked') throw new HttpError(501, 'client sent unknown "Transfer-Encoding"');
      this.chunked = true;
      this.state = 'chunk-size';
      return;
    }
    if (cl.length > 1) throw new HttpError(400, 'client sent duplicate header line: "Content-Length"');
    if (cl.length === 1) {
      const v = cl[0]!;
      if (!/^[0-9]{1,15}$/.test(v)) throw new HttpError(400, 'client sent invalid "Content-Length" header');
      const n = Number(v);
      if (n > this.limits.maxBody) throw this.mode === 'request' ? new HttpError(413, `client intended to send too large body: ${n} bytes`) : new HttpError(502, 'upstream sent too large body');
      this.remaining = n;
      this.state = 'body';
      return;
    }
    if (this.mode === 'response') {
      this.state = 'eof-body';
      return;
    }
    this.emit();
  }

  private emit(): void {
    const sl = this.startLine!;
    const body = concat(this.bodyParts);
    const common = { headers: this.headers, body, chunked: this.chunked, trailers: this.trailers };
    const m: HttpMessage =
      'method' in sl
        ? { kind: 'request', method: sl.method, target: sl.target, version: sl.version, ...common }
        : { kind: 'response', version: sl.version, status: sl.status, reason: sl.reason, ...common };
    this.state = 'start';
    this.startLine = null;
    this.bodyParts = [];
    this.bodyLen = 0;
    this.onMessage(m as M);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function parseVersion(v: string, inRequest: boolean): HttpVersion {
  const m = /^HTTP\/([0-9])\.([0-9])$/.exec(v);
  if (!m) throw new HttpError(400, inRequest ? 'client sent invalid request' : 'upstream sent no valid HTTP/1.0 header');
  const major = Number(m[1]);
  if (major === 1) return m[2] === '0' ? 'HTTP/1.0' : 'HTTP/1.1';
  if (major > 1 && inRequest) throw new HttpError(505, 'client sent unsupported HTTP version');
  throw new HttpError(400, inRequest ? 'client sent invalid request' : 'upstream sent no valid HTTP/1.0 header');
}

function parseRequestLine(l: string): { method: string; target: string; version: HttpVersion } {
  const parts = l.split(' ');
  if (parts.length !== 3) throw new HttpError(400, 'client sent invalid request');
  const [method, target, version] = parts as [string, string, string];
  if (!METHOD.test(method)) throw new HttpError(400, 'client sent invalid method');
  if (target === '' || /[\x00-\x20\x7f]/.test(target)) throw new HttpError(400, 'client sent invalid request');
  return { method, target, version: parseVersion(version, true) };
}

function parseStatusLine(l: string): { version: HttpVersion; status: number; reason: string } {
  const m = /^(HTTP\/[0-9]\.[0-9]) ([0-9]{3})(?: (.*))?$/.exec(l);
  if (!m) throw new HttpError(502, 'upstream sent no valid HTTP/1.0 header');
  return { version: parseVersion(m[1]!, false), status: Number(m[2]), reason: m[3] ?? '' };
}

function parseHeaderLine(l: string): HttpHeader {
  // as ngx_http_parse_header_line: a name is any run of visible bytes (names with other than
  // letters, digits and `-` are for the server to ignore, ignore_invalid_headers); a line
  // without a colon is a header with an empty value; only spaces around the value go
  if (l[0] === ' ' || l[0] === '\t') throw new HttpError(400, 'client sent invalid header line');
  const colon = l.indexOf(':');
  if (colon === 0) throw new HttpError(400, 'client sent invalid header line');
  const name = colon < 0 ? l : l.slice(0, colon);
  if (/[\x00-\x20\x7f]/.test(name)) throw new HttpError(400, 'client sent invalid header line');
  const value = colon < 0 ? '' : l.slice(colon + 1).replace(/^ +| +$/g, '');
  return { name, value };
}

/** nginx's valid header name (underscores_in_headers off): letters, digits, `-`. */
export function nginxValidHeaderName(name: string): boolean {
  return /^[A-Za-z0-9-]+$/.test(name);
}

/** Parses one complete message from bytes (tests, goldens); throws HttpError if incomplete. */
export function parseOne<M extends HttpMessage>(mode: M extends HttpRequest ? 'request' : 'response', bytes: Uint8Array, requestMethod?: string): M {
  const out: M[] = [];
  const p = new HttpParser<M>(mode, (m) => out.push(m));
  if (requestMethod !== undefined) p.expectResponseTo(requestMethod);
  p.push(bytes);
  if (out.length === 0) p.finish();
  const m = out[0];
  if (m === undefined) throw new HttpError(400, 'incomplete message');
  return m;
}

export type { HttpResponse };
