/**
 * `kubewire bench --kernel`: the rulesets kube-proxy generated in the model, loaded into real
 * network namespaces this process creates, measured as reference/kernel-costs.md §1-2 did:
 *  - restore: a fresh namespace per backend (iptables-legacy, iptables-nft), the jump rules
 *    kube-proxy ensures, then the full-sync payload through `iptables-<b>-restore --noflush
 *    --counters`, wall time around the child process;
 *  - first packet (legacy): namespace pair client <-veth-> node, receive work steered to CPU1
 *    with RPS, the target Service's endpoints on the node's lo, a filter INPUT DROP for
 *    dport 8080 that only DNATed packets reach; a C sender (AF_PACKET, sendmmsg x64, a new source
 *    port per packet) pinned to CPU0 for a fixed time, pps = dropped / time, ns = 1e9 / pps, with
 *    the Service FIRST and LAST in KUBE-SERVICES; ns per rule = (last - first) / rules between;
 *  - IPVS: reported unavailable unless /proc/net/ip_vs exists.
 * Packets never leave the two namespaces; both are deleted afterwards, also on error.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jumpRulesRestoreText } from '../k8s/kube-proxy/iptables.js';
import { formatIpv4 } from '../wire/ipv4-address.js';
import { SENDER_C } from './sender.c.js';
import { clusterIP, endpointIP, servicePort, targetPort } from './synth.js';

export interface KernelResult {
  services: number;
  lines: number;
  /** wall time around the child process */
  restoreMs: { legacy: number | null; nft: number | null };
  /** the child's user + sys time (/proc/self/stat cutime + cstime, 10 ms ticks) */
  restoreCpuMs: { legacy: number | null; nft: number | null };
  firstPacketNs: { legacyFirst: number | null; legacyLast: number | null };
  /** (ns last - ns first) / KUBE-SERVICES rules between them */
  nsPerRule: { legacy: number | null };
  ipvs: string;
  notes: string[];
}

export interface KernelOptions {
  /** restore payload of the full sync (what the model's iptables-restore got) */
  payload: string;
  services: number;
  endpointsPerService: number;
  portsPerService: number;
  now(): number;
  /** seconds per packet measurement (default 2) */
  seconds?: number;
  /**
   * iptables-nft-restore --noflush is measured up to this many Services (default 5000): on
   * these machines it took 287 s at 10,000 and 671 s at 20,000 (legacy: 1.4 s and 4.9 s).
   */
  nftMaxServices?: number;
  /** unique prefix for the namespaces (default kwb-<pid>-) */
  prefix: string;
  log?(line: string): void;
}

const have = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;

/** Why --kernel cannot run here, or null. */
export function kernelMissing(isRoot: boolean): string | null {
  const lacks: string[] = [];
  if (!isRoot) lacks.push('root');
  for (const t of ['ip', 'iptables-restore']) if (!have(t)) lacks.push(t);
  if (lacks.length) return `kubewire bench --kernel needs ${lacks.join(', ')}`;
  if (!have('iptables-legacy-restore') && !have('iptables-nft-restore')) return 'kubewire bench --kernel needs iptables-legacy-restore or iptables-nft-restore';
  return null;
}

