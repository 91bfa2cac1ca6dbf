import type { CtEntry, Tuple } from './entry.js';
import { IPS, TCP_STATES } from './entry.js';
import { formatIpv4 } from '../../wire/ipv4-address.js';

const PROTO_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite', 47: 'gre' };

function tupleText(t: Tuple): string {
  let s = `src=${formatIpv4(t.src)} dst=${formatIpv4(t.dst)} `;
  if (t.proto === 1) s += `type=${t.dport >> 8} code=${t.dport & 0xff} id=${t.sport} `;
  else if (t.proto === 6 || t.proto === 17 || t.proto === 132 || t.proto === 136) s += `sport=${t.sport} dport=${t.dport} `;
  return s;
}

/**
 * One `conntrack -L` line as libnetfilter_conntrack's default printer writes it: protocol
 * name padded to 8, number, seconds left, TCP state, original tuple, [UNREPLIED], reply
 * tuple, [ASSURED], mark, use.
 */
export function conntrackLine(e: CtEntry, now: number): string {
  const secs = Math.max(0, Math.floor((e.expires - now) / 1_000_000_000));
  let s = `${(PROTO_NAMES[e.orig.proto] ?? 'unknown').padEnd(8)} ${e.orig.proto} ${secs} `;
  if (e.orig.proto === 6) s += `${TCP_STATES[e.tcpState]} `;
  s += tupleText(e.orig);
  if (!(e.status & IPS.SEEN_REPLY)) s += '[UNREPLIED] ';
  s += tupleText(e.reply);
  if (e.status & IPS.ASSURED) s += '[ASSURED] ';
  s += `mark=${e.mark} use=1`;
  return s;
}

/** stdout of `conntrack -L` (one line per entry). */
export function conntrackList(entries: readonly CtEntry[], now: number): string {
  return entries.map((e) => `${conntrackLine(e, now)}\n`).join('');
}

/** The summary conntrack-tools writes to stderr after a listing. */
export function conntrackSummary(n: number): string {
  return `conntrack v1.4.7 (conntrack-tools): ${n} flow entries have been shown.\n`;
}
