// `dig` run from the pod 10.42.4.15 (namespace k8s) against kube-dns 10.43.0.10 on the
// simulated clock: whole-output goldens. The printer's layout is checked against the real
// dig binary in real-dig.test.ts.
import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/sim/random.js';
import { seconds } from '../../../src/sim/clock.js';
import { digSearchNames, runDig, runDigSearch, type DigOptions, type DigRun } from '../../../src/apps/dig/client.js';
import { digWhen, printDig, printDigFailure, printDigSearch, questionLine, rrLine } from '../../../src/apps/dig/print.js';
import { parseResolvConf } from '../../../src/apps/resolver/resolvconf.js';
import { EPOCH, makeWorld, podNet, untilDone, type World } from '../coredns/fixture.js';

function dig(w: World, name: string, type: string, extra: Partial<DigOptions> = {}, argv?: string): DigRun {
  let out: DigRun | null = null;
  runDig(podNet(w), w.eq, new Random(9), EPOCH, name, type, { server: '10.43.0.10', argv: argv ?? (type === 'A' ? name : `${name} ${type}`), ...extra }, (r) => (out = r));
  untilDone(w, () => out !== null);
  return out!;
}

const CASES: [string, string, string, Partial<DigOptions>?][] = [
  ['clusterip-a', 'backend-service.k8s.svc.cluster.local', 'A'],
  ['headless-a', 'clickhouse-service.clickhouse.svc.cluster.local', 'A'],
  ['statefulset-pod-a', 'clickhouse-1-1-0.clickhouse-service.clickhouse.svc.cluster.local', 'A'],
  ['nxdomain', 'nope.k8s.svc.cluster.local', 'A'],
  ['nodata-aaaa', 'backend-service.k8s.svc.cluster.local', 'AAAA'],
  ['srv-headless', '_tcp._tcp.clickhouse-service.clickhouse.svc.cluster.local', 'SRV'],
  ['ptr-service', '15.199.43.10.in-addr.arpa', 'PTR'],
  ['externalname', 'external-xxx.k8s.svc.cluster.local', 'A'],
  ['forwarded', 'xxx.com', 'A'],
  ['soa-apex', 'cluster.local', 'SOA'],
  ['txt-version', 'dns-version.cluster.local', 'TXT'],
  ['tcp', 'backend-service.k8s.svc.cluster.local', 'A', { tcp: true }],
  ['noedns', 'xxx.com', 'A', { edns: false }],
];

describe('kubewire dig goldens', () => {
  for (const [file, name, type, extra] of CASES) {
    it(file, async () => {
      const w = makeWorld();
      const r = dig(w, name, type, extra ?? {}, `${name}${type === 'A' ? '' : ` ${type}`}${extra?.tcp ? ' +tcp' : ''}${extra?.edns === false ? ' +noedns' : ''}`);
      expect(r.exchange).not.toBeNull();
      await expect(printDig(r.exchange!)).toMatchFileSnapshot(`../../golden/dig/${file}.txt`);
    });
  }

  it('+search +showsearch walks the pod search list like dig does', async () => {
    const w = makeWorld();
    const rc = parseResolvConf('nameserver 10.43.0.10\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n');
    const names = digSearchNames('xxx.com', rc);
    let runs: DigRun[] = [];
    runDigSearch(podNet(w), w.eq, new Random(9), EPOCH, names, 'A', { server: '10.43.0.10', argv: '+search +showsearch xxx.com' }, (r) => (runs = r));
    w.eq.run();
    expect(runs.map((r) => r.exchange!.reply.question[0]!.name)).toEqual(['xxx.com.k8s.svc.cluster.local', 'xxx.com.svc.cluster.local', 'xxx.com.cluster.local', 'xxx.com']);
    await expect(printDigSearch(runs, true)).toMatchFileSnapshot('../../golden/dig/search-showsearch.txt');
    expect(printDigSearch(runs, false)).toBe(printDig(runs[3]!.exchange!));
  });

  it('retries over TCP when the UDP reply is truncated, and says so', async () => {
    const w = makeWorld();
    const r = dig(w, 'clickhouse-service.clickhouse.svc.cluster.local', 'SRV', { edns: false }, 'clickhouse-service.clickhouse.svc.cluster.local SRV +noedns');
    expect(r.exchange!.proto).toBe('TCP');
    expect(r.exchange!.reply.answer).toHaveLength(12);
    await expect(printDig(r.exchange!)).toMatchFileSnapshot('../../golden/dig/truncated-tcp-retry.txt');
  });

  it('prints the timeouts when nobody answers', async () => {
    const w = makeWorld();
    const net = podNet(w);
    net.serve('10.43.0.10', 53, () => {});
    let out: DigRun | null = null;
    const t0 = w.eq.now;
    runDig(net, w.eq, new Random(9), EPOCH, 'xxx.com', 'A', { server: '10.43.0.10', argv: 'xxx.com' }, (r) => (out = r));
    w.eq.run();
    expect(w.eq.now - t0).toBe(seconds(15));
    expect(out!.failures).toEqual(['timed out', 'timed out', 'timed out']);
    await expect(printDigFailure('xxx.com', false, '10.43.0.10', 53, out!.failures)).toMatchFileSnapshot('../../golden/dig/no-servers.txt');
  });
});