export function ipvsAvailability(): string {
  return existsSync('/proc/net/ip_vs') ? 'present (not measured)' : 'unavailable (no ip_vs module in this kernel)';
}

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { input: input ?? '', encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim().split('\n').slice(0, 3).join(' / ')}`);
  return r.stdout;
}

class Namespaces {
  readonly made: string[] = [];
  add(name: string): string {
    run('ip', ['netns', 'add', name]);
    this.made.push(name);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }
  cleanup(): void {
    for (const n of this.made.splice(0)) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  }
}

let senderPath: string | null | undefined;
let senderDir: string | null = null;
function sender(): string | null {
  if (senderPath !== undefined) return senderPath;
  senderPath = null;
  if (!have('cc')) return null;
  senderDir = mkdtempSync(join(tmpdir(), 'kwb-sender-'));
  writeFileSync(join(senderDir, 's.c'), SENDER_C);
  const r = spawnSync('cc', ['-O2', '-o', join(senderDir, 's'), join(senderDir, 's.c')], { encoding: 'utf8' });
  if (r.status === 0) senderPath = join(senderDir, 's');
  return senderPath;
}

export function kernelCleanup(): void {
  if (senderDir) rmSync(senderDir, { recursive: true, force: true });
  senderDir = null;
  senderPath = undefined;
}

/** CPU time of waited-for children, ms (fields cutime and cstime of /proc/self/stat). */
function childrenCpuMs(): number {
  const st = readFileSync('/proc/self/stat', 'utf8');
  const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
  // after "pid (comm) ", field 3 (state) is index 0: cutime is field 16, cstime 17
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

function restoreTimed(o: KernelOptions, backend: 'legacy' | 'nft', ns: string): { wall: number; cpu: number } {
  const tool = `iptables-${backend}-restore`;
  run('ip', ['netns', 'exec', ns, tool, '--noflush'], jumpRulesRestoreText());
  const c0 = childrenCpuMs();
  const t0 = o.now();
  run('ip', ['netns', 'exec', ns, tool, '--noflush', '--counters'], o.payload);
  return { wall: (o.now() - t0) / 1e6, cpu: childrenCpuMs() - c0 };
}

function dropped(ns: string): number {
  const out = run('ip', ['netns', 'exec', ns, 'iptables-legacy', '-w', '-t', 'filter', '-L', 'INPUT', '-v', '-n', '-x']);
  for (const l of out.split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f[2] === 'DROP' && l.includes('dpt:')) return Number(f[0]);
  }
  return 0;
}

export function kernelBench(o: KernelOptions): KernelResult {
  const res: KernelResult = {
    services: o.services,
    lines: o.payload.split('\n').length - 1,
    restoreMs: { legacy: null, nft: null },
    restoreCpuMs: { legacy: null, nft: null },
    firstPacketNs: { legacyFirst: null, legacyLast: null },
    nsPerRule: { legacy: null },
    ipvs: ipvsAvailability(),
    notes: [],
  };
  const nss = new Namespaces();
  try {
    for (const b of ['legacy', 'nft'] as const) {
      if (!have(`iptables-${b}-restore`)) {
        res.notes.push(`iptables-${b}-restore not installed`);
        continue;
      }
      if (b === 'nft' && o.services > (o.nftMaxServices ?? 5000)) {
        res.notes.push(`iptables-nft-restore not measured above ${o.nftMaxServices ?? 5000} Services (--noflush took 287 s at 10,000 here)`);
        continue;
      }
      const ns = nss.add(`${o.prefix}r${b}`);
      o.log?.(`kernel ${o.services}: iptables-${b}-restore`);
      const t = restoreTimed(o, b, ns);
      res.restoreMs[b] = t.wall;
      res.restoreCpuMs[b] = t.cpu;
      nss.cleanup();
    }
    const exe = sender();
    if (!have('iptables-legacy-restore') || !have('iptables-legacy')) res.notes.push('first packet not measured: needs iptables-legacy');
    else if (!exe) res.notes.push('first packet not measured: needs cc to build the sender');
    else {
      const seconds = o.seconds ?? 2;
      const node = nss.add(`${o.prefix}s`);
      const client = nss.add(`${o.prefix}c`);
      run('ip', ['-n', client, 'link', 'add', 'kc0', 'type', 'veth', 'peer', 'name', 'ks0', 'netns', node]);
      run('ip', ['-n', client, 'addr', 'add', '10.32.0.2/24', 'dev', 'kc0']);
      run('ip', ['-n', client, 'link', 'set', 'kc0', 'up']);
      run('ip', ['-n', node, 'addr', 'add', '10.32.0.1/24', 'dev', 'ks0']);
      run('ip', ['-n', node, 'link', 'set', 'ks0', 'up']);
      const E = o.endpointsPerService;
      for (const i of [0, o.services - 1]) for (let k = 0; k < E; k++) spawnSync('ip', ['-n', node, 'addr', 'add', `${formatIpv4(endpointIP(i, k, E))}/32`, 'dev', 'lo'], { stdio: 'ignore' });
      const rps = spawnSync('ip', ['netns', 'exec', node, 'sh', '-c', 'echo 2 > /sys/class/net/ks0/queues/rx-0/rps_cpus'], { stdio: 'ignore' });
      if (rps.status !== 0) res.notes.push('RPS could not be set: receive work shares the sender CPU');
      restoreTimed(o, 'legacy', node);
      run('ip', ['netns', 'exec', node, 'iptables-legacy', '-w', '-A', 'INPUT', '-p', 'tcp', '-m', 'tcp', '--dport', String(targetPort(0)), '-j', 'DROP']);
      const macOf = (ns: string, dev: string): string => run('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${dev}/address`]).trim();
      const dstMac = macOf(node, 'ks0');
      const srcMac = macOf(client, 'kc0');
      const pin = have('taskset') ? ['taskset', '-c', '0'] : [];
      let port = 1024;
      const measure = (i: number): number | null => {
        const before = dropped(node);
        const out = run('ip', ['netns', 'exec', client, ...pin, exe, 'kc0', dstMac, srcMac, '10.32.0.2', formatIpv4(clusterIP(i)), String(servicePort(0)), String(seconds), String(port)]);
        port += 200_000;
        const [sent, secs] = out.trim().split(/\s+/).map(Number) as [number, number];
        const got = dropped(node) - before;
        if (got <= 0) {
          res.notes.push(`Service ${i}: no packet reached the DROP rule (sent ${sent}): not DNATed?`);
          return null;
        }
        if (got < sent * 0.9) res.notes.push(`Service ${i}: ${sent - got} of ${sent} packets not counted (receiver backlog drops)`);
        return (secs * 1e9) / got;
      };
      o.log?.(`kernel ${o.services}: first packets, Service first`);
      res.firstPacketNs.legacyFirst = measure(0);
      o.log?.(`kernel ${o.services}: first packets, Service last`);
      res.firstPacketNs.legacyLast = measure(o.services - 1);
      const a = res.firstPacketNs.legacyFirst;
      const b = res.firstPacketNs.legacyLast;
      const between = (o.services - 1) * o.portsPerService;
      if (a !== null && b !== null && between > 0) res.nsPerRule.legacy = (b - a) / between;
    }
  } finally {
    nss.cleanup();
  }
  return res;
}
