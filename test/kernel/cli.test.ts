// `kubewire kernel up|trace|down` as a user runs them: a cluster in real namespaces where a
// request to a Service's ClusterIP reaches a backend, a trace into one pcapng named like the
// model's, and `down` leaving `ip netns list` as it was.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { netnsList } from '../../src/kernel/host.js';
import { kernelDown, readState } from '../../src/kernel/up.js';
import { readCapture } from '../../src/pcap/reader.js';
import { defaultScenarioPath } from '../../src/scenario/default.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { startRuntime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange } from '../../src/scenario/trace/exchange.js';
import { missing } from '../helpers/tools.js';

const why = missing({ root: true, tools: ['ip', 'bridge', 'iptables-restore', 'tcpdump', 'python3'] });

function kubewire(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** A curl-like HTTP/1.1 GET from inside `ns` (python3, as .ci/run installs it): the whole answer. */
function httpGet(ns: string, ip: string, port: number, host: string): { stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'python3', '-c',
    `import socket;s=socket.create_connection(("${ip}",${port}),timeout=5);s.sendall(b"GET / HTTP/1.1\\r\\nHost: ${host}\\r\\nConnection: close\\r\\n\\r\\n");d=b""\nwhile True:\n  b=s.recv(65536)\n  if not b: break\n  d+=b\nprint(d.decode())`], { encoding: 'utf8', timeout: 20_000 });
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Whether a process is still there (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** `ip -o link` lines of links with a peer in another namespace (veths), in `ns` or, without it, here. */
function peerLinks(ns?: string): string[] {
  const r = spawnSync('ip', [...(ns ? ['-n', ns] : []), '-o', 'link'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => / link-netns(id)? /.test(l));
}

describe.skipIf(why !== null)('kubewire kernel', () => {
  const prefix = `kwt-cli-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  // Other tests make and remove their own namespaces meanwhile: compare this prefix's.
  const mine = (): string[] => netnsList().filter((n) => n.startsWith(prefix)).sort();
  afterAll(() => {
    kernelDown(prefix);
    rmSync(dir, { recursive: true, force: true });
    expect(netnsList().filter((n) => n.startsWith(prefix))).toEqual([]);
  });

  it('up builds the cluster; a ClusterIP request reaches a backend; trace writes one pcapng; down removes it all', () => {
    const up = kubewire('kernel', 'up', 'scenarios/two-node-flannel.yaml', '--prefix', prefix);
    expect(up.stderr).toBe('');
    expect(up.status).toBe(0);
    expect(up.stdout).toContain(`made 10 network namespaces (prefix ${prefix}):`);
    expect(mine()).toHaveLength(10);
    expect(up.stdout).toContain(`  ${prefix}-node-a-client  (node-a/client)`);
    expect(up.stdout).toContain(`remove it with: kubewire kernel down --prefix ${prefix}`);

    const again = kubewire('kernel', 'up', 'scenarios/two-node-flannel.yaml', '--prefix', prefix);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`prefix "${prefix}" is already up`);

    // A curl-like request from the client pod to the echo Service's ClusterIP.
    const save = spawnSync('ip', ['netns', 'exec', `${prefix}-node-a-root`, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' }).stdout;
    const vip = /-A KUBE-SERVICES -d (\S+)\/32 -p tcp -m comment --comment "default\/echo:http cluster IP"/.exec(save)?.[1];
    expect(vip).toBeDefined();
    const req = spawnSync('ip', ['netns', 'exec', `${prefix}-node-a-client`, 'python3', '-c',
      `import socket;s=socket.create_connection(("${vip}",80),timeout=5);s.sendall(b"GET / HTTP/1.1\\r\\nHost: echo\\r\\nConnection: close\\r\\n\\r\\n");d=b""\nwhile True:\n  b=s.recv(65536)\n  if not b: break\n  d+=b\nprint(d.decode())`], { encoding: 'utf8', timeout: 20_000 });
    expect(req.stderr).toBe('');
    expect(req.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(req.stdout).toMatch(/Hostname: echo-5fb55d6bdc-(2lgg2|xb9tp)/);

    const pcap = join(dir, 'trace.pcapng');
    const tr = kubewire('kernel', 'trace', 'scenarios/two-node-flannel.yaml', '--prefix', prefix, '--from', 'pod/default/client', '--to', '10.42.1.2:8080', '--pcap', pcap);
    expect(tr.stderr).toBe('');
    expect(tr.status).toBe(0);
    expect(tr.stdout).toContain('pod/default/client -> 10.42.1.2:8080 tcp: delivered');
    const cap = readCapture(new Uint8Array(readFileSync(pcap)));
    expect(cap.format).toBe('pcapng');
    const names = cap.interfaces.map((i) => i.name);
    for (const n of ['node-a/client/eth0', 'node-a/root/cni0', 'node-a/root/flannel.1', 'node-a/root/eth0', 'node-b/root/eth0', 'node-b/root/flannel.1']) expect(names).toContain(n);
    // Every frame's interface is named, in time order, with a direction.
    expect(cap.records.length).toBeGreaterThan(20);
    expect(cap.records.every((r, i) => i === 0 || r.timestampNs >= cap.records[i - 1]!.timestampNs)).toBe(true);
    expect(cap.records.every((r) => r.direction === 'in' || r.direction === 'out')).toBe(true);

    const down = kubewire('kernel', 'down', '--prefix', prefix);
    expect(down.status).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`^removed 10 network namespaces and \\d+ processes \\(prefix ${prefix}\\)\\n$`));
    expect(mine()).toEqual([]);
    const twice = kubewire('kernel', 'down', '--prefix', prefix);
    expect(twice.status).toBe(0);
    expect(twice.stdout).toContain('nothing to remove');
  }, 240_000);

  it('refuses a prefix that is not a plain name, and a tcp trace without a port (exit 2, nothing made)', () => {
    const bad = kubewire('kernel', 'down', '--prefix', '../etc');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--prefix "../etc"');
    const noPort = kubewire('kernel', 'trace', 'scenarios/two-node-flannel.yaml', '--prefix', `${prefix}-x`, '--from', 'pod/default/client', '--to', '10.42.1.2');
    expect(noPort.status).toBe(2);
    expect(noPort.stderr).toContain('tcp needs a port');
    expect(mine()).toEqual([]);
  });

  // Acceptance (issue 11): the default scenario, kube-proxy in iptables mode (this kernel has no IPVS).
  it('up on the default scenario with --set kubeProxy.mode=iptables: a pod reaches backend-service\'s ClusterIP, the laptop siji.example.com by name; down leaves ip netns list as it was', () => {
    const p = `kwt-clisd-${process.pid}`;
    // Other test files make and remove their own kwt- namespaces meanwhile; everything else,
    // and this prefix's, must come out of down exactly as it was.
    const stable = (l: string[]): string[] => l.filter((n) => n.startsWith(`${p}-`) || !n.startsWith('kwt-')).sort();
    const before = stable(netnsList());
    expect(before.filter((n) => n.startsWith(`${p}-`))).toEqual([]);
    try {
      const up = kubewire('kernel', 'up', '--set', 'kubeProxy.mode=iptables', '--prefix', p);
      expect(up.stderr).toBe('');
      expect(up.status).toBe(0);
      const made = netnsList().filter((n) => n.startsWith(`${p}-`));
      expect(up.stdout).toContain(`made ${made.length} network namespaces (prefix ${p}):`);
      // IPVS is not asked for, so nothing is left out.
      expect(up.stdout).not.toContain('not replayed');
      const state = readState(p)!;
      expect(state.pids.length).toBeGreaterThan(5);
      expect(state.pids.every(alive)).toBe(true);

      // Packets stay inside: no link of this namespace has a peer in the cluster, and every
      // veth in the cluster has its peer in another of the cluster's namespaces.
      expect(peerLinks().filter((l) => l.includes(` link-netns ${p}-`))).toEqual([]);
      for (const ns of made) for (const l of peerLinks(ns)) expect(l).toMatch(new RegExp(` link-netns ${p}-`));

      // A curl-like request from the k8s-xxx pod to backend-service's ClusterIP, DNATed by
      // kube-proxy's rules to one of its two pods on other nodes.
      const pod = new RegExp(`^  (${p}-\\S+)  \\(192\\.168\\.4\\.88/k8s-xxx-648c86cd45-qbhj9\\)$`, 'm').exec(up.stdout)?.[1];
      expect(pod).toBeDefined();
      const save = spawnSync('ip', ['netns', 'exec', `${p}-192.168.4.88-root`, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' }).stdout;
      expect(save).toContain('-A KUBE-SERVICES -d 10.43.199.15/32 -p tcp -m comment --comment "k8s/backend-service cluster IP"');
      const hosts = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const req = httpGet(pod!, '10.43.199.15', 18888, '10.43.199.15:18888');
        expect(req.stderr).toBe('');
        expect(req.stdout).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
        hosts.add(/Hostname: (backend-service-555d6684b5-(s7n9n|9kwc7))/.exec(req.stdout)?.[1] ?? req.stdout);
      }
      expect([...hosts].every((h) => /^backend-service-555d6684b5-(s7n9n|9kwc7)$/.test(h))).toBe(true);

      // A name, as a user on the outside sends it: resolved by the laptop's resolver at the
      // outside DNS host, then LB -> NodePort -> ingress-nginx -> laosiji, as in the model.
      const tr = kubewire('kernel', 'trace', '--set', 'kubeProxy.mode=iptables', '--prefix', p, '--from', 'host/laptop', '--to', 'http://siji.example.com/');
      expect(tr.stderr).toBe('');
      const rt = startRuntime(loadScenarioFile(defaultScenarioPath(), ['kubeProxy.mode=iptables']));
      const model = runExchange(rt, resolvePlace(rt, 'host/laptop'), resolveTarget(rt, 'http://siji.example.com/'), 'tcp');
      expect(model.response).toMatch(/^HTTP\/1\.1 200 OK \| /);
      expect(tr.stdout).toContain(`host/laptop -> http://siji.example.com/ tcp: delivered\nanswer: ${model.response}\n`);
      expect(tr.status).toBe(0);

      const down = kubewire('kernel', 'down', '--prefix', p);
      expect(down.stderr).toBe('');
      expect(down.status).toBe(0);
      expect(down.stdout).toBe(`removed ${made.length} network namespaces and ${state.pids.length} processes (prefix ${p})\n`);
      expect(stable(netnsList())).toEqual(before);
      expect(state.pids.filter(alive)).toEqual([]);
      expect(readState(p)).toBeNull();
    } finally {
      kernelDown(p);
    }
    expect(netnsList().filter((n) => n.startsWith(`${p}-`))).toEqual([]);
  }, 300_000);
});
