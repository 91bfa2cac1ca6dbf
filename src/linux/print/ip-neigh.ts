/**
 * `ip neigh show [nud all]` (iproute2 print_neigh). Plain `ip neigh` hides NOARP and NONE
 * entries. Order: the kernel's, the machine's ARP hash-table order (neigh-hash.ts), random
 * per boot, so comparisons with another boot (a real kernel) sort the lines.
 */
import { NUD_NOARP, NUD_NONE } from '../neigh.js';
import type { Netns } from '../netns.js';

export function ipNeigh(ns: Netns, o: { all?: boolean; dev?: string } = {}): string {
  const lines: string[] = [];
  for (const n of ns.neigh.all()) {
    if (o.dev !== undefined && n.dev.name !== o.dev) continue;
    if (!o.all && (n.state === NUD_NONE || n.state & NUD_NOARP)) continue;
    lines.push(n.format());
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
