// `kubewire kernel up|trace|down` as a user runs them: a cluster in real namespaces where a
// request to a Service's ClusterIP reaches a backend, a trace into one pcapng named like the
// model's, and `down` leaving `ip netns list` as it was.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { netnsList } from '../../src/kernel/host.js';
import { kernelDown } from '../../src/kernel/up.js';
import { readCapture } from '../../src/pcap/reader.js';
import { missing } from '../helpers/tools.js';

const why = missing({ root: true, tools: ['ip', 'bridge', 'iptables-restore', 'tcpdump', 'python3'] });

function kubewire(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
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
});
