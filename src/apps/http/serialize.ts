/**
 * Writes messages as bytes: start line, headers exactly as given (`Name: value` CRLF, in
 * order), CRLF, then the body. The framing headers are the caller's: the serializer never
 * adds Content-Length. A `chunked` message's body goes out as one chunk, the last chunk and
 * its trailers (RFC 9112 7.1).
 */
import { concatBytes, latin1Bytes, type HttpHeader, type HttpMessage } from './message.js';

export function serializeHead(m: HttpMessage): string {
  // an empty reason phrase goes out as `HTTP/1.1 200` (nginx relays an upstream's that way)
  const start = m.kind === 'request' ? `${m.method} ${m.target} ${m.version}` : `${m.version} ${m.status}${m.reason === '' ? '' : ` ${m.reason}`}`;
  return `${start}\r\n${headerLines(m.headers)}\r\n`;
}

function headerLines(headers: readonly HttpHeader[]): string {
  let s = '';
  for (const x of headers) s += `${x.name}: ${x.value}\r\n`;
  return s;
}

export function serialize(m: HttpMessage): Uint8Array {
  const head = latin1Bytes(serializeHead(m));
  if (!m.chunked) return concatBytes([head, m.body]);
  const parts: Uint8Array[] = [head];
  if (m.body.length > 0) parts.push(latin1Bytes(`${m.body.length.toString(16)}\r\n`), m.body, latin1Bytes('\r\n'));
  parts.push(latin1Bytes(`0\r\n${headerLines(m.trailers)}\r\n`));
  return concatBytes(parts);
}
