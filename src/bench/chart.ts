/**
 * A self-contained SVG of a benchmark run: one panel per figure, Services on a log-scale x axis,
 * one line per mode (and per real-kernel backend when --kernel ran). Y axes are logarithmic when
 * a panel spans more than 20x, linear from 0 otherwise. No scripts, no external resources.
 */
import type { BenchResult } from './run.js';
import type { KernelResult } from './kernel.js';

export interface Series {
  name: string;
  color: string;
  dash?: string;
  points: { x: number; y: number }[];
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
}

const COLORS: Record<string, string> = { iptables: '#d62728', ipvs: '#1f77b4', 'kernel legacy': '#2ca02c', 'kernel nft': '#9467bd', 'estimate legacy': '#ff7f0e' };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 1) return `${+v.toPrecision(3)}`;
  return `${+v.toPrecision(2)}`;
}

/** The panels of a run: programming, memory, first packet, established. */
export function panelsOf(results: readonly BenchResult[], kernel: readonly KernelResult[] = []): Panel[] {
  const modes = [...new Set(results.map((r) => r.mode))];
  const line = (name: string, pick: (r: BenchResult) => number | null, mode: string, dash?: string): Series => ({
    name,
    color: COLORS[mode] ?? '#333',
    ...(dash ? { dash } : {}),
    points: results.filter((r) => r.mode === mode).map((r) => ({ x: r.services, y: pick(r) })).filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y)),
  });
  const perMode = (pick: (r: BenchResult) => number | null): Series[] => modes.map((m) => line(m, pick, m));
  const kline = (name: string, color: string, pick: (k: KernelResult) => number | null): Series => ({
    name,
    color,
    dash: '6 3',
    points: kernel.map((k) => ({ x: k.services, y: pick(k) })).filter((p): p is { x: number; y: number } => p.y !== null && Number.isFinite(p.y)),
  });
  const withKernel = (s: Series[], extra: Series[]): Series[] => [...s, ...extra.filter((e) => e.points.length > 0)];
  return [
    {
      title: 'Full sync (generate + apply)',
      unit: 'ms',
      series: withKernel(perMode((r) => r.sync.fullMs), [
        kline('kernel iptables-legacy-restore', COLORS['kernel legacy']!, (k) => k.restoreMs.legacy),
        kline('kernel iptables-nft-restore', COLORS['kernel nft']!, (k) => k.restoreMs.nft),
      ]),
    },
    { title: 'Partial sync (+1 Service)', unit: 'ms', series: perMode((r) => r.sync.partialMs) },
    { title: 'Rules written (full sync)', unit: 'iptables-restore -A lines', series: perMode((r) => r.sync.rules) },
    { title: 'Memory held', unit: 'MiB', series: perMode((r) => (r.memoryBytes === null ? null : r.memoryBytes / 2 ** 20)) },
    { title: 'First packet: rules evaluated (mean over positions)', unit: 'rules', series: perMode((r) => r.firstPacket.rulesEvaluated.mean) },
    { title: 'First packet: rules evaluated (worst position)', unit: 'rules', series: perMode((r) => r.firstPacket.rulesEvaluated.max) },
    {
      title: 'First packet: time per packet (mean over positions)',
      unit: 'ns',
      series: withKernel(
        [...perMode((r) => r.firstPacket.nsPerPacket), ...modes.map((m) => ({ ...line(`${m} kernel estimate (legacy)`, (r) => r.firstPacket.kernelEstimate.legacyNs, m, '2 3') }))],
        [kline('kernel measured, legacy (worst position)', COLORS['kernel legacy']!, (k) => k.firstPacketNs.legacyLast)],
      ),
    },
    { title: 'Established packet: rules evaluated', unit: 'rules', series: perMode((r) => r.established.rulesEvaluated.mean) },
    { title: 'Established packet: time per packet', unit: 'ns', series: [...perMode((r) => r.established.nsPerPacket), ...modes.map((m) => line(`${m} kernel estimate (legacy)`, (r) => r.established.kernelEstimate.legacyNs, m, '2 3'))] },
    { title: 'IPVS hash lookups per packet (first / established)', unit: 'lookups', series: modes.filter((m) => m === 'ipvs').flatMap((m) => [line('ipvs first', (r) => r.firstPacket.ipvsLookups.mean, m), line('ipvs established', (r) => r.established.ipvsLookups.mean, m, '6 3')]) },
  ];
}

