/** `ip route show [table T]` (iproute2 print_route): main by default; `all` lists every table, ascending by id. */
import { formatRoute, RT_TABLE_MAIN } from '../fib.js';
import type { Netns } from '../netns.js';

export function ipRoute(ns: Netns, o: { table?: number | 'all' } = {}): string {
  const lines: string[] = [];
  if (o.table === 'all') {
    for (const id of [...ns.tables.keys()].sort((a, b) => a - b)) for (const r of ns.tables.get(id)!.all()) lines.push(formatRoute(r, true));
  } else {
    const t = ns.tables.get(o.table ?? RT_TABLE_MAIN);
    for (const r of t?.all() ?? []) lines.push(formatRoute(r, false));
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
