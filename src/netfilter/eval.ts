import type { PacketCtx } from './module.js';
import { XT_CONTINUE } from './module.js';
import type { Chain, Table } from './tables.js';
import { IP_WORDS, IPF_DINV, IPF_PINV, IPF_SINV, IPF_SLOW } from './tables.js';
import type { Rule } from './rule.js';
import { NF_ACCEPT, NF_DROP, type NfHook } from './hooks.js';
import { describePacket } from './targets/log.js';

/** How deep jumps may nest before the walk gives up (the kernel refuses loops at load time). */
const MAX_DEPTH = 64;

/** ip_packet_match on the packed IP part of rule `i` (tables.ts packIp). */
function ipMatches(v: readonly number[], i: number, r: Rule, c: PacketCtx): boolean {
  const f = c.ip;
  const o = i * IP_WORDS;
  const flags = v[o + 5]!;
  const dm = v[o + 1]!;
  if (dm !== 0 && ((f.dst & dm) === v[o]) === ((flags & IPF_DINV) !== 0)) return false;
  const sm = v[o + 3]!;
  if (sm !== 0 && ((f.src & sm) === v[o + 2]) === ((flags & IPF_SINV) !== 0)) return false;
  const proto = v[o + 4]!;
  if (proto !== 0 && (f.proto === proto) === ((flags & IPF_PINV) !== 0)) return false;
  if ((flags & IPF_SLOW) === 0) return true;
  if (r.inM !== null && r.inM(c.state.inDev ?? '') === r.inInv) return false;
  if (r.outM !== null && r.outM(c.state.outDev ?? '') === r.outInv) return false;
  if (r.frag && (f.fragOffset !== 0) === r.fragInv) return false;
  return true;
}

/**
 * ipt_do_table: walks the hook's built-in chain of `table` rule by rule, following jumps
 * (pushing the return point), gotos (not pushing) and RETURNs, counting every rule it
 * evaluates in `c.evaluated`, and answers the verdict (chain policy when nothing decides).
 */
export function walkTable(table: Table, hook: NfHook, c: PacketCtx): number {
  const start = table.builtin(hook);
  if (!start) return NF_ACCEPT;
  const sink = c.env.sink;
  const len = c.ip.totalLength;
  const stackChain: Chain[] = [];
  const stackIdx: number[] = [];
  let chain = start;
  let i = 0;
  for (;;) {
    const rules = chain.rules;
    if (i >= rules.length) {
      if (chain.builtin || stackChain.length === 0) {
        if (sink) endEvent(c, 'nf.policy', chain);
        chain.pkts++;
        chain.bytes += len;
        return chain.policy === 'DROP' ? NF_DROP : NF_ACCEPT;
      }
      if (sink) endEvent(c, 'nf.return', chain);
      chain = stackChain.pop()!;
      i = stackIdx.pop()!;
      continue;
    }
    const r = rules[i]!;
    c.evaluated++;
    let ok = ipMatches(chain.ipv, i, r, c);
    if (ok) {
      // Lazy rules compile at their first packet (rule.ts RuleSpec.lazy).
      const fns = r.fns ?? r.compile(c.env);
      for (let k = 0; k < fns.length; k++) {
        if (!fns[k]!(c)) {
          ok = false;
          break;
        }
      }
    }
    if (sink) ruleEvent(c, chain, i, r, ok);
    if (!ok) {
      i++;
      continue;
    }
    r.pkts++;
    r.bytes += len;
    if (r.tfn !== null) {
      const v = r.tfn(c);
      if (v !== XT_CONTINUE) return v;
      i++;
      continue;
    }
    if (r.verdict === 'ACCEPT') return NF_ACCEPT;
    if (r.verdict === 'DROP') return NF_DROP;
    if (r.verdict === 'RETURN') {
      if (stackChain.length === 0) {
        // RETURN from a built-in chain: its policy decides (underflow).
        if (sink) endEvent(c, 'nf.policy', start);
        start.pkts++;
        start.bytes += len;
        return start.policy === 'DROP' ? NF_DROP : NF_ACCEPT;
      }
      chain = stackChain.pop()!;
      i = stackIdx.pop()!;
      continue;
    }
    if (r.jump !== null) {
      if (!r.isGoto) {
        if (stackChain.length >= MAX_DEPTH) return NF_DROP;
        stackChain.push(chain);
        stackIdx.push(i + 1);
      }
      chain = r.jump;
      i = 0;
      continue;
    }
    // A rule without a target only counts (e.g. KUBE-FW's last rule).
    i++;
  }
}

function ruleEvent(c: PacketCtx, chain: Chain, i: number, r: Rule, matched: boolean): void {
  // skb->nf_trace is read when the rule matches, before its target runs (ipt_do_table).
  const traced = c.env.traced.has(c.packet);
  const ns = c.state.netns;
  const base = { time: ns.now(), node: ns.node, netns: ns.netns, step: `${c.table}:${chain.name}` };
  c.env.sink!.record({ kind: 'nf.rule', ...base, table: c.table, chain: chain.name, ruleNum: i + 1, rule: `-A ${chain.name}${r.text}`, matched, verdict: matched ? 'match' : 'no-match' });
  if (traced && matched) c.env.sink!.record({ kind: 'nf.trace', ...base, text: `TRACE: ${c.table}:${chain.name}:rule:${i + 1} ${describePacket(c)}` });
}

function endEvent(c: PacketCtx, kind: 'nf.policy' | 'nf.return', chain: Chain): void {
  const traced = c.env.traced.has(c.packet);
  const ns = c.state.netns;
  const base = { time: ns.now(), node: ns.node, netns: ns.netns, step: `${c.table}:${chain.name}` };
  const ruleNum = chain.rules.length + 1;
  c.env.sink!.record({ kind, ...base, table: c.table, chain: chain.name, ruleNum, ...(kind === 'nf.policy' ? { verdict: chain.policy ?? 'ACCEPT' } : {}) });
  if (traced) c.env.sink!.record({ kind: 'nf.trace', ...base, text: `TRACE: ${c.table}:${chain.name}:${kind === 'nf.policy' ? 'policy' : 'return'}:${ruleNum} ${describePacket(c)}` });
}
