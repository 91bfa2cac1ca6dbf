/** `ip addr show` text (iproute2 ipaddress.c): the link header, link line, then each inet address. */
import { formatInAddr } from '../addr.js';
import type { Netns } from '../netns.js';
import { linkHeader, linkLine } from './ip-link.js';

export function ipAddr(ns: Netns, o: { dev?: string } = {}): string {
  const out: string[] = [];
  for (const d of ns.devicesInOrder()) {
    if (o.dev !== undefined && d.name !== o.dev) continue;
    out.push(linkHeader(d, false));
    out.push(linkLine(d));
    for (const a of d.inAddrs) {
      out.push(formatInAddr(a));
      out.push('       valid_lft forever preferred_lft forever');
    }
  }
  return out.join('\n') + '\n';
}
