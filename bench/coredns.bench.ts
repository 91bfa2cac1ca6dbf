// Queries per second through the CoreDNS plugin chain of seed 000's Corefile: a kubernetes
// answer (cache disabled for it), a cache hit, and an NXDOMAIN; plus the wire encode/decode.
import { Bench } from 'tinybench';
import { CoreDns } from '../src/apps/coredns/server.js';
import { decodeMsg, encodeMsg, newQuery } from '../src/apps/coredns/dns/message.js';
import { KubeStore } from '../src/apps/coredns/plugins/kubernetes/store.js';
import { Registry } from '../src/apps/coredns/plugins/prometheus/registry.js';
import { EventQueue } from '../src/sim/event-queue.js';
import { Random } from '../src/sim/random.js';
import { fixtureObjects, SEED_COREFILE } from '../test/apps/coredns/fixture.js';

function server(corefile: string): { dns: CoreDns; eq: EventQueue; handlers: number } {
  const eq = new EventQueue();
  const store = new KubeStore(() => 1722443956 + eq.now / 1e9);
  for (const o of fixtureObjects()) store.upsert(o);
  const dns = CoreDns.load(corefile, {
    eq,
    rng: new Random(1),
    trace: null,
    node: 'n',
    netns: 'coredns',
    epochSeconds: 1722443956,
    files: { '/etc/resolv.conf': 'nameserver 192.168.4.1\n', '/etc/add_hosts': '' },
    k8s: store,
    net: null,
    localIPs: ['10.42.1.5'],
    stdout: () => {},
    metrics: new Registry(),
  });
  return { dns, eq, handlers: dns.configs(53)[0]!.handlers.length };
}

export async function run(): Promise<void> {
  // No cache for cluster.local, so every query runs the kubernetes plugin (kubeadm's newer default).
  const nocache = server(SEED_COREFILE.replace('cache 30', 'cache 30 {\n      disable success cluster.local\n      disable denial cluster.local\n    }'));
  const seed = server(SEED_COREFILE);
  const remote = { addr: '10.42.4.15', port: 45678 };
  const local = { addr: '10.43.0.10', port: 53 };
  const q = (name: string, type = 'A'): Uint8Array => encodeMsg(newQuery(4242, name, type));
  const qk = q('backend-service.k8s.svc.cluster.local');
  const qh = q('clickhouse-service.clickhouse.svc.cluster.local');
  const qs = q('_tcp._tcp.clickhouse-service.clickhouse.svc.cluster.local', 'SRV');
  const qn = q('nope.k8s.svc.cluster.local');
  let replies = 0;
  const sink = (): void => {
    replies++;
  };
  // warm the cache of the seed server
  seed.dns.handleDatagram(53, qk, remote, local, sink);
  const bench = new Bench({ time: 500 });
  bench
    .add('kubernetes ClusterIP A (no cache)', () => nocache.dns.handleDatagram(53, qk, remote, local, sink))
    .add('kubernetes headless A, 6 endpoints (no cache)', () => nocache.dns.handleDatagram(53, qh, remote, local, sink))
    .add('kubernetes headless SRV, 6x2 (no cache)', () => nocache.dns.handleDatagram(53, qs, remote, local, sink))
    .add('kubernetes NXDOMAIN (no cache)', () => nocache.dns.handleDatagram(53, qn, remote, local, sink))
    .add('cache hit (seed Corefile)', () => seed.dns.handleDatagram(53, qk, remote, local, sink))
    .add('decode+encode a query', () => encodeMsg(decodeMsg(qk)));
  await bench.run();
  console.table(
    bench.tasks.map((t) => {
      const r = t.result as { latency?: { mean?: number; p50?: number } } | undefined;
      const meanUs = (r?.latency?.mean ?? 0) * 1000;
      const p50Us = (r?.latency?.p50 ?? 0) * 1000;
      return { task: t.name, 'mean µs': +meanUs.toFixed(2), 'p50 µs': +p50Us.toFixed(2), 'queries/s (1/mean)': Math.round(1e6 / meanUs) };
    }),
  );
  // Sustained rate over a burst (GC included), the number to compare with a real CoreDNS.
  const burst = (label: string, f: () => void, n = 20000): void => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    const ms = performance.now() - t0;
    console.log(`${label}: ${n} queries in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)} queries/s`);
  };
  burst('sustained kubernetes ClusterIP A (no cache)', () => nocache.dns.handleDatagram(53, qk, remote, local, sink));
  burst('sustained cache hit', () => seed.dns.handleDatagram(53, qk, remote, local, sink));
  console.log(`chain length: ${seed.handlers} handlers; replies written: ${replies}`);
}
