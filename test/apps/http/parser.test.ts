import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HttpParser, NGINX_LIMITS, parseOne } from '../../../src/apps/http/parser.js';
import { serialize } from '../../../src/apps/http/serialize.js';
import { HttpError } from '../../../src/apps/http/errors.js';
import { keepAlive, latin1Bytes, type HttpHeader, type HttpMessage, type HttpRequest, type HttpResponse } from '../../../src/apps/http/message.js';

const tokenChar = fc.constantFrom(...'!#$%&\'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.split(''));
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 });
// header values: visible latin1 and inner spaces, no leading/trailing whitespace
const valueChar = fc.integer({ min: 0x21, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
const value = fc
  .tuple(fc.string({ unit: valueChar, maxLength: 10 }), fc.string({ unit: fc.constantFrom(' ', 'x', ':'), maxLength: 3 }), fc.string({ unit: valueChar, maxLength: 6 }))
  .map(([a, b, c]) => (a + b + c).replace(/^ +| +$/g, ''));
const framingFree = (n: string): boolean => !['content-length', 'transfer-encoding'].includes(n.toLowerCase());
const headers = fc.array(fc.record({ name: token.filter(framingFree), value }), { maxLength: 6 });
const body = fc.uint8Array({ maxLength: 300 });
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'M-SEARCH');
const target = fc.string({ unit: fc.constantFrom(...'/abcXYZ019-._~%?=&'.split('')), maxLength: 20 }).map((s) => `/${s}`);
const version = fc.constantFrom('HTTP/1.1' as const, 'HTTP/1.0' as const);

function framed(hs: HttpHeader[], b: Uint8Array, chunked: boolean): HttpHeader[] {
  if (chunked) return [...hs, { name: 'Transfer-Encoding', value: 'chunked' }];
  return [...hs, { name: 'Content-Length', value: String(b.length) }];
}

const requestArb: fc.Arbitrary<HttpRequest> = fc
  .tuple(method, target, version, headers, body, fc.boolean(), fc.array(fc.record({ name: token.filter(framingFree), value }), { maxLength: 2 }))
  .map(([m, t, v, hs, b, chunked, tr]) => ({
    kind: 'request',
    method: m,
    target: t,
    version: v,
    headers: framed(hs, b, chunked),
    body: b,
    chunked,
    trailers: chunked ? tr : [],
  }));

const responseArb: fc.Arbitrary<HttpResponse> = fc
  .tuple(fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304), fc.constantFrom('OK', 'Not Found', 'Service Temporarily Unavailable', ''), version, headers, body, fc.boolean())
  .map(([s, r, v, hs, b, chunked]) => ({ kind: 'response', version: v, status: s, reason: r, headers: framed(hs, b, chunked), body: b, chunked, trailers: [] }));

function parseAll(mode: 'request' | 'response', bytes: Uint8Array, cut: number[]): HttpMessage[] {
  const out: HttpMessage[] = [];
  const p = new HttpParser(mode, (m) => out.push(m));
  let i = 0;
  for (const c of cut) {
    p.push(bytes.subarray(i, Math.min(bytes.length, i + c)));
    i = Math.min(bytes.length, i + c);
  }
  p.push(bytes.subarray(i));
  p.finish();
  return out;
}

