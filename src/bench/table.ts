/** The stdout table of a run: one row per mode and size, then the kernel rows when --kernel ran. */
import type { KernelResult } from './kernel.js';
import type { BenchResult } from './run.js';

const n0 = (v: number): string => Math.round(v).toLocaleString('en-US');
const n1 = (v: number): string => (v >= 100 ? n0(v) : v.toFixed(1));
const us = (ns: number | null): string => (ns === null ? '-' : (ns / 1000).toFixed(ns >= 100_000 ? 0 : 1));

function render(head: string[], rows: string[][], right: boolean[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export function formatTable(results: readonly BenchResult[], kernel: readonly KernelResult[] = []): string {
  const head = ['mode', 'services', 'informer ms', 'sync ms', 'gen/apply ms', 'rules', 'restore KiB', '+1 svc ms', 'memory MiB', '1st rules mean', '1st rules max', '1st ipvs lookups', '1st µs/pkt', '1st kernel est µs', 'est rules', 'est µs/pkt', 'est kernel est µs'];
  const rows = results.map((r) => [
    r.mode,
    n0(r.services),
    n1(r.sync.informerMs),
    n1(r.sync.fullMs),
    `${n1(r.sync.generateMs)}/${n1(r.sync.applyMs)}`,
    n0(r.sync.rules),
    n0(r.sync.restoreBytes / 1024),
    `${n1(r.sync.partialMs)}${r.sync.partialIsFull ? ' (full)' : ''}`,
    r.memoryBytes === null ? '-' : `${(r.memoryBytes / 2 ** 20).toFixed(1)}${r.memoryBytesAllNodes ? ` (${r.memoryBytesAllNodes.nodes} nodes ${(r.memoryBytesAllNodes.bytes / 2 ** 20).toFixed(0)})` : ''}`,
    n1(r.firstPacket.rulesEvaluated.mean),
    n0(r.firstPacket.rulesEvaluated.max),
    n1(r.firstPacket.ipvsLookups.mean),
    us(r.firstPacket.nsPerPacket),
    us(r.firstPacket.kernelEstimate.legacyNs),
    n1(r.established.rulesEvaluated.mean),
    us(r.established.nsPerPacket),
    us(r.established.kernelEstimate.legacyNs),
  ]);
  let s = render(head, rows, head.map((_, i) => i > 0));
  s += '\nkernel est = ESTIMATE for iptables-legacy from the counts and reference/kernel-costs.md §2 per-rule and per-packet costs (not measured);\n';
  s += 'sync ms = syncProxyRules (generate + apply) on a cold rule cache; informer ms = the Service/EndpointSlice events before it.\n';
  s += "'(full)': ipvs mode has no partial sync upstream, every sync is full. µs/pkt is kubewire's own time through the node's receive path.\n";
  if (kernel.length) {
    s += '\nreal kernel (--kernel), iptables mode, same generated payload:\n';
    const kh = ['services', 'lines', 'legacy restore ms (cpu)', 'nft restore ms (cpu)', 'model full sync ms', 'legacy 1st µs (first svc)', 'legacy 1st µs (last svc)', 'kernel ns/rule', 'model ns/rule', 'ipvs'];
    const kr = kernel.map((k) => {
      const m = results.find((r) => r.mode === 'iptables' && r.services === k.services);
      return [
        n0(k.services),
        n0(k.lines),
        k.restoreMs.legacy === null ? '-' : `${n1(k.restoreMs.legacy)} (${n1(k.restoreCpuMs.legacy ?? 0)})`,
        k.restoreMs.nft === null ? '-' : `${n1(k.restoreMs.nft)} (${n1(k.restoreCpuMs.nft ?? 0)})`,
        m ? n1(m.sync.fullMs) : '-',
        us(k.firstPacketNs.legacyFirst),
        us(k.firstPacketNs.legacyLast),
        k.nsPerRule.legacy === null ? '-' : k.nsPerRule.legacy.toFixed(1),
        m?.firstPacket.nsPerRule == null ? '-' : m.firstPacket.nsPerRule.toFixed(1),
        k.ipvs,
      ];
    });
    s += render(kh, kr, kh.map((_, i) => i < kh.length - 1));
    for (const k of kernel) for (const note of k.notes) s += `  ${k.services}: ${note}\n`;
  }
  return s;
}
