// Running host commands for the real-kernel backend. Synchronous: the replay is a strict
// sequence, as the agents' calls were.
import { execFileSync } from 'node:child_process';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: number;
}

export function run(argv: readonly string[], input?: string): RunResult {
  const [cmd, ...args] = argv;
  try {
    const stdout = execFileSync(cmd!, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000, maxBuffer: 64 << 20, ...(input !== undefined ? { input } : {}) });
    return { stdout, stderr: '', status: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; status?: number | null };
    return { stdout: err.stdout ?? '', stderr: (err.stderr ?? String(e)).trim(), status: err.status ?? 1 };
  }
}

export function must(argv: readonly string[], input?: string): string {
  const r = run(argv, input);
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || `exit ${r.status}`}`);
  return r.stdout;
}

/** Blocks the thread (the CLI is synchronous) without spinning. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function netnsList(): string[] {
  return run(['ip', 'netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function quote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
