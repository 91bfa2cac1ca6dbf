import type { IpsetRegistry } from './registry.js';
import { IpSet } from './set.js';

function header(s: IpSet): string {
  if (s.type === 'bitmap:port') return `range ${s.opts.range![0]}-${s.opts.range![1]}`;
  let h = `family inet hashsize ${s.opts.hashsize} maxelem ${s.opts.maxelem}`;
  if (s.opts.timeout !== undefined) h += ` timeout ${s.opts.timeout}`;
  if (s.opts.comment) h += ' comment';
  return `${h} bucketsize 12 initval 0x${s.opts.initval.toString(16).padStart(8, '0')}`;
}

function memberText(s: IpSet, m: IpSet['members'] extends Map<string, infer V> ? V : never, now: number): string {
  let t = IpSet.textOf(m.dims);
  if (m.expires !== undefined) t += ` timeout ${Math.max(0, Math.floor((m.expires - now) / 1e9))}`;
  if (m.comment !== undefined) t += ` comment "${m.comment}"`;
  void s;
  return t;
}

/** `ipset list [NAME]` as ipset 7.17 prints it (sets separated by a blank line). */
export function ipsetList(reg: IpsetRegistry, now: number, name?: string): string {
  const blocks: string[] = [];
  for (const n of name === undefined ? reg.names() : [name]) {
    const s = reg.get(n);
    if (!s) continue;
    const live = [...s.members.values()].filter((m) => m.expires === undefined || m.expires > now);
    const lines = [
      `Name: ${s.name}`,
      `Type: ${s.type}`,
      `Revision: ${revision(s)}`,
      `Header: ${header(s)}`,
      `Size in memory: ${s.memoryEstimate()}`,
      `References: ${reg.referencesOf(s.name)}`,
      `Number of entries: ${live.length}`,
      'Members:',
      ...live.map((m) => memberText(s, m, now)),
    ];
    blocks.push(lines.join('\n'));
  }
  return blocks.length ? `${blocks.join('\n\n')}\n` : '';
}

/** `ipset save`: create lines followed by their add lines. */
export function ipsetSave(reg: IpsetRegistry, now: number, name?: string): string {
  const out: string[] = [];
  for (const n of name === undefined ? reg.names() : [name]) {
    const s = reg.get(n);
    if (!s) continue;
    out.push(`create ${s.name} ${s.type} ${header(s)}`);
    for (const m of s.members.values()) if (m.expires === undefined || m.expires > now) out.push(`add ${s.name} ${memberText(s, m, now)}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

import { SET_TYPES } from './set.js';
function revision(s: IpSet): number {
  return SET_TYPES[s.type];
}
