import { describe, expect, it } from 'vitest';
import { seconds } from '../../../src/sim/clock.js';
import { decodeMsg, encodeMsg, newQuery, rcodeName } from '../../../src/apps/coredns/dns/message.js';
import type { DnsPluginEvent } from '../../../src/apps/coredns/trace.js';
import { KUBEADM_COREFILE } from '../../../src/apps/coredns/server.js';
import { ask, CLIENT_IP, EPOCH, fixtureObjects, makeWorld, SEED_COREFILE, UPSTREAM_IP, type World } from './fixture.js';

const REVERSED = `.:53 {
    loadbalance
    reload
    loop
    cache 30
    forward . "/etc/resolv.conf"
    bufsize 4096
    prometheus :9153
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      fallthrough in-addr.arpa ip6.arpa
      pods insecure
    }
    hosts /etc/add_hosts {
      fallthrough
    }
    ready
    health {
      lameduck 5s
    }
    errors
}
`;

const QUERIES: [string, string][] = [
  ['backend-service.k8s.svc.cluster.local', 'A'],
  ['clickhouse-service.clickhouse.svc.cluster.local', 'A'],
  ['nope.k8s.svc.cluster.local', 'A'],
  ['kubenode1', 'A'],
  ['xxx.com', 'A'],
  ['9.9.9.10.in-addr.arpa', 'PTR'],
  ['external-xxx.k8s.svc.cluster.local', 'A'],
];

/** Moves the simulated clock s seconds on, running what falls due (run() alone stops when idle). */
function advance(w: World, s: number): void {
  const t = w.eq.now + seconds(s);
  w.eq.at(t, () => {});
  w.eq.run(t);
}

describe('plugin chain', () => {
  it('runs in plugin.cfg order whatever the Corefile order', () => {
    const a = makeWorld({ corefile: SEED_COREFILE });
    const b = makeWorld({ corefile: REVERSED });
    const names = (w: World): string[] => w.dns.configs(53)[0]!.handlers.map((h) => h.name);
    expect(names(a)).toEqual(['bufsize', 'prometheus', 'errors', 'loadbalance', 'cache', 'hosts', 'kubernetes', 'loop', 'forward']);
    expect(names(b)).toEqual(names(a));
    for (const [n, t] of QUERIES) expect(encodeMsg(ask(b, n, t).reply)).toEqual(encodeMsg(ask(a, n, t).reply));
  });

  it('traces each plugin that handled a query, innermost first', () => {
    const w = makeWorld();
    w.trace.clear();
    ask(w, 'backend-service.k8s.svc.cluster.local', 'A');
    const ev = w.trace.ofKind('dns.plugin').filter((e) => e.depth === 0);
    expect(ev.map((e) => e.plugin)).toEqual(['kubernetes', 'hosts', 'cache', 'loadbalance', 'errors', 'prometheus', 'bufsize']);
    expect(ev.find((e) => e.plugin === 'cache')!.notes).toEqual({ cache: 'miss' });
    const server = w.trace.ofKind('dns.server');
    expect(server).toHaveLength(1);
    expect(server[0]).toMatchObject({ plugin: 'kubernetes', rcode: 'NOERROR', zone: '.', remote: `${CLIENT_IP}:45678` });
  });

  it('a query no block serves is REFUSED; no next plugin is SERVFAIL', () => {
    const w = makeWorld({ corefile: 'cluster.local:53 {\n  kubernetes\n}\nexample.org:53 {\n  hosts {\n    10.0.0.1 a.example.org\n  }\n}\n' });
    expect(rcodeName(ask(w, 'xxx.com', 'A').reply.rcode)).toBe('REFUSED');
    expect(ask(w, 'a.example.org', 'A').reply.answer[0]!.data).toBe('10.0.0.1');
    const r = ask(w, 'b.example.org', 'A').reply;
    expect(rcodeName(r.rcode)).toBe('SERVFAIL');
    expect(r.aa).toBe(false);
  });

  it('longest zone wins among server blocks', () => {
    const w = makeWorld({ corefile: '.:53 {\n  hosts {\n    10.0.0.1 a.svc.cluster.local\n    fallthrough\n  }\n  kubernetes\n}\nsvc.cluster.local:53 {\n  kubernetes cluster.local\n}\n' });
    const r = ask(w, 'backend-service.k8s.svc.cluster.local', 'A').reply;
    expect(r.answer[0]!.data).toBe('10.43.199.15');
    // a.svc.cluster.local goes to the svc.cluster.local block (no hosts there): NODATA-ish NXDOMAIN from kubernetes
    expect(rcodeName(ask(w, 'a.svc.cluster.local', 'A').reply.rcode)).toBe('NXDOMAIN');
  });
});