describe('dig +search order', () => {
  it('asks a name with ndots dots only as written, no search afterwards (unlike glibc)', () => {
    const rc = parseResolvConf('nameserver 10.43.0.10\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:2\n');
    expect(digSearchNames('a.b.c', rc)).toEqual(['a.b.c.']);
    expect(digSearchNames('xxx.com', rc)).toEqual(['xxx.com.k8s.svc.cluster.local.', 'xxx.com.svc.cluster.local.', 'xxx.com.cluster.local.', 'xxx.com.']);
    expect(digSearchNames('xxx.com.', rc)).toEqual(['xxx.com.']);
  });
});

describe('dig against a closed port', () => {
  it('prints one connection refused per try, at once', async () => {
    const w = makeWorld();
    const net = podNet(w);
    net.refusing.add('10.43.0.99');
    let out: DigRun | null = null;
    const t0 = w.eq.now;
    runDig(net, w.eq, new Random(9), EPOCH, 'xxx.com', 'A', { server: '10.43.0.99', argv: '@10.43.0.99 xxx.com +tries=2', tries: 2, serverFound: true }, (r) => (out = r));
    untilDone(w, () => out !== null);
    expect(w.eq.now - t0).toBeLessThan(seconds(1));
    expect(printDigFailure('@10.43.0.99 xxx.com +tries=2', true, '10.43.0.99', 53, out!.failures)).toBe(
      `;; communications error to 10.43.0.99#53: connection refused\n;; communications error to 10.43.0.99#53: connection refused\n\n; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> @10.43.0.99 xxx.com +tries=2\n; (1 server found)\n;; global options: +cmd\n;; no servers could be reached\n`,
    );
  });
});

describe('dig presentation helpers', () => {
  it('formats the WHEN line from Unix seconds', () => {
    expect(digWhen(EPOCH)).toBe('Wed Jul 31 16:39:16 UTC 2024');
    expect(digWhen(0)).toBe('Thu Jan 01 00:00:00 UTC 1970');
    expect(digWhen(951782400)).toBe('Tue Feb 29 00:00:00 UTC 2000');
  });
  it('aligns columns with tabs like BIND, a single space once past a column', () => {
    expect(rrLine({ name: 'xxx.com', type: 'A', class: 'IN', ttl: 30, data: '1.2.3.4' })).toBe('xxx.com.\t\t30\tIN\tA\t1.2.3.4');
    expect(rrLine({ name: 'backend-service.k8s.svc.cluster.local', type: 'A', class: 'IN', ttl: 5, data: '10.43.199.15' })).toBe('backend-service.k8s.svc.cluster.local. 5 IN A\t10.43.199.15');
    expect(questionLine({ name: 'xxx.com', type: 'A', class: 'IN' })).toBe(';xxx.com.\t\t\tIN\tA');
  });
});
