/**
 * `kubewire bench`: iptables vs ipvs as Services grow (src/bench/ does the work). Prints a
 * table on stdout (or --json), a progress bar on stderr when it is a terminal, optionally an
 * SVG chart, and with --kernel the same payloads measured on the real kernel beside the model.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Command } from 'commander';
import { chartSvg } from '../bench/chart.js';
import { kernelBench, kernelCleanup, kernelMissing, type KernelResult } from '../bench/kernel.js';
import { BenchNode, type Mode } from '../bench/node.js';
import { benchAll, BenchInputError, checkOptions, type BenchOptions, type BenchResult } from '../bench/run.js';
import { syntheticCluster } from '../bench/synth.js';
import { formatTable } from '../bench/table.js';
import { InputError } from './errors.js';

export const DEFAULT_SERVICES = [10, 100, 1000, 5000, 10000, 20000, 50000];
/** --kernel measures sizes up to this many Services (a 50k nft restore alone takes ~30 s). */
export const KERNEL_MAX_SERVICES = 20000;

export interface BenchCliOptions {
  services?: string;
  endpoints?: string;
  modes?: string;
  ports?: string;
  positions?: string;
  nodes?: string;
  json?: boolean;
  chart?: string;
  kernel?: boolean;
  clock?: string;
}

const int = (flag: string, v: string): number => {
  if (!/^\d+$/.test(v.trim())) throw new InputError(`kubewire bench: ${flag} ${JSON.stringify(v)}: not a whole number`);
  return Number(v.trim());
};

export function parseBenchOptions(o: BenchCliOptions): BenchOptions {
  const services = o.services === undefined ? DEFAULT_SERVICES : o.services.split(',').filter((s) => s.trim() !== '').map((s) => int('--services', s));
  const modes = (o.modes ?? 'iptables,ipvs').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const m of modes) if (m !== 'iptables' && m !== 'ipvs') throw new InputError(`kubewire bench: --modes: unknown mode "${m}" (iptables, ipvs)`);
  const opts: BenchOptions = {
    services: [...new Set(services)],
    endpointsPerService: o.endpoints === undefined ? 2 : int('--endpoints', o.endpoints),
    portsPerService: o.ports === undefined ? 1 : int('--ports', o.ports),
    modes: [...new Set(modes)] as Mode[],
    ...(o.positions !== undefined ? { maxPositions: Math.max(2, int('--positions', o.positions)) } : {}),
    ...(o.nodes !== undefined ? { nodes: int('--nodes', o.nodes) } : {}),
  };
  try {
    checkOptions(opts);
  } catch (e) {
    if (e instanceof BenchInputError) throw new InputError(e.message);
    throw e;
  }
  return opts;
}

/**
 * A full collection whose freed memory shows in process.memoryUsage(): global.gc (or the same
 * function exposed at run time), a 40 ms pause, and again. V8 frees ArrayBuffer backing stores
 * (packet slabs) on a background thread after a collection, so `external` read at once still
 * counts the previous size's packets, and the next size's figure came out negative.
 */
function findGc(): (() => void) | undefined {
  let g = (globalThis as { gc?: () => void }).gc;
  if (!g) {
    try {
      setFlagsFromString('--expose-gc');
      g = runInNewContext('gc') as () => void;
    } catch {
      return undefined;
    }
  }
  const gc = g;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  return () => {
    gc();
    Atomics.wait(nap, 0, 0, 40);
    gc();
  };
}

function progressBar(isTTY: boolean, write: (s: string) => void): { update(label: string, done: number, total: number): void; end(): void } {
  let last = '';
  return {
    update(label, done, total) {
      if (!isTTY) return;
      const f = total ? Math.min(1, done / total) : 1;
      const width = 30;
      const fill = Math.round(f * width);
      const s = `\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(f * 100).toFixed(0).padStart(3)}% ${label}`.padEnd(80);
      if (s !== last) write(s);
      last = s;
    },
    end() {
      if (isTTY && last) write(`\r${' '.repeat(80)}\r`);
    },
  };
}

export interface BenchOutput {
  results: BenchResult[];
  kernel: KernelResult[];
}