describe('cache', () => {
  it('answers a second identical query from the cache with the TTL counted down; upstream sees one query', () => {
    const w = makeWorld();
    const first = ask(w, 'xxx.com', 'A').reply;
    expect(first.answer[0]!.ttl).toBe(30);
    expect(first.aa).toBe(false);
    advance(w, 12);
    w.trace.clear();
    const second = ask(w, 'xxx.com', 'A').reply;
    expect(second.answer[0]!.ttl).toBe(18);
    expect(second.aa).toBe(true); // cache hits are authoritative (item.go)
    expect(second.ra).toBe(true);
    expect(w.upstream.queries.filter((q) => q.question[0]!.name === 'xxx.com')).toHaveLength(1);
    const cache = w.trace.ofKind('dns.plugin').find((e: DnsPluginEvent) => e.plugin === 'cache')!;
    expect(cache.notes).toMatchObject({ cache: 'hit', type: 'success', ttl: 18 });
    expect(w.trace.ofKind('dns.server')[0]!.plugin).toBe('cache');
    expect(w.trace.ofKind('dns.plugin').some((e) => e.plugin === 'forward')).toBe(false);
    advance(w, 18);
    ask(w, 'xxx.com', 'A');
    expect(w.upstream.queries.filter((q) => q.question[0]!.name === 'xxx.com')).toHaveLength(2);
  });

  it('caches denials (NXDOMAIN with SOA) and kubernetes answers with their own TTL', () => {
    const w = makeWorld();
    ask(w, 'nothere.example.com', 'A');
    advance(w, 4);
    const again = ask(w, 'nothere.example.com', 'A').reply;
    expect(rcodeName(again.rcode)).toBe('NXDOMAIN');
    expect(again.ns[0]!.ttl).toBe(26);
    expect(w.upstream.queries.filter((q) => q.question[0]!.name === 'nothere.example.com')).toHaveLength(1);
    ask(w, 'backend-service.k8s.svc.cluster.local', 'A');
    advance(w, 3);
    expect(ask(w, 'backend-service.k8s.svc.cluster.local', 'A').reply.answer[0]!.ttl).toBe(2);
    advance(w, 2);
    w.trace.clear();
    expect(ask(w, 'backend-service.k8s.svc.cluster.local', 'A').reply.answer[0]!.ttl).toBe(5);
    expect(w.trace.ofKind('dns.server')[0]!.plugin).toBe('kubernetes');
  });

  it('negative caching hides a new Service until the denial expires (cache 30 caps it)', () => {
    const w = makeWorld();
    expect(rcodeName(ask(w, 'late.k8s.svc.cluster.local', 'A').reply.rcode)).toBe('NXDOMAIN');
    w.store.upsert({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'late', namespace: 'k8s' }, spec: { clusterIP: '10.43.7.7', ports: [{ port: 80 }] } });
    advance(w, 3);
    expect(rcodeName(ask(w, 'late.k8s.svc.cluster.local', 'A').reply.rcode)).toBe('NXDOMAIN');
    advance(w, 3);
    const r = ask(w, 'late.k8s.svc.cluster.local', 'A').reply;
    expect(r.answer[0]!.data).toBe('10.43.7.7');
  });

  it('does not cache a CNAME that leads nowhere without an SOA (RFC 2308 5)', () => {
    const w = makeWorld();
    ask(w, 'external-gone.k8s.svc.cluster.local', 'A');
    w.trace.clear();
    ask(w, 'external-gone.k8s.svc.cluster.local', 'A');
    expect(w.trace.ofKind('dns.server')[0]!.plugin).toBe('kubernetes');
  });

  it('stores the full reply (truncation happens outside the cache, in the ScrubWriter)', () => {
    const w = makeWorld();
    ask(w, 'clickhouse-service.clickhouse.svc.cluster.local', 'SRV'); // tc over 512
    w.trace.clear();
    const again = ask(w, 'clickhouse-service.clickhouse.svc.cluster.local', 'SRV').reply;
    expect(again.tc).toBe(true);
    expect(w.trace.ofKind('dns.server')[0]!.plugin).toBe('cache');
    const tcp = ask(w, 'clickhouse-service.clickhouse.svc.cluster.local', 'SRV', { proto: 'tcp' }).reply;
    expect(tcp.answer).toHaveLength(12);
  });

  it('keys on the DO bit: a DO query misses an entry stored without DO', () => {
    const w = makeWorld();
    ask(w, 'xxx.com', 'A');
    ask(w, 'xxx.com', 'A', { edns: { udpSize: 1232, do: true, version: 0, extRcode: 0, options: [] } });
    expect(w.upstream.queries.filter((q) => q.question[0]!.name === 'xxx.com')).toHaveLength(2);
  });

  it('prefetch refreshes a popular entry before it expires', () => {
    const w = makeWorld({ corefile: '.:53 {\n  prometheus :9153\n  cache 30 {\n    prefetch 2 1m 50%\n  }\n  forward . 192.168.4.1\n}\n' });
    const upstreamSaw = (): number => w.upstream.queries.filter((q) => q.question[0]!.name === 'xxx.com').length;
    ask(w, 'xxx.com', 'A');
    advance(w, 10);
    expect(ask(w, 'xxx.com', 'A').reply.answer[0]!.ttl).toBe(20); // 1st hit, 20 s left > 15
    expect(upstreamSaw()).toBe(1);
    advance(w, 6);
    expect(ask(w, 'xxx.com', 'A').reply.answer[0]!.ttl).toBe(14); // 2nd hit, 14 <= 15: prefetch
    advance(w, 1); // the refresh travels while the client already has its answer
    expect(upstreamSaw()).toBe(2);
    expect(ask(w, 'xxx.com', 'A').reply.answer[0]!.ttl).toBeGreaterThanOrEqual(29);
    expect(w.dns.httpGet(9153, '/metrics')!.body).toContain('coredns_cache_prefetch_total{server="dns://:53",view="",zones="."} 1\n');
  });

  it('serve_stale answers an expired entry with TTL 0 and refreshes it', () => {
    const w = makeWorld({ corefile: '.:53 {\n  cache 30 {\n    serve_stale 1h\n  }\n  forward . 192.168.4.1\n}\n' });
    ask(w, 'xxx.com', 'A');
    advance(w, 40);
    w.upstream.alive = false;
    const stale = ask(w, 'xxx.com', 'A').reply;
    expect(stale.answer[0]!.ttl).toBe(0);
    expect(stale.answer[0]!.data).toBe('122.14.236.25');
  });
});