describe('HTTP parser and serializer', () => {
  it('serialize(parse(serialize(m))) is byte-identical and parse gives m back (requests)', () => {
    fc.assert(
      fc.property(requestArb, (m) => {
        const bytes = serialize(m);
        const back = parseOne<HttpRequest>('request', bytes);
        expect(back).toEqual(m);
        expect(Buffer.from(serialize(back)).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it('round trips responses', () => {
    fc.assert(
      fc.property(responseArb, (m) => {
        const bytes = serialize(m);
        const back = parseOne<HttpResponse>('response', bytes, 'GET');
        expect(back).toEqual(m);
        expect(Buffer.from(serialize(back)).equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });

  it('gives the same messages for every chunking of a pipelined stream', () => {
    fc.assert(
      fc.property(fc.array(requestArb, { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 60 }), (ms, cut) => {
        const bytes = Buffer.concat(ms.map((m) => Buffer.from(serialize(m))));
        const whole = parseAll('request', bytes, []);
        const pieces = parseAll('request', bytes, cut);
        expect(whole).toEqual(ms);
        expect(pieces).toEqual(ms);
      }),
    );
  });

  it('never throws anything but HttpError on random bytes, in any chunking', () => {
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      // mutations of valid messages reach deeper states
      fc.tuple(requestArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 5 })).map(([m, muts]) => {
        const b = serialize(m).slice();
        for (const [i, v] of muts) if (b.length > 0) b[i % b.length] = v;
        return b;
      }),
    );
    fc.assert(
      fc.property(bytesArb, fc.array(fc.integer({ min: 1, max: 17 }), { maxLength: 30 }), fc.constantFrom('request' as const, 'response' as const), (bytes, cut, mode) => {
        try {
          parseAll(mode, bytes, cut);
        } catch (e) {
          expect(e).toBeInstanceOf(HttpError);
          expect([400, 413, 414, 494, 501, 502, 505]).toContain((e as HttpError).status);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps header case and order, trims optional whitespace, accepts bare LF', () => {
    const m = parseOne<HttpRequest>('request', latin1Bytes('\r\nGET /a?b=1 HTTP/1.1\nHost:  Siji.Example.com \nx-Mixed-CASE:\tv\nX_Under: 1\nNoColon\n\n'));
    // as nginx: only spaces are trimmed, odd names are kept for the server to judge, a line
    // without a colon is an empty header
    expect(m.headers).toEqual([
      { name: 'Host', value: 'Siji.Example.com' },
      { name: 'x-Mixed-CASE', value: '\tv' },
      { name: 'X_Under', value: '1' },
      { name: 'NoColon', value: '' },
    ]);
    expect(m.target).toBe('/a?b=1');
  });

  it('answers as nginx does for bad requests', () => {
    const status = (s: string): number => {
      try {
        parseOne('request', latin1Bytes(s));
      } catch (e) {
        return (e as HttpError).status;
      }
      return 0;
    };
    expect(status('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe(0);
    expect(status('get / HTTP/1.1\r\n\r\n')).toBe(400);
    expect(status('GET / HTTP/2.0\r\n\r\n')).toBe(505);
    expect(status('GET / HTTP/1.1\r\nBad Header: x\r\n\r\n')).toBe(400);
    expect(status('GET / HTTP/1.1\r\nX-Sp : x\r\n\r\n')).toBe(400);
    expect(status('GET / HTTP/1.1\r\n: empty\r\n\r\n')).toBe(400);
    expect(status('GET / HTTP/1.1\r\n folded\r\n\r\n')).toBe(400);
    expect(status('POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx')).toBe(400);
    expect(status('POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n')).toBe(400);
    expect(status('POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n')).toBe(501);
    expect(status('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n')).toBe(400);
    expect(status('POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n')).toBe(413);
    expect(status(`GET /${'a'.repeat(9000)} HTTP/1.1\r\n\r\n`)).toBe(414);
    expect(status(`GET / HTTP/1.1\r\nCookie: ${'a'.repeat(9000)}\r\n\r\n`)).toBe(494);
    // many lines each under 8k but together over 4 x 8k
    expect(status(`GET / HTTP/1.1\r\n${`X: ${'a'.repeat(8000)}\r\n`.repeat(5)}\r\n`)).toBe(494);
    expect(status('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')).toBe(400);
  });

  it('reports a too long line before its end arrives, and stays failed', () => {
    const p = new HttpParser('request', () => {}, NGINX_LIMITS);
    expect(() => p.push(latin1Bytes(`GET /${'a'.repeat(8200)}`))).toThrow(HttpError);
    expect(() => p.push(latin1Bytes(' HTTP/1.1\r\n\r\n'))).toThrow(HttpError);
  });

  it('reads a response without length to the end of the stream; HEAD, 204, 304 have no body', () => {
    const out: HttpResponse[] = [];
    const p = new HttpParser<HttpResponse>('response', (m) => out.push(m));
    p.push(latin1Bytes('HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello '));
    p.push(latin1Bytes('world'));
    expect(out).toHaveLength(0);
    p.finish();
    expect(Buffer.from(out[0]!.body).toString()).toBe('hello world');

    const q: HttpResponse[] = [];
    const p2 = new HttpParser<HttpResponse>('response', (m) => q.push(m));
    p2.expectResponseTo('HEAD');
    p2.expectResponseTo('GET');
    p2.push(latin1Bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n'));
    expect(q.map((r) => [r.status, r.body.length])).toEqual([
      [200, 0],
      [304, 0],
    ]);
  });

  it('decides keep-alive as RFC 9112 9.3 says', () => {
    const k = (v: 'HTTP/1.0' | 'HTTP/1.1', c?: string): boolean => keepAlive({ version: v, headers: c === undefined ? [] : [{ name: 'Connection', value: c }] });
    expect(k('HTTP/1.1')).toBe(true);
    expect(k('HTTP/1.1', 'Close')).toBe(false);
    expect(k('HTTP/1.1', 'foo, close')).toBe(false);
    expect(k('HTTP/1.0')).toBe(false);
    expect(k('HTTP/1.0', 'Keep-Alive')).toBe(true);
  });
});
