/**
 * The one error the HTTP parsers throw. `status` is the response a server sends for it, as
 * nginx decides (ngx_http_parse.c / ngx_http_request.c): 400 for malformed input, 414 for a
 * too long request line, 494 (sent as 400 with its own page) for a too large header, 413 for
 * a too large body, 501 for an unknown Transfer-Encoding, 505 for HTTP/2+ in a request line.
 * `detail` is the reason as nginx's error log words it.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${status}: ${detail}`);
  }
}
