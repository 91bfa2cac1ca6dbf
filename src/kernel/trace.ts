// `kubewire kernel trace`: one real exchange between namespaces built by `kernel up`, captured
// with tcpdump on every interface (each direction separately, so the merged pcapng keeps
// epb_flags like the model's capture), merged into one pcapng named `node/netns/dev`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Direction } from '../pcap/capture.js';
import { readCapture } from '../pcap/reader.js';
import type { Place } from '../scenario/endpoints.js';
import type { Proto, Target } from '../scenario/trace/exchange.js';
import { formatIpv4 } from '../wire/ipv4-address.js';
import type { PlannedDevice } from './plan.js';
import { realNs } from './plan.js';
import type { HostSpec } from './app-host.js';
import { appHostCommand } from './up.js';

export interface KernelFrame {
  readonly label: string;
  readonly direction: Direction;
  /** Kernel timestamp, ns since the epoch. */
  readonly timeNs: bigint;
  readonly bytes: Uint8Array;
}

export interface KernelExchange {
  readonly delivered: boolean;
  readonly reason: string | null;
  readonly response: string | null;
  /** Every frame captured, in time order. */
  readonly frames: readonly KernelFrame[];
}

export interface KernelTraceOptions {
  readonly prefix: string;
  readonly devices: readonly PlannedDevice[];
  /** Seconds the client waits for an answer (default 3). */
  readonly timeout?: number;
  /** Milliseconds to keep capturing after the client is done (late FIN/ACK, ICMP). */
  readonly settle?: number;
  /** ICMP: data bytes after the ICMP header (ping -s), default 56. */
  readonly pingSize?: number;
  /** Called once every tap listens, just before the client starts. */
  readonly beforeSend?: () => void;
  /** The sender's /etc/resolv.conf as the model has it (scenario/resolv.ts), for a name target. */
  readonly resolvConf?: string;
}

interface Tap {
  readonly dev: PlannedDevice;
  readonly direction: Direction;
  readonly file: string;
  readonly proc: ChildProcess;
}

function startTap(dir: string, dev: PlannedDevice, direction: Direction, n: number): Promise<Tap> {
  const file = join(dir, `${n}.pcap`);
  const proc = spawn('ip', ['netns', 'exec', dev.ns, 'tcpdump', '-Z', 'root', '-i', dev.dev, '-Q', direction, '-nn', '-U', '--immediate-mode', '--time-stamp-precision', 'nano', '-s', '262144', '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tcpdump on ${dev.label} did not start: ${err}`)), 60_000);
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve({ dev, direction, file, proc });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump on ${dev.label} exited ${code}: ${err.trim()}`));
    });
  });
}

async function stopTap(t: Tap): Promise<KernelFrame[]> {
  if (t.proc.exitCode === null) {
    await new Promise<void>((resolve) => {
      t.proc.removeAllListeners('exit');
      t.proc.on('exit', () => resolve());
      t.proc.kill('SIGINT');
    });
  }
  if (!existsSync(t.file)) return [];
  const cap = readCapture(new Uint8Array(readFileSync(t.file)));
  return cap.records.map((r) => ({ label: t.dev.label, direction: t.direction, timeNs: r.timestampNs, bytes: r.data.slice() }));
}

function runClient(ns: string, argv: string[], timeoutMs: number, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The same exchange runExchange sends in the model, from `from`'s real namespace. */
export async function kernelExchange(from: Place, to: Target, proto: Proto, o: KernelTraceOptions): Promise<KernelExchange> {
  const ns = realNs(o.prefix, from.netns.node, from.netns.netns);
  const dir = mkdtempSync(join(tmpdir(), `kubewire-${o.prefix}-`));
  const taps: Tap[] = [];
  try {
    const started = await Promise.allSettled(o.devices.flatMap((d, i) => (['in', 'out'] as const).map((dirn, j) => startTap(dir, d, dirn, 2 * i + j))));
    for (const s of started) if (s.status === 'fulfilled') taps.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    o.beforeSend?.();
    const timeout = o.timeout ?? 3;
    const dst = formatIpv4(to.ip);
    let result: { delivered: boolean; reason: string | null; response: string | null };
    if (proto === 'icmp') {
      const r = await runClient(ns, ['ping', '-n', '-c', '1', '-s', String(o.pingSize ?? 56), '-W', String(timeout), dst], timeout * 1000 + 2000);
      result = { delivered: r.code === 0, reason: r.code === 0 ? null : lastLine(r.stdout) || 'no reply', response: null };
    } else {
      // kubewire's own client (curl for TCP, one datagram for UDP), as runExchange sends it.
      const url = to.url;
      const spec: HostSpec = {
        sets: [],
        machine: from.netns.node,
        netns: from.netns.netns,
        client: { proto, ip: dst, port: to.port ?? 0, fromLabel: from.label, toLabel: to.label, ...(url ? { url } : {}), ...(to.name !== undefined ? { name: to.name, resolvConf: o.resolvConf ?? '' } : {}), timeout },
      };
      const host = appHostCommand();
      const r = await runClient(ns, [...host.argv, JSON.stringify(spec)], timeout * 1000 + 15000, host.cwd);
      try {
        result = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as typeof result;
      } catch {
        result = { delivered: false, reason: `client failed: ${r.stderr.trim() || `exit ${r.code}`}`, response: null };
      }
    }
    await sleep(o.settle ?? 300);
    const frames = (await Promise.all(taps.splice(0).map(stopTap))).flat();
    frames.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
    return { ...result, frames };
  } finally {
    for (const t of taps) if (t.proc.exitCode === null) t.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  return lines.find((l) => /Unreachable|exceeded|frag needed|Destination/i.test(l)) ?? '';
}