describe('forward', () => {
  it('returns SERVFAIL (written by the server) when the upstream never answers, after 2 tries of 2 s', () => {
    const w = makeWorld();
    w.upstream.alive = false;
    const t0 = w.eq.now;
    const r = ask(w, 'down.example.com', 'A').reply;
    expect(rcodeName(r.rcode)).toBe('SERVFAIL');
    expect(r.aa).toBe(false);
    expect(r.ra).toBe(false);
    expect(w.eq.now - t0).toBeGreaterThanOrEqual(seconds(4));
    expect(w.stdout.some((l) => /^\[ERROR\] plugin\/errors: 2 down\.example\.com\. A: read udp 10\.42\.1\.5:\d+->192\.168\.4\.1:53: i\/o timeout$/.test(l))).toBe(true);
  });

  it('a failed exchange starts health checks (. IN NS every 1 s timeout + 0.5 s) until the upstream answers', () => {
    const w = makeWorld();
    w.upstream.alive = false;
    ask(w, 'down.example.com', 'A');
    const t0 = w.eq.now;
    advance(w, 10);
    const probes = w.upstream.arrived.filter((a) => a.msg.question[0]!.type === 'NS' && a.msg.question[0]!.name === '.' && a.time >= t0 - seconds(4));
    expect(probes.length).toBeGreaterThanOrEqual(7);
    expect(probes.every((p) => p.msg.rd)).toBe(true);
    const gaps = probes.slice(1).map((p, i) => p.time - probes[i]!.time);
    expect(new Set(gaps)).toEqual(new Set([seconds(1.5)]));
    expect(w.dns.httpGet(9153, '/metrics')!.body).toMatch(/coredns_proxy_healthcheck_failures_total\{proxy_name="forward",to="192\.168\.4\.1:53"\} \d+/);
    // all upstreams down: CoreDNS still tries one at random and counts a broken health check
    const r = ask(w, 'still.example.com', 'A').reply;
    expect(rcodeName(r.rcode)).toBe('SERVFAIL');
    expect(w.dns.httpGet(9153, '/metrics')!.body).toMatch(/coredns_forward_healthcheck_broken_total [1-9]/);
    w.upstream.alive = true;
    advance(w, 3);
    const n = w.upstream.arrived.length;
    advance(w, 10);
    expect(w.upstream.arrived.length).toBe(n); // healthy again: probing stopped
    expect(ask(w, 'xxx.com', 'A').reply.answer[0]!.data).toBe('122.14.236.25');
  });

  it('sends a fresh ID upstream and restores the client ID', () => {
    const w = makeWorld();
    const r = ask(w, 'xxx.com', 'A', { id: 777 }).reply;
    expect(r.id).toBe(777);
    const up = w.upstream.queries.find((q) => q.question[0]!.name === 'xxx.com')!;
    expect(up.id).not.toBe(777);
    expect(up.rd).toBe(true);
  });

  it('policies: sequential always starts with the first upstream, round_robin rotates, random uses the seed', () => {
    const mk = (policy: string, seed = 1): string[] => {
      const w = makeWorld({ seed, corefile: `.:53 {\n  forward . 192.168.4.1 192.168.4.2 192.168.4.3 {\n    policy ${policy}\n  }\n}\n` });
      const seen: string[] = [];
      for (const ip of ['192.168.4.2', '192.168.4.3']) w.net.serve(ip, 53, (b, f, reply) => {
        seen.push(ip);
        w.upstream.handle(b, f, reply);
      });
      w.net.serve(UPSTREAM_IP, 53, (b, f, reply) => {
        seen.push(UPSTREAM_IP);
        w.upstream.handle(b, f, reply);
      });
      for (let i = 0; i < 6; i++) ask(w, `n${i}.example.com`, 'A');
      return seen;
    };
    expect(mk('sequential')).toEqual(Array(6).fill('192.168.4.1'));
    expect(mk('round_robin')).toEqual(['192.168.4.1', '192.168.4.2', '192.168.4.3', '192.168.4.1', '192.168.4.2', '192.168.4.3']);
    expect(mk('random', 7)).toEqual(mk('random', 7));
    expect(new Set(mk('random', 7)).size).toBeGreaterThan(1);
  });

  it('loop: the startup probe goes upstream once as HINFO <n>.<n>.', () => {
    const w = makeWorld();
    const hinfo = w.upstream.queries.filter((q) => q.question[0]!.type === 'HINFO');
    expect(hinfo).toHaveLength(1);
    expect(hinfo[0]!.question[0]!.name).toMatch(/^\d{1,19}\.\d{1,19}$/);
  });

  it('loop: forwarding to itself is detected and CoreDNS stops', () => {
    const w = makeWorld({ files: { '/etc/resolv.conf': 'nameserver 127.0.0.1\n' } });
    const fatal = w.stdout.find((l) => l.startsWith('[FATAL]'));
    expect(fatal).toMatch(/^\[FATAL\] plugin\/loop: Loop \(127\.0\.0\.1:\d+ -> 127\.0\.0\.1:53\) detected for zone "\.", see https:\/\/coredns\.io\/plugins\/loop#troubleshooting\. Query: "HINFO \d+\.\d+\."$/);
    expect(w.dns.crashed).toBe(true);
    expect(w.dns.httpGet(8080, '/health')).toBeNull();
  });
});

describe('log, prometheus, health, ready', () => {
  it('prints the startup banner: zones per port, the reload SHA512 of the Corefile, the version', async () => {
    const { createHash } = await import('node:crypto');
    const w = makeWorld({ corefile: 'cluster.local:1053 example.org:1053 {\n  kubernetes cluster.local\n  reload\n}\n.:53 {\n  whoami\n}\n' });
    const sha = createHash('sha512').update('cluster.local:1053 example.org:1053 {\n  kubernetes cluster.local\n  reload\n}\n.:53 {\n  whoami\n}\n').digest('hex');
    expect(w.stdout).toEqual(['.:53', 'cluster.local.:1053', 'example.org.:1053', `[INFO] plugin/reload: Running configuration SHA512 = ${sha}`, 'CoreDNS-1.14.7', 'linux/amd64, go1.25.0, 4b26cce']);
  });

  it('log prints the Common Log Format line', () => {
    const w = makeWorld({ corefile: '.:53 {\n  log\n  kubernetes cluster.local\n}\n' });
    ask(w, 'backend-service.k8s.svc.cluster.local', 'A');
    ask(w, 'nope.k8s.svc.cluster.local', 'A');
    expect(w.stdout.slice(0, 3)).toEqual(['.:53', 'CoreDNS-1.14.7', 'linux/amd64, go1.25.0, 4b26cce']);
    expect(w.stdout.slice(3)).toEqual([
      `[INFO] ${CLIENT_IP}:45678 - 4242 "A IN backend-service.k8s.svc.cluster.local. udp 55 false 512" NOERROR qr,aa,rd 108 0s`,
      `[INFO] ${CLIENT_IP}:45678 - 4242 "A IN nope.k8s.svc.cluster.local. udp 44 false 512" NXDOMAIN qr,aa,rd 137 0s`,
    ]);
  });

  it('prometheus counts requests and responses with the plugin that wrote them', () => {
    const w = makeWorld();
    ask(w, 'backend-service.k8s.svc.cluster.local', 'A');
    ask(w, 'backend-service.k8s.svc.cluster.local', 'A');
    ask(w, 'xxx.com', 'AAAA');
    const body = w.dns.httpGet(9153, '/metrics')!.body;
    expect(body).toContain('# TYPE coredns_dns_requests_total counter\n');
    expect(body).toContain('coredns_dns_requests_total{family="1",proto="udp",server="dns://:53",type="A",view="",zone="."} 2\n');
    expect(body).toContain('coredns_dns_responses_total{plugin="kubernetes",rcode="NOERROR",server="dns://:53",view="",zone="."} 1\n');
    expect(body).toContain('coredns_dns_responses_total{plugin="cache",rcode="NOERROR",server="dns://:53",view="",zone="."} 1\n');
    expect(body).toContain('coredns_cache_hits_total{server="dns://:53",type="success",view="",zones="."} 1\n');
    expect(body).toContain('coredns_plugin_enabled{name="kubernetes",server="dns://:53",view="",zone="."} 1\n');
  });

  it('health answers OK on :8080, ready on :8181 waits for the kubernetes store', () => {
    const w = makeWorld();
    expect(w.dns.httpGet(8080, '/health')).toMatchObject({ status: 200, body: 'OK' });
    expect(w.dns.httpGet(8181, '/ready')).toMatchObject({ status: 200, body: 'OK' });
    w.store.synced = false;
    expect(w.dns.httpGet(8181, '/ready')).toMatchObject({ status: 503, body: 'kubernetes' });
    expect(w.stdout[w.stdout.length - 1]).toBe('[INFO] plugin/ready: Plugins not ready: "kubernetes"');
    expect(rcodeName(ask(w, 'nope.k8s.svc.cluster.local', 'A').reply.rcode)).toBe('SERVFAIL');
    expect(w.dns.httpPorts()).toEqual([8080, 8181, 9153]);
  });

  it('SIGTERM: ready closes at once, health stays OK and DNS answers through the 5 s lameduck, then all stops', () => {
    const w = makeWorld({ corefile: KUBEADM_COREFILE });
    w.stdout.length = 0;
    let exited = false;
    const t0 = w.eq.now;
    w.dns.sigterm(() => (exited = true));
    expect(w.stdout).toEqual(['[INFO] SIGTERM: Shutting down servers then terminating', '[INFO] plugin/health: Going into lameduck mode for 5s']);
    expect(w.dns.httpGet(8181, '/ready')).toBeNull();
    expect(w.dns.httpGet(8080, '/health')).toMatchObject({ status: 200 });
    expect(ask(w, 'backend-service.k8s.svc.cluster.local', 'A').reply.answer).toHaveLength(1);
    advance(w, 5);
    expect(exited).toBe(true);
    expect(w.eq.now - t0).toBeGreaterThanOrEqual(seconds(5));
    expect(w.dns.httpGet(8080, '/health')).toBeNull();
    expect(() => ask(w, 'backend-service.k8s.svc.cluster.local', 'A')).toThrow(/no reply/);
  });

  it('the SOA serial is the time of the last Service/EndpointSlice/Namespace change', () => {
    const w = makeWorld();
    advance(w, 100);
    w.store.upsert({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'late' } });
    const soa = ask(w, 'cluster.local', 'SOA').reply.answer[0]!;
    const changedAt = EPOCH + Math.floor(w.eq.now / 1e9);
    expect(changedAt).toBeGreaterThanOrEqual(EPOCH + 100);
    expect((soa.data as { serial: number }).serial).toBe(changedAt);
  });
});

