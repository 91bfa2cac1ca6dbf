/**
 * `ip route get DST [from SRC]` (iproute2 print_route on the RTM_F_CLONED answer): the output
 * route with its chosen source, `uid 0`, and the `cache` line with the route flags
 * (`<local>`, `<local,brd>`). Errors as iproute2 prints them.
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import type { Netns } from '../netns.js';
import { NetlinkError } from '../netns.js';

const ERRORS: Record<string, string> = {
  ENETUNREACH: 'RTNETLINK answers: Network is unreachable',
  EHOSTUNREACH: 'RTNETLINK answers: No route to host',
  EACCES: 'RTNETLINK answers: Permission denied',
  EINVAL: 'RTNETLINK answers: Invalid argument',
};

export function ipRouteGet(ns: Netns, dst: Ipv4Addr, o: { from?: Ipv4Addr } = {}): string {
  const r = ns.routeOutput(dst, o.from !== undefined ? { src: o.from } : {});
  if (typeof r === 'string') throw new NetlinkError(ERRORS[r] ?? `RTNETLINK answers: ${r}`);
  let s = r.type === 'local' ? 'local ' : r.type === 'broadcast' ? 'broadcast ' : '';
  s += `${formatIpv4(dst)} `;
  if (o.from !== undefined) s += `from ${formatIpv4(o.from)} `;
  if (r.type === 'unicast' && r.nexthop !== dst) s += `via ${formatIpv4(r.nexthop)} `;
  s += `dev ${r.dev.name} `;
  if (o.from === undefined) s += `src ${formatIpv4(r.src)} `;
  s += 'uid 0 \n    cache ';
  if (r.type === 'local') s += '<local> ';
  else if (r.type === 'broadcast') s += '<local,brd> ';
  return s + '\n';
}
