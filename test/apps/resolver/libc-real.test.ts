// The stub resolver model against the real libc resolvers of this machine, in a test network
// namespace whose resolv.conf is the seed pod's, talking to kubewire's CoreDNS on
// 127.0.0.1:53: glibc through `getent ahosts NAME`, musl through a getaddrinfo program built
// with musl-gcc. Names, types, order, the socket (source port) grouping and the addresses
// must be what StubResolver sends and finds.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../../src/sim/random.js';
import { parseResolvConf } from '../../../src/apps/resolver/resolvconf.js';
import { StubResolver, type LookupResult } from '../../../src/apps/resolver/stub.js';
import { missing } from '../../helpers/tools.js';
import { makeWorld, podNet } from '../coredns/fixture.js';

const run = promisify(execFile);
const why = missing({ tools: ['ip', 'getent', 'npx'], root: true });
const NS = `kwt-dns-${process.pid}`;
const RESOLV = 'nameserver 127.0.0.1\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n';

interface Seen {
  proto: string;
  port: number;
  id: number;
  name: string;
  type: string;
}

describe.skipIf(why !== null)('glibc getaddrinfo matches StubResolver', () => {
  let server: ChildProcess | null = null;
  const seen: Seen[] = [];
  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    mkdirSync(`/etc/netns/${NS}`, { recursive: true });
    writeFileSync(`/etc/netns/${NS}/resolv.conf`, RESOLV);
    server = spawn('ip', ['netns', 'exec', NS, 'npx', 'tsx', 'test/apps/resolver/netns-dns-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      server!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line === 'ready') resolve();
          else if (line.startsWith('{')) seen.push(JSON.parse(line) as Seen);
        }
      });
      server!.on('exit', (c) => reject(new Error(`server exited ${c}`)));
    });
  }, 60_000);
  afterAll(() => {
    if (server?.pid) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      // not created
    }
    rmSync(`/etc/netns/${NS}`, { recursive: true, force: true });
  });

  function model(name: string, libc: 'glibc' | 'musl' = 'glibc'): LookupResult {
    const w = makeWorld();
    const r = new StubResolver(podNet(w), w.eq, new Random(1), parseResolvConf(RESOLV.replace('127.0.0.1', '10.43.0.10'), libc), libc);
    let out: LookupResult | null = null;
    r.getaddrinfo(name, 'unspec', (x) => (out = x));
    w.eq.run();
    return out!;
  }

  for (const name of ['backend-service', 'xxx.com', 'clickhouse-1-1-0.clickhouse-service.clickhouse', 'nothere.example.com', 'xxx.com.']) {
    it(name, async () => {
      seen.length = 0;
      let out = '';
      try {
        out = (await run('ip', ['netns', 'exec', NS, 'getent', 'ahosts', name])).stdout;
      } catch (e) {
        out = (e as { stdout?: string }).stdout ?? '';
      }
      const m = model(name);
      expect(seen.length).toBeGreaterThan(1);
      const sends = m.events.filter((e) => e.kind === 'send');
      expect(seen.map((s) => `${s.name} ${s.type}`)).toEqual(sends.map((s) => `${s.name} ${s.type}`));
      // the same socket grouping: one source port per search step
      const group = (xs: { port: number }[]): number[] => xs.map((x) => xs.findIndex((y) => y.port === x.port));
      expect(group(seen)).toEqual(group(sends.map((s) => ({ port: s.srcPort }))));
      // and the same addresses
      const addrs = [...new Set(out.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]!))];
      expect(addrs.sort()).toEqual([...m.addresses].sort());
    });
  }

  it('glibc after a lost AAAA: waits 5 s, then resends in single-request mode on the same socket', async () => {
    // a second server in another namespace that drops the first AAAA it sees
    const ns2 = `${NS}-drop`;
    execFileSync('ip', ['netns', 'add', ns2]);
    execFileSync('ip', ['-n', ns2, 'link', 'set', 'lo', 'up']);
    mkdirSync(`/etc/netns/${ns2}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns2}/resolv.conf`, RESOLV);
    const s2 = spawn('ip', ['netns', 'exec', ns2, 'env', 'DROP=AAAA:1', 'npx', 'tsx', 'test/apps/resolver/netns-dns-server.ts'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const got: Seen[] = [];
    try {
      await new Promise<void>((resolve) => {
        let buf = '';
        s2.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            if (line === 'ready') resolve();
            else if (line.startsWith('{')) got.push(JSON.parse(line) as Seen);
          }
        });
      });
      const t0 = Date.now();
      await run('ip', ['netns', 'exec', ns2, 'getent', 'ahosts', 'backend-service']);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(4900);
      const w = makeWorld();
      const inner = podNet(w);
      let dropped = 0;
      const net = {
        udp: () => {
          const s = inner.udp();
          return {
            local: s.local,
            sendTo: (b: Uint8Array, a: string, p: number) => {
              if (dropped === 0 && b[b.length - 3] === 28) {
                dropped++;
                return;
              }
              s.sendTo(b, a, p);
            },
            onMessage: s.onMessage,
            close: s.close,
          };
        },
        tcp: inner.tcp.bind(inner),
      };
      const r = new StubResolver(net, w.eq, new Random(1), parseResolvConf(RESOLV.replace('127.0.0.1', '10.43.0.10')), 'glibc');
      let m: LookupResult | null = null;
      r.getaddrinfo('backend-service', 'unspec', (x) => (m = x));
      w.eq.run();
      const sends = m!.events.filter((e) => e.kind === 'send');
      expect(got.map((s) => `${s.name} ${s.type}`)).toEqual(sends.map((s) => `${s.name} ${s.type}`));
      const group = (xs: { port: number }[]): number[] => xs.map((x) => xs.findIndex((y) => y.port === x.port));
      expect(group(got)).toEqual(group(sends.map((s) => ({ port: s.srcPort }))));
    } finally {
      if (s2.pid) process.kill(-s2.pid, 'SIGTERM');
      execFileSync('ip', ['netns', 'del', ns2]);
      rmSync(`/etc/netns/${ns2}`, { recursive: true, force: true });
    }
  }, 60_000);

  const noDump = missing({ tools: ['tcpdump'] });
  it.skipIf(noDump !== null)('glibc with a nameserver that answers ICMP port unreachable: two tries, new socket each, then gives up', async () => {
    const ns3 = `${NS}-ref`;
    execFileSync('ip', ['netns', 'add', ns3]);
    execFileSync('ip', ['-n', ns3, 'link', 'set', 'lo', 'up']);
    mkdirSync(`/etc/netns/${ns3}`, { recursive: true });
    const rc = 'nameserver 127.0.0.2\nsearch k8s.svc.cluster.local svc.cluster.local\noptions ndots:5\n';
    writeFileSync(`/etc/netns/${ns3}/resolv.conf`, rc);
    const dump = spawn('ip', ['netns', 'exec', ns3, 'tcpdump', '-i', 'lo', '-n', '-l', 'udp', 'dst', 'port', '53'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    let text = '';
    dump.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      try {
        await run('ip', ['netns', 'exec', ns3, 'getent', 'ahosts', 'backend-service']);
      } catch {
        // exit status 2: not found
      }
      await new Promise((r) => setTimeout(r, 500));
      const got = text
        .split('\n')
        .map((l) => /127\.0\.0\.1\.(\d+) > 127\.0\.0\.2\.53: \d+\+ (A|AAAA)\? (\S+) /.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ port: Number(m[1]), type: m[2]!, name: m[3]!.replace(/\.$/, '') }));
      const w = makeWorld();
      const net = podNet(w);
      net.refusing.add('127.0.0.2');
      const r = new StubResolver(net, w.eq, new Random(1), parseResolvConf(rc), 'glibc');
      let m: LookupResult | null = null;
      r.getaddrinfo('backend-service', 'unspec', (x) => (m = x));
      w.eq.run();
      const sends = m!.events.filter((e) => e.kind === 'send');
      expect(m!.status).toBe('EAI_AGAIN');
      expect(got.map((g) => `${g.name} ${g.type}`)).toEqual(sends.map((s) => `${s.name} ${s.type}`));
      const group = (xs: { port: number }[]): number[] => xs.map((x) => xs.findIndex((y) => y.port === x.port));
      expect(group(got)).toEqual(group(sends.map((s) => ({ port: s.srcPort }))));
    } finally {
      if (dump.pid) process.kill(-dump.pid, 'SIGTERM');
      execFileSync('ip', ['netns', 'del', ns3]);
      rmSync(`/etc/netns/${ns3}`, { recursive: true, force: true });
    }
  }, 60_000);

  const noMusl = missing({ tools: ['musl-gcc'] });
  let gai = '';
  for (const name of ['backend-service', 'xxx.com', 'clickhouse-1-1-0.clickhouse-service.clickhouse', 'k8s', 'a.b.c.d.e.f']) {
    it.skipIf(noMusl !== null)(`musl: ${name}`, async () => {
      if (!gai) {
        const dir = mkdtempSync(join(tmpdir(), 'kwt-musl-'));
        gai = join(dir, 'gai');
        execFileSync('musl-gcc', ['-static', '-O1', '-o', gai, 'test/apps/resolver/gai.c']);
      }
      seen.length = 0;
      let out = '';
      try {
        out = (await run('ip', ['netns', 'exec', NS, gai, name])).stdout;
      } catch (e) {
        out = (e as { stdout?: string }).stdout ?? '';
      }
      const m = model(name, 'musl');
      const sends = m.events.filter((e) => e.kind === 'send');
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.map((s) => `${s.name} ${s.type}`)).toEqual(sends.map((s) => `${s.name} ${s.type}`));
      const group = (xs: { port: number }[]): number[] => xs.map((x) => xs.findIndex((y) => y.port === x.port));
      expect(group(seen)).toEqual(group(sends.map((s) => ({ port: s.srcPort }))));
      const addrs = out.startsWith('error') ? [] : [...new Set(out.split('\n').filter(Boolean))];
      expect(addrs.sort()).toEqual([...m.addresses].sort());
      expect(out.startsWith('error')).toBe(m.status !== 'OK');
    });
  }
});