describe('rewrite, bufsize, whoami', () => {
  it('rewrites the question, restores it in the reply, and reverts answer names for exact rules', () => {
    const w = makeWorld({ corefile: '.:53 {\n  rewrite name exact db.example.com backend-service.k8s.svc.cluster.local\n  rewrite name suffix .corp.internal .svc.cluster.local answer auto\n  kubernetes cluster.local\n}\n' });
    const r = ask(w, 'db.example.com', 'A').reply;
    expect(r.question[0]!.name).toBe('db.example.com');
    expect(r.answer.map((a) => [a.name, a.data])).toEqual([['db.example.com', '10.43.199.15']]);
    const s = ask(w, 'backend-service.k8s.corp.internal', 'A').reply;
    expect(s.answer.map((a) => [a.name, a.data])).toEqual([['backend-service.k8s.corp.internal', '10.43.199.15']]);
  });

  it('bufsize lowers the advertised EDNS size, which the reply then echoes', () => {
    const w = makeWorld({ corefile: '.:53 {\n  bufsize 1232\n  kubernetes cluster.local\n}\n' });
    const r = ask(w, 'backend-service.k8s.svc.cluster.local', 'A', { edns: { udpSize: 4096, do: false, version: 0, extRcode: 0, options: [] } }).reply;
    expect(r.edns?.udpSize).toBe(1232);
  });

  it('whoami reports the client address and port', () => {
    const w = makeWorld({ corefile: '.:53 {\n  whoami\n}\n' });
    const r = ask(w, 'example.org', 'A').reply;
    expect(r.extra.map((x) => [x.name, x.type, x.data])).toEqual([
      ['example.org', 'A', CLIENT_IP],
      ['_udp.example.org', 'SRV', { priority: 0, weight: 0, port: 45678, target: '.' }],
    ]);
  });

  it('bad bytes never crash the server: a short datagram is dropped, a bad body gets FORMERR', () => {
    const w = makeWorld();
    const out: Uint8Array[] = [];
    w.dns.handleDatagram(53, new Uint8Array([1, 2, 3]), { addr: CLIENT_IP, port: 1 }, { addr: '10.43.0.10', port: 53 }, (b) => out.push(b));
    w.dns.handleDatagram(53, new Uint8Array([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63]), { addr: CLIENT_IP, port: 1 }, { addr: '10.43.0.10', port: 53 }, (b) => out.push(b));
    w.eq.run();
    expect(out).toHaveLength(1);
    expect([...out[0]!]).toEqual([0x12, 0x34, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('server-level errors', () => {
  it('a query outside every block is REFUSED and counted under zone "dropped"', () => {
    const w = makeWorld({ corefile: 'cluster.local:53 {\n  prometheus :9153\n  kubernetes\n}\n' });
    expect(rcodeName(ask(w, 'xxx.com', 'A').reply.rcode)).toBe('REFUSED');
    const body = w.dns.httpGet(9153, '/metrics')!.body;
    expect(body).toContain('coredns_dns_requests_total{family="1",proto="udp",server="dns://:53",type="A",view="",zone="dropped"} 1\n');
    expect(body).toContain('coredns_dns_responses_total{plugin="",rcode="REFUSED",server="dns://:53",view="",zone="dropped"} 1\n');
  });
  it('EDNS version 1 gets BADVERS with an OPT', () => {
    const w = makeWorld();
    const r = ask(w, 'backend-service.k8s.svc.cluster.local', 'A', { edns: { udpSize: 1232, do: false, version: 1, extRcode: 0, options: [] } }).reply;
    expect(rcodeName(r.rcode)).toBe('BADVERS');
    expect(r.edns).toMatchObject({ version: 0, udpSize: 0 });
    expect(r.question[0]!.name).toBe('backend-service.k8s.svc.cluster.local');
  });
});

describe('kubernetes pods modes and options', () => {
  const mode = (m: string, name: string): string => {
    const w = makeWorld({ corefile: `.:53 {\n  kubernetes cluster.local {\n    pods ${m}\n  }\n}\n` });
    const r = ask(w, name, 'A').reply;
    return `${rcodeName(r.rcode)} ${r.answer.map((a) => a.data).join(',')}`.trim();
  };
  it('verified answers only for a pod with that IP in that namespace; disabled never', () => {
    expect(mode('verified', '10-42-4-15.k8s.pod.cluster.local')).toBe('NOERROR 10.42.4.15');
    expect(mode('verified', '1-2-3-4.k8s.pod.cluster.local')).toBe('NXDOMAIN');
    expect(mode('verified', '10-42-4-15.default.pod.cluster.local')).toBe('NXDOMAIN');
    expect(mode('disabled', '10-42-4-15.k8s.pod.cluster.local')).toBe('NXDOMAIN');
    expect(mode('insecure', '10-42-4-15.default.pod.cluster.local')).toBe('NOERROR 10.42.4.15');
  });
  it('ttl sets every record and the SOA minimum; the SOA TTL is capped at 300', () => {
    const w = makeWorld({ corefile: '.:53 {\n  kubernetes cluster.local {\n    ttl 600\n  }\n}\n' });
    expect(ask(w, 'backend-service.k8s.svc.cluster.local', 'A').reply.answer[0]!.ttl).toBe(600);
    const soa = ask(w, 'nope.k8s.svc.cluster.local', 'A').reply.ns[0]!;
    expect(soa.ttl).toBe(300);
    expect((soa.data as { minimum: number }).minimum).toBe(600);
  });
  it('namespaces limits the exposed namespaces; endpoint_pod_names names endpoints by pod', () => {
    const w = makeWorld({ corefile: '.:53 {\n  kubernetes cluster.local {\n    namespaces k8s\n    endpoint_pod_names\n  }\n}\n' });
    expect(rcodeName(ask(w, 'clickhouse-service.clickhouse.svc.cluster.local', 'A').reply.rcode)).toBe('NXDOMAIN');
    expect(ask(w, 'backend-service-555d6684b5-abcde.backend-service.k8s.svc.cluster.local', 'A').reply.answer[0]!.data).toBe('10.42.0.134');
  });
  it('without fallthrough, an unknown PTR is NXDOMAIN with the in-addr.arpa SOA', () => {
    const w = makeWorld({ corefile: '.:53 {\n  kubernetes cluster.local in-addr.arpa\n  forward . 192.168.4.1\n}\n' });
    const r = ask(w, '9.9.9.10.in-addr.arpa', 'PTR').reply;
    expect(rcodeName(r.rcode)).toBe('NXDOMAIN');
    expect(r.ns[0]!.name).toBe('in-addr.arpa');
    expect((r.ns[0]!.data as { mname: string }).mname).toBe('ns.dns.in-addr.arpa');
  });
  it('ignore empty_service: a ClusterIP Service without ready endpoints is NXDOMAIN', () => {
    const objs = [
      { apiVersion: 'v1' as const, kind: 'Service' as const, metadata: { name: 'lonely', namespace: 'k8s' }, spec: { clusterIP: '10.43.9.9', ports: [{ port: 80 }] } },
    ];
    const on = makeWorld({ corefile: '.:53 {\n  kubernetes cluster.local {\n    ignore empty_service\n  }\n}\n', objects: [...fixtureObjects(), ...objs] });
    const off = makeWorld({ corefile: '.:53 {\n  kubernetes cluster.local\n}\n', objects: [...fixtureObjects(), ...objs] });
    expect(rcodeName(ask(on, 'lonely.k8s.svc.cluster.local', 'A').reply.rcode)).toBe('NXDOMAIN');
    expect(ask(off, 'lonely.k8s.svc.cluster.local', 'A').reply.answer[0]!.data).toBe('10.43.9.9');
    expect(ask(on, 'backend-service.k8s.svc.cluster.local', 'A').reply.answer[0]!.data).toBe('10.43.199.15');
  });
});

describe('message acceptance (miekg DefaultMsgAcceptFunc)', () => {
  const send = (w: World, m: import('../../../src/apps/coredns/dns/message.js').Msg): import('../../../src/apps/coredns/dns/message.js').Msg => {
    let out: Uint8Array | null = null;
    w.dns.handleDatagram(53, encodeMsg(m), { addr: CLIENT_IP, port: 1 }, { addr: '10.43.0.10', port: 53 }, (b) => (out = b));
    w.eq.run();
    return decodeMsg(out!);
  };
  it('two questions: FORMERR echoing the request; UPDATE: NOTIMP', () => {
    const w = makeWorld();
    const q = newQuery(7, 'a.example', 'A');
    q.question.push({ name: 'b.example', type: 'A', class: 'IN' });
    const r = send(w, q);
    expect([r.qr, r.rd, r.aa, rcodeName(r.rcode), r.question.length]).toEqual([true, true, false, 'FORMERR', 2]);
    const u = newQuery(8, 'example', 'SOA');
    u.opcode = 5;
    const ru = send(w, u);
    expect([rcodeName(ru.rcode), ru.opcode]).toEqual(['NOTIMP', 5]);
  });
});

describe('trace text', () => {
  it('one line per plugin and per answer', async () => {
    const { formatDnsEvent } = await import('../../../src/apps/coredns/trace.js');
    const w = makeWorld();
    w.trace.clear();
    ask(w, 'xxx.com', 'A');
    ask(w, 'xxx.com', 'A');
    const lines = w.trace.events.map(formatDnsEvent);
    const where = 'coredns[192.168.4.86/coredns-68c65cb45-9hxdn]';
    expect(lines).toContain(`${where} cache: miss`);
    expect(lines).toContain(`${where} forward: 192.168.4.1:53 udp, attempt 1 -> NOERROR`);
    expect(lines).toContain(`${where} cache: hit (success, ttl 30)`);
    expect(lines.filter((l) => l.startsWith(`${where} answered A xxx.com. NOERROR by`))).toEqual([
      `${where} answered A xxx.com. NOERROR by forward for 10.42.4.15:45678`,
      `${where} answered A xxx.com. NOERROR by cache for 10.42.4.15:45678`,
    ]);
  });
});
