// The client side of one kubewire exchange (what `kubewire trace` sends over TCP and UDP), in
// one place for both the model's runExchange and the real-kernel client (kernel/app-host.ts):
// the same request bytes, the same datagram, the same one-line summary of the answer, so the
// differential suite compares like with like.
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { curl, type CurlUrl } from './curl.js';
import type { TcpConnector } from './stream.js';

/** Where the exchange goes, as the user named it (`svc/ns/name:80`, `10.42.1.2:8080`, a URL). */
export interface ExchangeTarget {
  readonly label: string;
  readonly ip: Ipv4Addr;
  readonly port?: number | undefined;
  /** For `http://HOST/PATH`: the URL curl is given. */
  readonly url?: CurlUrl | undefined;
}

/** What the exchange ends with: delivered or not, why not, and the answer's summary. */
export type ExchangeDone = (delivered: boolean, reason: string | null, summary: string | null) => void;

/**
 * The URL curl is given: the target's URL when it was one, else `/` on the target's port with
 * Host = the target as named, without its port (workloads serve HTTP; the echo body shows it).
 */
export function exchangeUrl(to: ExchangeTarget): CurlUrl {
  if (to.url) return to.url;
  const host = to.label.includes('://') ? formatIpv4(to.ip) : to.label.replace(/:\d+$/, '');
  return { host, port: to.port!, path: '/' };
}

/** `HTTP/1.1 <status> <reason>`, then ` | ` and the body's first non-blank line when it has one. */
export function summariseHttp(status: number, reason: string, body: Uint8Array): string {
  const text = new TextDecoder().decode(body);
  return `HTTP/1.1 ${status} ${reason}${text ? ` | ${(text.split('\n').find((l) => l.trim()) ?? '').trimEnd()}` : ''}`;
}

/**
 * The TCP exchange: one curl request to `ip` (the target's, or what its name resolved to).
 * Answers curl's `abort`, for a caller that gives up first.
 */
export function httpExchange(connector: TcpConnector, ip: Ipv4Addr, to: ExchangeTarget, done: ExchangeDone): { abort(): void } {
  return curl(connector, ip, exchangeUrl(to), (r) => {
    if (r.exitCode !== 0 || !r.response) return done(false, r.error ?? `curl exit ${r.exitCode}`, null);
    done(true, null, summariseHttp(r.response.status, r.response.reason, r.response.body));
  });
}

/** The UDP exchange's one datagram (UDP echo servers send it back). */
export function udpGreeting(fromLabel: string): Uint8Array {
  return new TextEncoder().encode(`kubewire trace from ${fromLabel}\n`);
}
