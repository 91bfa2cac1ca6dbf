import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { seconds } from '../../../src/sim/clock.js';
import { Random } from '../../../src/sim/random.js';
import { decodeMsg } from '../../../src/apps/coredns/dns/message.js';
import { parseResolvConf } from '../../../src/apps/resolver/resolvconf.js';
import { planSearch } from '../../../src/apps/resolver/plan.js';
import { StubResolver, type LookupResult } from '../../../src/apps/resolver/stub.js';
import type { EndpointSlice, Service } from '../../../src/k8s/api/types.js';
import { fixtureObjects, makeWorld, podNet, untilDone, type World } from '../coredns/fixture.js';

/** The resolv.conf of a pod in namespace k8s, as seed 000 shows it. */
const POD_RESOLV = 'nameserver 10.43.0.10\nsearch k8s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n';

function lookup(w: World, name: string, rcText = POD_RESOLV, libc: 'glibc' | 'musl' = 'glibc', net = podNet(w)): LookupResult {
  const r = new StubResolver(net, w.eq, new Random(5), parseResolvConf(rcText, libc), libc);
  let out: LookupResult | null = null;
  r.getaddrinfo(name, 'unspec', (x) => (out = x));
  untilDone(w, () => out !== null);
  if (!out) throw new Error('lookup did not finish');
  return out;
}

describe('resolv.conf', () => {
  it('parses the seed pod resolv.conf', () => {
    const rc = parseResolvConf(POD_RESOLV);
    expect(rc).toMatchObject({ nameservers: ['10.43.0.10'], search: ['k8s.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5, timeout: 5, attempts: 2 });
  });
  it('clamps options and keeps the last search/domain line, at most 3 nameservers', () => {
    const rc = parseResolvConf('domain a.example\nsearch b.example c.example\nnameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\noptions ndots:20 timeout:99 attempts:9 rotate single-request-reopen use-vc edns0\n');
    expect(rc).toMatchObject({ search: ['b.example', 'c.example'], nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'], ndots: 15, timeout: 30, attempts: 5, rotate: true, singleRequestReopen: true, useVc: true, edns0: true });
    expect(parseResolvConf('options timeout:99 attempts:9 rotate', 'musl')).toMatchObject({ timeout: 60, attempts: 9, rotate: false });
    expect(parseResolvConf('').nameservers).toEqual(['127.0.0.1']);
  });
});

describe('search plan (glibc res_nsearch order)', () => {
  const rc = parseResolvConf(POD_RESOLV);
  const names = (n: string, libc: 'glibc' | 'musl' = 'glibc'): string[] => planSearch(n, rc, { libc }).map((s) => s.name);
  it('short name: every search domain, then the name itself', () => {
    expect(names('backend-service')).toEqual(['backend-service.k8s.svc.cluster.local.', 'backend-service.svc.cluster.local.', 'backend-service.cluster.local.', 'backend-service.']);
    expect(planSearch('backend-service', rc)[0]!.types).toEqual(['A', 'AAAA']);
  });
  it('xxx.com (1 dot < ndots 5): the whole search list before the absolute query', () => {
    expect(names('xxx.com')).toEqual(['xxx.com.k8s.svc.cluster.local.', 'xxx.com.svc.cluster.local.', 'xxx.com.cluster.local.', 'xxx.com.']);
  });
  it('StatefulSet pod name', () => {
    expect(names('clickhouse-1-1-0.clickhouse-service.clickhouse')[1]).toBe('clickhouse-1-1-0.clickhouse-service.clickhouse.svc.cluster.local.');
  });
  it('a trailing dot asks only the name; ndots reached asks it first', () => {
    expect(names('xxx.com.')).toEqual(['xxx.com.']);
    expect(names('a.b.c.d.e.f')).toEqual(['a.b.c.d.e.f.', 'a.b.c.d.e.f.k8s.svc.cluster.local.', 'a.b.c.d.e.f.svc.cluster.local.', 'a.b.c.d.e.f.cluster.local.']);
    expect(names('a.b.c.d.e.f', 'musl')).toEqual(['a.b.c.d.e.f.']);
  });
  it('property: the absolute name is always tried exactly once; search names keep list order', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z]{1,5}$/), { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 15 }), fc.boolean(), (labels, ndots, musl) => {
        const name = labels.join('.');
        const r = parseResolvConf(`search s1.example s2.example\noptions ndots:${ndots}\n`);
        const plan = planSearch(name, r, { libc: musl ? 'musl' : 'glibc' }).map((s) => s.name);
        expect(plan.filter((n) => n === `${name}.`)).toHaveLength(1);
        const s1 = plan.indexOf(`${name}.s1.example.`);
        const s2 = plan.indexOf(`${name}.s2.example.`);
        if (s1 >= 0 || s2 >= 0) expect(s1).toBeLessThan(s2);
        const dots = labels.length - 1;
        expect(plan[0] === `${name}.`).toBe(dots >= ndots);
      }),
    );
  });
});

