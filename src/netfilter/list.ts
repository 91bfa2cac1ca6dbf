import type { Table, TableName } from './tables.js';
import { TABLE_CHAINS } from './tables.js';
import type { Rule } from './rule.js';
import { formatIpv4 } from '../wire/ipv4-address.js';

/** xtables_print_num with FMT_KILOMEGAGIGA: up to 99999 as is, then K/M/G/T rounded. */
function num(n: number, table: boolean): string {
  if (n <= 99999) return table ? `${String(n).padStart(5)} ` : `${n} `;
  let v = n;
  for (const unit of ['K', 'M', 'G']) {
    v = Math.floor((v + 500) / 1000);
    if (v <= 9999) return table ? `${String(v).padStart(4)}${unit} ` : `${v}${unit} `;
  }
  v = Math.floor((v + 500) / 1000);
  return table ? `${String(v).padStart(4)}T ` : `${v}T `;
}

function addr(a: number, m: number): string {
  if (m === 0) return '0.0.0.0/0';
  let len = 0;
  let x = m;
  while (x & 0x80000000) {
    len++;
    x = (x << 1) >>> 0;
  }
  if (len === 32) return formatIpv4(a);
  return `${formatIpv4(a)}/${x === 0 ? len : formatIpv4(m)}`;
}

function ruleLine(r: Rule): string {
  // NOTRACK is CT --notrack in the kernel, so the listing names the target CT.
  const target = r.target ? (r.target.mod.name === 'NOTRACK' ? 'CT' : r.target.mod.name) : r.verdict ?? r.jumpName ?? '';
  let t = `${num(r.pkts, true)}${num(r.bytes, true)}${target.padEnd(9)} `;
  t += `${r.pInv ? '!' : ' '}${String(r.proto).padEnd(5)}`;
  t += `${r.fragInv ? '!' : '-'}${r.frag ? 'f' : '-'} `;
  t += ` ${(r.ip.inIface ? `${r.inInv ? '!' : ''}${r.ip.inIface}` : '*').padEnd(6)}`;
  t += ` ${(r.ip.outIface ? `${r.outInv ? '!' : ''}${r.ip.outIface}` : '*').padEnd(6)}`;
  t += ` ${r.sInv ? '!' : ' '}${addr(r.src, r.smsk).padEnd(19)}`;
  t += ` ${r.dInv ? '!' : ' '}${addr(r.dst, r.dmsk).padEnd(19)} `;
  if (r.isGoto) t += '[goto] ';
  for (const m of r.matches) t += m.mod.print ? m.mod.print(m.spec) : m.mod.save(m.spec);
  if (r.target?.mod.print) t += r.target.mod.print(r.target.spec);
  return t;
}

/**
 * `iptables -t TABLE -L -n -v` as iptables-nft 1.8.9 prints it: a block per chain (built-ins
 * in hook order, then user chains sorted), policy counters or reference counts, one line per
 * rule with the extensions' print() text.
 */
export function iptablesList(t: Table): string {
  const chains = [...TABLE_CHAINS[t.name as TableName].map((h) => t.chains.get(h)!), ...t.userChains()];
  const blocks: string[] = [];
  for (const c of chains) {
    let head: string;
    if (c.builtin) head = `Chain ${c.name} (policy ${c.policy} ${num(c.pkts, false)}packets, ${num(c.bytes, false)}bytes)`;
    else {
      let refs = 0;
      for (const o of t.chains.values()) for (const r of o.rules) if (r.jumpName === c.name) refs++;
      head = `Chain ${c.name} (${refs} references)`;
    }
    const lines = [head, ' pkts bytes target     prot opt in     out     source               destination         ', ...c.rules.map(ruleLine)];
    blocks.push(lines.join('\n'));
  }
  return `${blocks.join('\n\n')}\n`;
}
