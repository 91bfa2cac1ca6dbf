// Real network namespaces for differential tests. Every namespace a Lab makes carries the
// lab's unique prefix and is deleted by `cleanup()`, which tests call in afterAll so that
// nothing is left behind even when a test fails. Packets only ever travel between the
// namespaces a lab created.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ExecResult {
  stdout: string;
  stderr: string;
  status: number;
}

function run(cmd: string, args: string[], input?: string): ExecResult {
  try {
    const stdout = execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(input !== undefined ? { input } : {}),
      timeout: 30_000,
    });
    return { stdout, stderr: '', status: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; status?: number };
    return { stdout: err.stdout ?? '', stderr: err.stderr ?? String(e), status: err.status ?? 1 };
  }
}

export class Lab {
  readonly prefix: string;
  readonly dir: string;
  private readonly made: string[] = [];
  private readonly procs: ChildProcess[] = [];

  /** `tag` names the test file, e.g. `linux-diff`; the prefix adds the pid for uniqueness. */
  constructor(tag: string) {
    this.prefix = `kwt-${tag}-${process.pid}-`;
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}`));
  }

  /** The full namespace name for a short one. */
  ns(short: string): string {
    return this.prefix + short;
  }

  addNetns(short: string): string {
    const name = this.ns(short);
    this.must('ip', ['netns', 'add', name]);
    this.made.push(name);
    this.exec(short, ['ip', 'link', 'set', 'lo', 'up']);
    return name;
  }

  /** Runs a command inside a namespace of this lab; throws with its stderr when it fails. */
  exec(short: string, argv: string[], input?: string): string {
    return this.must('ip', ['netns', 'exec', this.ns(short), ...argv], input);
  }

  /** Like exec, but answers the result instead of throwing. */
  tryExec(short: string, argv: string[], input?: string): ExecResult {
    return run('ip', ['netns', 'exec', this.ns(short), ...argv], input);
  }

  /** `ip -n NS ...` shorthand; iproute2 commands are the usual case. */
  ip(short: string, ...args: string[]): string {
    return this.must('ip', ['-n', this.ns(short), ...args]);
  }

  must(cmd: string, args: string[], input?: string): string {
    const r = run(cmd, args, input);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts a long-running process inside a namespace (a server, tcpdump); killed by cleanup. */
  spawn(short: string, argv: string[]): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', this.ns(short), ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs.push(p);
    return p;
  }

  /**
   * Captures on a device with tcpdump until the answered stop function is awaited; the stop
   * function answers the classic-pcap bytes. `-U` flushes per packet; we wait until tcpdump
   * reports it is listening before answering, so no early frame is missed.
   */
  async capture(short: string, dev: string): Promise<() => Promise<Uint8Array>> {
    const file = join(this.dir, `${short}-${dev.replace(/[^\w.-]/g, '_')}-${this.procs.length}.pcap`);
    const p = this.spawn(short, ['tcpdump', '-Z', 'root', '-i', dev, '-nn', '-U', '--immediate-mode', '-B', '32768', '-s', '262144', '-w', file]);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`tcpdump on ${short}/${dev} did not start: ${err}`)), 10_000);
      p.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`tcpdump on ${short}/${dev} exited ${code}: ${err}`));
      });
    });
    return async () => {
      await new Promise<void>((resolve) => {
        p.removeAllListeners('exit');
        p.on('exit', () => resolve());
        p.kill('SIGINT');
      });
      return existsSync(file) ? new Uint8Array(readFileSync(file)) : new Uint8Array();
    };
  }

  /** Deletes every namespace this lab made and kills its processes. Safe to call twice. */
  cleanup(): void {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
    this.procs.length = 0;
    for (const name of this.made.splice(0)) run('ip', ['netns', 'delete', name]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Namespaces with this lab's prefix that still exist (for asserting cleanup). */
  leftovers(): string[] {
    const out = run('ip', ['netns', 'list']).stdout;
    return out
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(this.prefix));
  }
}

/** Sleep helper for letting the kernel settle (ARP, tcpdump flush). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