describe('glibc stub resolver through CoreDNS', () => {
  it('backend-service resolves at the first search step; A and AAAA leave together from one port', () => {
    const w = makeWorld();
    const r = lookup(w, 'backend-service');
    expect(r.status).toBe('OK');
    expect(r.addresses).toEqual(['10.43.199.15']);
    expect(r.name).toBe('backend-service.k8s.svc.cluster.local.');
    const sends = r.events.filter((e) => e.kind === 'send');
    expect(sends.map((e) => [e.name, e.type])).toEqual([
      ['backend-service.k8s.svc.cluster.local', 'A'],
      ['backend-service.k8s.svc.cluster.local', 'AAAA'],
    ]);
    expect(sends[0]!.srcPort).toBe(sends[1]!.srcPort);
    expect(sends[0]!.time).toBe(sends[1]!.time);
    expect(sends[0]!.id).not.toBe(sends[1]!.id);
  });

  it('xxx.com walks the whole search list (NXDOMAIN x3) before the absolute query goes upstream', () => {
    const w = makeWorld();
    const r = lookup(w, 'xxx.com');
    expect(r.status).toBe('OK');
    expect(r.addresses).toEqual(['122.14.236.25']);
    expect(r.tried).toEqual([0, 1, 2, 3]);
    const steps = r.events.filter((e) => e.kind === 'recv').map((e) => [e.name, e.type, e.rcode]);
    expect(steps).toEqual([
      ['xxx.com.k8s.svc.cluster.local', 'A', 3],
      ['xxx.com.k8s.svc.cluster.local', 'AAAA', 3],
      ['xxx.com.svc.cluster.local', 'A', 3],
      ['xxx.com.svc.cluster.local', 'AAAA', 3],
      ['xxx.com.cluster.local', 'A', 3],
      ['xxx.com.cluster.local', 'AAAA', 3],
      ['xxx.com', 'A', 0],
      ['xxx.com', 'AAAA', 0],
    ]);
    // a new socket (source port) per search step
    const ports = new Set(r.events.filter((e) => e.kind === 'send').map((e) => e.srcPort));
    expect(ports.size).toBe(4);
    // only the absolute name reached the upstream resolver
    expect(w.upstream.queries.map((q) => q.question[0]!.name).filter((n) => n.includes('xxx'))).toEqual(['xxx.com', 'xxx.com']);
  });

  it('clickhouse-1-1-0.clickhouse-service.clickhouse returns 192.168.4.86 at the second step', () => {
    const w = makeWorld();
    const r = lookup(w, 'clickhouse-1-1-0.clickhouse-service.clickhouse');
    expect(r.addresses).toEqual(['192.168.4.86']);
    expect(r.tried).toEqual([0, 1]);
    const all = lookup(w, 'clickhouse-service.clickhouse');
    expect([...all.addresses].sort()).toEqual(['192.168.4.86', '192.168.4.87', '192.168.4.88', '192.168.4.89', '192.168.4.90', '192.168.4.91']);
  });

  it('a lost AAAA reply costs the 5 s timeout, then glibc retries in single-request mode', () => {
    const w = makeWorld();
    const inner = podNet(w);
    let dropped = 0;
    const net = {
      udp: () => {
        const s = inner.udp();
        return {
          ...s,
          local: s.local,
          sendTo: (b: Uint8Array, addr: string, port: number) => {
            if (dropped === 0 && decodeMsg(b).question[0]!.type === 'AAAA') {
              dropped++; // the conntrack insert race of kubernetes#56903 drops it
              return;
            }
            s.sendTo(b, addr, port);
          },
          onMessage: s.onMessage,
          close: s.close,
        };
      },
      tcp: inner.tcp.bind(inner),
    };
    const t0 = w.eq.now;
    const r = lookup(w, 'backend-service', POD_RESOLV, 'glibc', net as never);
    expect(r.status).toBe('OK');
    expect(r.events.some((e) => e.kind === 'single-request')).toBe(true);
    const done = r.events[r.events.length - 1]!.time;
    expect(done - t0).toBeGreaterThanOrEqual(seconds(5));
    expect(done - t0).toBeLessThan(seconds(6));
  });

  it('no DNS server: 2 attempts x 5 s per step; a timeout ends the search list, the absolute name is still tried', () => {
    const w = makeWorld();
    const net = podNet(w);
    net.serve('10.43.0.10', 53, () => {});
    const t0 = w.eq.now;
    const r = lookup(w, 'backend-service', POD_RESOLV, 'glibc', net);
    expect(r.status).toBe('EAI_AGAIN');
    expect(r.tried).toEqual([0, 3]);
    expect(r.events.filter((e) => e.kind === 'timeout')).toHaveLength(4);
    expect(w.eq.now - t0).toBeGreaterThanOrEqual(seconds(20));
  });

  it('a dead first nameserver costs its timeout, then the second answers; rotate spreads the first try', () => {
    const w = makeWorld();
    const net = podNet(w);
    const rc = 'nameserver 10.43.0.99\nnameserver 10.43.0.10\nsearch k8s.svc.cluster.local\noptions ndots:5\n';
    const t0 = w.eq.now;
    const r = lookup(w, 'backend-service', rc, 'glibc', net);
    expect(r.addresses).toEqual(['10.43.199.15']);
    const sends = r.events.filter((e) => e.kind === 'send');
    expect(sends.map((e) => e.server)).toEqual(['10.43.0.99', '10.43.0.99', '10.43.0.10', '10.43.0.10']);
    // ns 0 waits timeout << 0 = 5 s; the retry goes to ns 1 on the same socket
    expect(sends[2]!.time - t0).toBe(seconds(5));
    expect(sends[2]!.srcPort).toBe(sends[0]!.srcPort);
    const rot = new StubResolver(net, w.eq, new Random(5), parseResolvConf(`${rc}options rotate\n`), 'glibc');
    const first: string[] = [];
    for (let i = 0; i < 2; i++) {
      let done = false;
      rot.getaddrinfo('backend-service.k8s.svc.cluster.local.', 'inet', (x) => {
        first.push(x.events[0]!.server);
        done = true;
      });
      untilDone(w, () => done);
    }
    expect(first).toEqual(['10.43.0.99', '10.43.0.10']);
  });

  it('ICMP port unreachable (ECONNREFUSED) ends the whole lookup at once, no search, no absolute name', () => {
    const w = makeWorld();
    const refusing = podNet(w);
    refusing.refusing.add('10.43.0.77');
    const t0 = w.eq.now;
    const r = lookup(w, 'backend-service', 'nameserver 10.43.0.77\nsearch k8s.svc.cluster.local svc.cluster.local\noptions ndots:5\n', 'glibc', refusing);
    expect(r.status).toBe('EAI_AGAIN');
    expect(r.tried).toEqual([0]);
    // attempts x nameservers tries, each refused at once
    expect(r.events.filter((e) => e.kind === 'refused')).toHaveLength(2);
    const sends = r.events.filter((e) => e.kind === 'send');
    expect(sends.map((e) => e.type)).toEqual(['A', 'AAAA', 'A', 'AAAA']);
    expect(sends[2]!.srcPort).not.toBe(sends[0]!.srcPort);
    expect(w.eq.now - t0).toBeLessThan(seconds(1));
  });

  it('a truncated reply is retried over TCP', () => {
    const many: (Service | EndpointSlice)[] = [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'big', namespace: 'k8s' }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'big-1', namespace: 'k8s', labels: { 'kubernetes.io/service-name': 'big' } },
        addressType: 'IPv4',
        endpoints: Array.from({ length: 40 }, (_, i) => ({ addresses: [`10.42.9.${i + 1}`], conditions: { ready: true } })),
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      },
    ];
    const w = makeWorld({ objects: [...fixtureObjects(), ...many] });
    const r = lookup(w, 'big');
    expect(r.status).toBe('OK');
    expect(r.addresses).toHaveLength(40);
    expect(r.events.some((e) => e.kind === 'tcp-retry')).toBe(true);
    expect(r.events.filter((e) => e.kind === 'recv' && e.proto === 'tcp').map((e) => e.type)).toEqual(['A', 'AAAA']);
  });

  it('options use-vc sends over TCP from the start', () => {
    const w = makeWorld();
    const r = lookup(w, 'backend-service', `${POD_RESOLV}options use-vc\n`);
    expect(r.addresses).toEqual(['10.43.199.15']);
    expect(r.events.filter((e) => e.kind === 'send').every((e) => e.proto === 'tcp')).toBe(true);
  });

  it('options single-request sends AAAA only after the A reply', () => {
    const w = makeWorld();
    const r = lookup(w, 'backend-service', `${POD_RESOLV}options single-request\n`);
    const ev = r.events.filter((e) => e.kind === 'send' || e.kind === 'recv').map((e) => `${e.kind} ${e.type}`);
    expect(ev).toEqual(['send A', 'recv A', 'send AAAA', 'recv AAAA']);
  });

  it('NODATA: glibc keeps searching, musl stops (EAI_NODATA)', () => {
    const w = makeWorld();
    const g = lookup(w, 'k8s');
    const m = lookup(w, 'k8s', POD_RESOLV, 'musl');
    expect(g.tried).toEqual([0, 1, 2, 3]);
    expect(m.tried).toEqual([0, 1]);
    expect(m.status).toBe('EAI_NODATA');
    expect(g.status).toBe('EAI_NODATA');
  });

  it('musl sends A and AAAA from one socket and resolves the same names', () => {
    const w = makeWorld();
    const r = lookup(w, 'clickhouse-1-1-0.clickhouse-service.clickhouse', POD_RESOLV, 'musl');
    expect(r.addresses).toEqual(['192.168.4.86']);
  });
});
