// `kubewire kernel up` and `down`: build a model world in real namespaces and remove it again.
// Everything made is recorded in /run/kubewire/<prefix>.json as it is made, so `down` (or a
// failed `up`) removes exactly that and nothing else.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '../scenario/runtime.js';
import { must, netnsList, quote, run, sleepSync } from './host.js';
import { planKernel, type KernelPlan, type PlanOptions } from './plan.js';
import type { HostSpec } from './app-host.js';
import { listenersOf, serverNamespaces, type Listener } from './workloads.js';

export const STATE_DIR = '/run/kubewire';

/** How long `up` waits for the next app host to become ready before it gives up. */
const APP_STALL_MS = 60_000;

export interface KernelState {
  readonly prefix: string;
  readonly scenario: string;
  namespaces: string[];
  pids: number[];
}

export interface UpReport {
  readonly plan: KernelPlan;
  /** Replayed commands that failed or could not run here, with the reason. */
  readonly problems: { readonly command: string; readonly agent: string; readonly reason: string }[];
  readonly listeners: readonly Listener[];
  readonly commandsRun: number;
}

export class KernelError extends Error {
  override readonly name = 'KernelError';
}

export function statePath(prefix: string, dir = STATE_DIR): string {
  return join(dir, `${prefix}.json`);
}

export function readState(prefix: string, dir = STATE_DIR): KernelState | null {
  const p = statePath(prefix, dir);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as KernelState) : null;
}

function writeState(s: KernelState, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(statePath(s.prefix, dir), `${JSON.stringify(s, null, 2)}\n`);
}

export interface UpOptions extends PlanOptions {
  readonly scenarioName?: string;
  /** The scenario file and --set overrides, for the app hosts (default: the built-in one). */
  readonly scenarioPath?: string;
  readonly sets?: readonly string[];
  readonly stateDir?: string;
  /** Start the apps (default true). */
  readonly workloads?: boolean;
  /** Namespaces (`machine/netns`) whose apps are not started. */
  readonly skipApps?: RegExp;
}

/** Builds the runtime's world in real namespaces. On any failure to build, removes what it made. */
export function kernelUp(rt: Runtime, opts: UpOptions = {}): UpReport {
  const dir = opts.stateDir ?? STATE_DIR;
  const plan = planKernel(rt.world, opts);
  if (readState(plan.prefix, dir)) throw new KernelError(`prefix "${plan.prefix}" is already up (${statePath(plan.prefix, dir)}); run kubewire kernel down --prefix ${plan.prefix} first`);
  const existing = new Set(netnsList());
  const clash = plan.namespaces.filter((n) => existing.has(n));
  if (clash.length) throw new KernelError(`network namespace${clash.length > 1 ? 's' : ''} ${clash.join(', ')} already exist${clash.length > 1 ? '' : 's'}; choose another --prefix`);
  const state: KernelState = { prefix: plan.prefix, scenario: opts.scenarioName ?? rt.state.cluster.metadata.name, namespaces: [], pids: [] };
  writeState(state, dir);
  const problems: UpReport['problems'] = [];
  let commandsRun = 0;
  try {
    for (const c of plan.commands) {
      if (c.unavailable) {
        problems.push({ command: quote(c.action?.argv ?? c.argv), agent: c.action?.agent ?? '', reason: c.unavailable });
        continue;
      }
      if (c.phase === 'netns' && c.argv[2] === 'add') {
        must(c.argv);
        state.namespaces.push(c.ns);
        writeState(state, dir);
        continue;
      }
      const r = run(c.argv, c.input);
      commandsRun++;
      if (r.status === 0) continue;
      // Hardware and namespaces are ours: failing there means nothing after can be right.
      if (c.phase !== 'action') throw new KernelError(`${quote(c.argv)}: ${r.stderr}`);
      problems.push({ command: quote(c.action!.argv), agent: c.action!.agent, reason: r.stderr || `exit ${r.status}` });
    }
    const listeners = opts.workloads === false ? [] : listenersOf(rt, plan.prefix);
    if (opts.workloads !== false) startServers(rt, plan.prefix, opts, state, dir);
    return { plan, problems, listeners, commandsRun };
  } catch (e) {
    kernelDown(plan.prefix, dir);
    throw e;
  }
}

/** The app host script and how to run it (tsx for the sources, plain node once built). */
export function appHostCommand(): { argv: string[]; cwd: string } {
  const ts = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(ts ? './app-host.ts' : './app-host.js', import.meta.url));
  return { argv: [process.execPath, ...(ts ? ['--import', 'tsx'] : []), file], cwd: resolve(dirname(file), '..', '..') };
}

/** One app host per namespace that serves something, started detached and recorded. */
function startServers(rt: Runtime, prefix: string, opts: UpOptions, state: KernelState, dir: string): void {
  const host = appHostCommand();
  const ready: string[] = [];
  for (const { machine, netns, real } of serverNamespaces(rt, prefix)) {
    if (opts.skipApps?.test(`${machine}/${netns}`)) continue;
    const readyFile = join(dir, `${prefix}.${real}.ready`);
    rmSync(readyFile, { force: true });
    const spec: HostSpec = { ...(opts.scenarioPath !== undefined ? { scenario: resolve(opts.scenarioPath) } : {}), sets: opts.sets ?? [], machine, netns, readyFile };
    // Its output goes to a log beside the state file (what failed to bind, a crash).
    const log = openSync(join(dir, `${prefix}.${real}.log`), 'w');
    const p = spawn('ip', ['netns', 'exec', real, ...host.argv, JSON.stringify(spec)], { detached: true, stdio: ['ignore', log, log], cwd: host.cwd });
    closeSync(log);
    p.unref();
    if (p.pid === undefined) throw new KernelError(`could not start the apps of ${machine}/${netns}`);
    state.pids.push(p.pid);
    writeState(state, dir);
    ready.push(readyFile);
  }
  // Many app hosts start at once (the seed cluster has 19) and share the CPUs: wait while
  // they make progress, and give up only when none became ready for a whole minute.
  let readyCount = 0;
  let lastProgress = 0;
  for (let waited = 0; waited - lastProgress < APP_STALL_MS; waited += 50) {
    const n = ready.filter((f) => existsSync(f)).length;
    if (n === ready.length) {
      for (const f of ready) rmSync(f, { force: true });
      return;
    }
    if (n > readyCount) {
      readyCount = n;
      lastProgress = waited;
    }
    sleepSync(50);
  }
  throw new KernelError(`the apps did not start in time (none ready for ${APP_STALL_MS / 1000} s) in: ${ready.filter((f) => !existsSync(f)).map((f) => f.replace(/^.*\//, '').replace(/\.ready$/, '.log')).join(', ')}`);
}

export interface DownReport {
  readonly namespaces: readonly string[];
  readonly pids: readonly number[];
  readonly found: boolean;
}

/** Kills the recorded processes and deletes the recorded namespaces; nothing else. */
export function kernelDown(prefix: string, dir = STATE_DIR): DownReport {
  const s = readState(prefix, dir);
  if (!s) return { namespaces: [], pids: [], found: false };
  for (const pid of s.pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  const live = new Set(netnsList());
  // Pods first, the switch last: deleting a namespace destroys its veths and their peers.
  for (const ns of [...s.namespaces].reverse()) if (live.has(ns)) run(['ip', 'netns', 'delete', ns]);
  rmSync(statePath(prefix, dir), { force: true });
  for (const ns of s.namespaces) rmSync(join(dir, `${prefix}.${ns}.log`), { force: true });
  return { namespaces: s.namespaces, pids: s.pids, found: true };
}