/** Runs the bench and writes what was asked; answers the exit code. */
export function benchCommand(o: BenchCliOptions, out: (s: string) => void, err: { isTTY: boolean; write(s: string): void }): number {
  const opts = parseBenchOptions(o);
  if (o.kernel) {
    const why = kernelMissing(typeof process.getuid === 'function' && process.getuid() === 0);
    if (why) throw new InputError(why);
  }
  const clock = o.clock ?? 'cpu';
  if (clock !== 'cpu' && clock !== 'wall') throw new InputError(`kubewire bench: --clock: "${clock}" is not cpu or wall`);
  const wall = (): number => Number(process.hrtime.bigint());
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1000;
  };
  const now = clock === 'cpu' ? cpu : wall;
  const bar = progressBar(err.isTTY, (s) => err.write(s));
  const gc = findGc();
  const results = benchAll(opts, {
    now,
    clock,
    memory: () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    },
    ...(gc ? { gc } : {}),
    progress: (label, done, total) => bar.update(label, done, total),
  });
  const kernel: KernelResult[] = [];
  if (o.kernel) {
    const prefix = `kwb-${process.pid}-`;
    const onSignal = (): void => {
      kernelCleanup();
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const sizes = [...opts.services].sort((a, b) => a - b);
      sizes.forEach((n, idx) => {
        if (n > KERNEL_MAX_SERVICES) {
          kernel.push({ services: n, lines: 0, restoreMs: { legacy: null, nft: null }, restoreCpuMs: { legacy: null, nft: null }, firstPacketNs: { legacyFirst: null, legacyLast: null }, nsPerRule: { legacy: null }, ipvs: '-', notes: [`not measured: --kernel stops at ${KERNEL_MAX_SERVICES} Services`] });
          return;
        }
        // The payload kube-proxy's full sync wrote in the model, regenerated the same way.
        const node = new BenchNode('iptables', wall);
        const c = syntheticCluster({ services: n, endpointsPerService: opts.endpointsPerService, portsPerService: opts.portsPerService });
        const payload = node.sync(c.services, c.slices).result.restoreText;
        kernel.push(kernelBench({ payload, services: n, endpointsPerService: opts.endpointsPerService, portsPerService: opts.portsPerService, now: wall, prefix, log: (l) => bar.update(l, idx, sizes.length) }));
      });
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      kernelCleanup();
    }
  }
  bar.end();
  if (o.json) {
    const rows = results.map((r) => {
      const k = r.mode === 'iptables' ? kernel.find((x) => x.services === r.services) : undefined;
      return k ? { ...r, kernel: k } : r;
    });
    out(JSON.stringify(rows, null, 2) + '\n');
  } else {
    out(formatTable(results, kernel));
  }
  if (o.chart) {
    mkdirSync(dirname(o.chart), { recursive: true });
    const sub = `${opts.endpointsPerService} endpoints and ${opts.portsPerService} port(s) per Service; model times = ${clock === 'cpu' ? 'process CPU time' : 'wall time'}; dashed = kernel estimate or --kernel measurement`;
    writeFileSync(o.chart, chartSvg(results, kernel, sub));
  }
  return 0;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('iptables vs ipvs lookup cost and programming time as Services grow')
    .option('--services <list>', `comma-separated Service counts (default ${DEFAULT_SERVICES.join(',')})`)
    .option('--endpoints <n>', 'endpoints per Service (default 2)')
    .option('--modes <list>', 'iptables,ipvs (default both)')
    .option('--ports <n>', 'ports per Service (default 1)')
    .option('--positions <n>', 'KUBE-SERVICES positions sampled for first packets (default 10000; all when fewer)')
    .option('--nodes <n>', 'also measure the memory of N nodes holding the same cluster (default 1)')
    .option('--clock <cpu|wall>', "model times as this process's CPU time (default, robust to other load) or elapsed wall time")
    .option('--json', 'print a JSON array, one object per mode and size')
    .option('--chart <file>', 'write an SVG chart, one panel per figure')
    .option('--kernel', '(root) also load the payloads into real network namespaces and measure them')
    .action((opts: BenchCliOptions) => {
      process.exitCode = benchCommand(opts, (s) => void process.stdout.write(s), { isTTY: process.stderr.isTTY === true, write: (s) => void process.stderr.write(s) });
    });
}
