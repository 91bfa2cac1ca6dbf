// Whole-output goldens of what a CoreDNS pod prints: its log lines (log + errors plugins)
// and its /metrics page, after a fixed series of queries; plus wire sizes from the reference.
import { describe, expect, it } from 'vitest';
import { seconds } from '../../../src/sim/clock.js';
import type { Namespace, Service, EndpointSlice } from '../../../src/k8s/api/types.js';
import { KUBEADM_COREFILE } from '../../../src/apps/coredns/server.js';
import { ask, fixtureObjects, makeWorld } from './fixture.js';

const QUERIES: [string, string][] = [
  ['backend-service.k8s.svc.cluster.local', 'A'],
  ['backend-service.k8s.svc.cluster.local', 'AAAA'],
  ['backend-service.k8s.svc.cluster.local', 'A'],
  ['clickhouse-service.clickhouse.svc.cluster.local', 'A'],
  ['xxx.com.k8s.svc.cluster.local', 'A'],
  ['xxx.com', 'A'],
  ['xxx.com', 'A'],
  ['9.9.9.10.in-addr.arpa', 'PTR'],
  ['_http._tcp.clickhouse-service.clickhouse.svc.cluster.local', 'SRV'],
];

describe('CoreDNS output goldens', () => {
  it('log and errors lines of the kubeadm Corefile with log added', async () => {
    const w = makeWorld({ corefile: KUBEADM_COREFILE.replace('    errors\n', '    errors\n    log\n') });
    for (const [n, t] of QUERIES) {
      ask(w, n, t);
      const t1 = w.eq.now + seconds(1);
      w.eq.at(t1, () => {});
      w.eq.run(t1);
    }
    w.upstream.alive = false;
    ask(w, 'down.example.com', 'A');
    await expect(`${w.stdout.join('\n')}\n`).toMatchFileSnapshot('../../golden/coredns/kubeadm-log.txt');
  });

  it('/metrics after the same queries (seed Corefile)', async () => {
    const w = makeWorld();
    for (const [n, t] of QUERIES) ask(w, n, t);
    const m = w.dns.httpGet(9153, '/metrics')!;
    expect(m.status).toBe(200);
    await expect(m.body).toMatchFileSnapshot('../../golden/coredns/seed-metrics.txt');
  });
});

describe('wire sizes (reference coredns.md section 9, checked with dns-packet)', () => {
  it('default namespace: query 59 B, A reply 116 B, AAAA NODATA 152 B, all uncompressed', () => {
    const objs: (Service | EndpointSlice | Namespace)[] = [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'backend-service', namespace: 'default' }, spec: { clusterIP: '10.43.199.15', ports: [{ port: 18888 }] } },
    ];
    const w = makeWorld({ objects: [...fixtureObjects(), ...objs] });
    const a = ask(w, 'backend-service.default.svc.cluster.local', 'A');
    expect(a.bytes.length).toBe(116);
    const aaaa = ask(w, 'backend-service.default.svc.cluster.local', 'AAAA');
    expect(aaaa.bytes.length).toBe(152);
    const w2 = makeWorld({ corefile: '.:53 {\n  log\n  kubernetes cluster.local\n}\n', objects: [...fixtureObjects(), ...objs] });
    ask(w2, 'backend-service.default.svc.cluster.local', 'A');
    expect(w2.stdout.find((l) => l.startsWith('[INFO] 10.'))).toContain('"A IN backend-service.default.svc.cluster.local. udp 59 false 512" NOERROR qr,aa,rd 116 0s');
  });
});
