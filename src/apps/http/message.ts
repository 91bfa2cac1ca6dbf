/**
 * HTTP/1.x messages as plain data. Header names keep the case they were sent with and the
 * order they came in (a proxy forwards them that way); lookups are case-insensitive.
 * Header text is latin1 (one char per byte), so any byte sequence survives a round trip.
 */
export interface HttpHeader {
  readonly name: string;
  readonly value: string;
}

export type HttpVersion = 'HTTP/1.0' | 'HTTP/1.1';

export interface HttpRequest {
  readonly kind: 'request';
  readonly method: string;
  /** The request-target exactly as sent (origin-form `/a?b`, or absolute-form). */
  readonly target: string;
  readonly version: HttpVersion;
  readonly headers: readonly HttpHeader[];
  readonly body: Uint8Array;
  /** The body came (or goes) with Transfer-Encoding: chunked. */
  readonly chunked: boolean;
  readonly trailers: readonly HttpHeader[];
}

export interface HttpResponse {
  readonly kind: 'response';
  readonly version: HttpVersion;
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HttpHeader[];
  readonly body: Uint8Array;
  readonly chunked: boolean;
  readonly trailers: readonly HttpHeader[];
}

export type HttpMessage = HttpRequest | HttpResponse;

export function getHeader(headers: readonly HttpHeader[], name: string): string | undefined {
  const n = name.toLowerCase();
  for (const h of headers) if (h.name.toLowerCase() === n) return h.value;
  return undefined;
}

export function getHeaders(headers: readonly HttpHeader[], name: string): string[] {
  const n = name.toLowerCase();
  return headers.filter((h) => h.name.toLowerCase() === n).map((h) => h.value);
}

/** Comma-separated tokens of every header of that name, lower-cased (Connection, TE). */
export function headerTokens(headers: readonly HttpHeader[], name: string): string[] {
  return getHeaders(headers, name)
    .flatMap((v) => v.split(','))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
}

/**
 * Whether the connection stays open after this message (RFC 9112 9.3): HTTP/1.1 unless
 * `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
 */
export function keepAlive(m: { readonly version: HttpVersion; readonly headers: readonly HttpHeader[] }): boolean {
  const tokens = headerTokens(m.headers, 'connection');
  if (tokens.includes('close')) return false;
  if (m.version === 'HTTP/1.1') return true;
  return tokens.includes('keep-alive');
}

export function request(
  method: string,
  target: string,
  headers: readonly HttpHeader[],
  body: Uint8Array = new Uint8Array(0),
  version: HttpVersion = 'HTTP/1.1',
): HttpRequest {
  return { kind: 'request', method, target, version, headers, body, chunked: false, trailers: [] };
}

export function response(
  status: number,
  reason: string,
  headers: readonly HttpHeader[],
  body: Uint8Array = new Uint8Array(0),
  version: HttpVersion = 'HTTP/1.1',
): HttpResponse {
  return { kind: 'response', version, status, reason, headers, body, chunked: false, trailers: [] };
}

export function h(name: string, value: string): HttpHeader {
  return { name, value };
}

/** latin1 bytes <-> string, one char per byte. */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return s;
}

export function latin1Bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
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