/** A 1-2-2.5-5 x 10^k step so that four steps cover `top` (axis labels read as round numbers). */
function niceStep(top: number): number {
  const raw = top / 4;
  const e = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= raw) return m * e;
  return 10 * e;
}

const PW = 420;
const PH = 280;
const M = { l: 62, r: 14, t: 30, b: 112 };

function panelSvg(p: Panel, ox: number, oy: number, index: number): string {
  const pts = p.series.flatMap((s) => s.points);
  const w = PW - M.l - M.r;
  const h = PH - M.t - M.b;
  const out: string[] = [`<g class="panel" id="panel-${index}" transform="translate(${ox},${oy})">`];
  out.push(`<text x="${PW / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${M.l}" y="${M.t}" width="${w}" height="${h}" fill="#fff" stroke="#999"/>`);
  if (pts.length === 0) {
    out.push(`<text x="${M.l + w / 2}" y="${M.t + h / 2}" text-anchor="middle" font-size="12" fill="#777">no data</text></g>`);
    return out.join('');
  }
  const xs = pts.map((q) => q.x);
  let x0 = Math.log10(Math.min(...xs));
  let x1 = Math.log10(Math.max(...xs));
  x0 = Math.floor(x0);
  x1 = Math.max(Math.ceil(x1), x0 + 1);
  const ys = pts.map((q) => q.y);
  const ymin = Math.min(...ys);
  const ymax = Math.max(...ys);
  const logY = ymin > 0 && ymax / ymin > 20;
  let y0: number;
  let y1: number;
  if (logY) {
    y0 = Math.floor(Math.log10(ymin));
    y1 = Math.max(Math.ceil(Math.log10(ymax)), y0 + 1);
  } else {
    y0 = 0;
    y1 = niceStep(ymax > 0 ? ymax * 1.1 : 1) * 4;
  }
  const X = (x: number): number => M.l + ((Math.log10(x) - x0) / (x1 - x0)) * w;
  const Y = (y: number): number => M.t + h - (((logY ? Math.log10(y) : y) - y0) / (y1 - y0)) * h;
  for (let e = x0; e <= x1; e++) {
    const x = M.l + ((e - x0) / (x1 - x0)) * w;
    out.push(`<line x1="${x.toFixed(1)}" y1="${M.t}" x2="${x.toFixed(1)}" y2="${M.t + h}" stroke="#eee"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${M.t + h + 14}" text-anchor="middle" font-size="11">${fmt(10 ** e)}</text>`);
  }
  out.push(`<text x="${M.l + w / 2}" y="${M.t + h + 28}" text-anchor="middle" font-size="11" fill="#444">Services (log scale)</text>`);
  const yticks: number[] = [];
  if (logY) for (let e = y0; e <= y1; e++) yticks.push(10 ** e);
  else for (let k = 0; k <= 4; k++) yticks.push((y1 * k) / 4);
  for (const t of yticks) {
    const y = Y(t);
    out.push(`<line x1="${M.l}" y1="${y.toFixed(1)}" x2="${M.l + w}" y2="${y.toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${M.l - 4}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  out.push(`<text transform="translate(14,${M.t + h / 2}) rotate(-90)" text-anchor="middle" font-size="11" fill="#444">${esc(p.unit)}${logY ? ' (log)' : ''}</text>`);
  p.series.forEach((s, si) => {
    if (s.points.length === 0) return;
    const d = s.points.map((q, i) => `${i ? 'L' : 'M'}${X(q.x).toFixed(1)},${Y(q.y).toFixed(1)}`).join(' ');
    out.push(`<path class="series" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const q of s.points) out.push(`<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(`${s.name}: ${fmt(q.y)} ${p.unit} at ${q.x} Services`)}</title></circle>`);
    const ly = M.t + h + 42 + si * 13;
    out.push(`<line x1="${M.l}" y1="${ly - 4}" x2="${M.l + 22}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${M.l + 28}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

export function chartSvg(results: readonly BenchResult[], kernel: readonly KernelResult[] = [], subtitle = ''): string {
  const panels = panelsOf(results, kernel);
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const W = cols * PW;
  const H = rows * PH + 50;
  const body = panels.map((p, i) => panelSvg(p, (i % cols) * PW, 50 + Math.floor(i / cols) * PH, i)).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="#fafafa"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">kubewire bench: kube-proxy iptables vs ipvs as Services grow</text>
<text x="${W / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">${esc(subtitle)}</text>
${body}
</svg>
`;
}
