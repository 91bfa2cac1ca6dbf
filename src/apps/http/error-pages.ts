/**
 * nginx's built-in responses: the status line text of ngx_http_header_filter_module.c and
 * the HTML pages of ngx_http_special_response.c (nginx 1.25.5, the one ingress-nginx
 * ships), byte for byte. The tail names the server: `nginx` with `server_tokens off`, the
 * version with `on`; servers built on nginx (Tengine, the seed's `TLB`) change that word.
 */
const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
  301: 'Moved Permanently', 302: 'Moved Temporarily', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Not Allowed', 406: 'Not Acceptable', 408: 'Request Time-out', 409: 'Conflict', 410: 'Gone',
  411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large',
  414: 'Request-URI Too Large', 415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable',
  421: 'Misdirected Request', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out', 505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
};

/** The reason phrase nginx prints in its status line; codes it has none for get ''. */
export function nginxReason(status: number): string {
  return REASONS[status] ?? '';
}

/** Page titles where they differ from the status line (302 "Found", 401 "Authorization Required"). */
const TITLES: Record<number, string> = { 302: 'Found', 401: 'Authorization Required' };

/** Own codes sent with another status and their extra line (494..497 answer 400). */
const OWN: Record<number, string> = {
  494: 'Request Header Or Cookie Too Large',
  495: 'The SSL certificate error',
  496: 'No required SSL certificate was sent',
  497: 'The plain HTTP request was sent to HTTPS port',
};

/** Codes with a page in ngx_http_error_pages[] (others get an empty body). */
const WITH_PAGE = new Set([301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406, 408, 409, 410, 411, 412, 413, 414, 415, 416, 421, 429, 494, 495, 496, 497, 498, 500, 501, 502, 503, 504, 505, 507]);

/** The status actually sent for an internal code (494-497 go out as 400, 498 as 404 page). */
export function wireStatus(code: number): number {
  return code >= 494 && code <= 497 ? 400 : code;
}

/** The body nginx sends for `code`, or null when it sends none. `tail` is what the <hr> line names. */
export function nginxErrorPage(code: number, tail = 'nginx'): string | null {
  if (!WITH_PAGE.has(code)) return null;
  let head: string;
  const own = OWN[code];
  if (own !== undefined) {
    head = `<html>\r\n<head><title>400 ${own}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>${own}</center>\r\n`;
  } else {
    const c = code === 498 ? 404 : code;
    const t = `${c} ${TITLES[c] ?? REASONS[c]!}`;
    head = `<html>\r\n<head><title>${t}</title></head>\r\n<body>\r\n<center><h1>${t}</h1></center>\r\n`;
  }
  return `${head}<hr><center>${tail}</center>\r\n</body>\r\n</html>\r\n`;
}
