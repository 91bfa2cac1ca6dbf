// scenarios/ingress-paths.yaml through the whole dataplane: laptop -> outside DNS -> L4 LB ->
// NodePort -> ingress-nginx -> backend pod. Which location ingress-nginx chose for each path
// (Exact before Prefix, longest prefix, Prefix element-wise), the proxy headers the backend
// received, and where the upstream connection went with and without service-upstream.
import { describe, expect, it } from 'vitest';
import type { IngressDecision, IngressTraceEvent } from '../../src/apps/ingress/trace.js';
import { resolvePlace } from '../../src/scenario/endpoints.js';
import { readFileSync } from 'node:fs';
import { loadScenarioFile, loadScenarioText } from '../../src/scenario/load.js';
import { startRuntime, type Runtime } from '../../src/scenario/runtime.js';
import { resolveTarget, runExchange, type ExchangeResult } from '../../src/scenario/trace/exchange.js';
import { traceJson } from '../../src/scenario/trace/json.js';
import type { TraceEventBase } from '../../src/sim/trace.js';
import { headerLines, streamText, syns, tcpSegments } from '../k8s/dataplane/frames.js';

const FILE = new URL('../../scenarios/ingress-paths.yaml', import.meta.url).pathname;
const LAPTOP = '192.168.10.200';
const LB = '192.168.10.100';

function events(r: ExchangeResult): TraceEventBase[] {
  return r.steps.flatMap((s) => (s.type === 'event' ? [s.event] : []));
}

function decisionOf(r: ExchangeResult): IngressDecision {
  const ds = events(r).filter((e): e is IngressTraceEvent => e.kind === 'ingress-nginx');
  expect(ds).toHaveLength(1);
  return ds[0]!.decision;
}

function get(rt: Runtime, url: string): ExchangeResult {
  return runExchange(rt, resolvePlace(rt, 'host/laptop'), resolveTarget(rt, url), 'tcp');
}

function podOf(rt: Runtime, ip: string): { name: string; netns: string; node: string; app: string } {
  for (const p of rt.world.pods.values()) {
    if (p.pod.status?.podIP === ip && !p.pod.spec.hostNetwork) return { name: p.pod.metadata.name, netns: p.netns.netns, node: p.node.name, app: p.pod.metadata.labels?.app ?? '' };
  }
  throw new Error(`no pod ${ip}`);
}

/** The ingress-nginx controller pod (the scenario has one, on node-a). */
function ingressPod(rt: Runtime): { netns: string; node: string; ip: string } {
  const ps = [...rt.world.pods.values()].filter((p) => p.pod.metadata.namespace === 'ingress-nginx');
  expect(ps).toHaveLength(1);
  return { netns: ps[0]!.netns.netns, node: ps[0]!.node.name, ip: ps[0]!.pod.status!.podIP! };
}

describe('ingress-paths: /api (Prefix) and /api/v1 (Exact) on api.example.com', () => {
  const rt = startRuntime(loadScenarioFile(FILE));
  // What ingress-nginx renders: `location = /api/v1`, `location /api/` + `location = /api`
  // for the Prefix without a trailing slash, and the server's `location /` to the default
  // backend. nginx takes an exact (=) location first, else the longest prefix.
  const cases = [
    { path: '/api/v1', location: 'location = /api/v1', how: 'exact', also: ['location /api/', 'location /'], app: 'api-v1' },
    { path: '/api/v1/x', location: 'location /api/', how: 'longest-prefix', also: ['location /'], app: 'api' },
    // Exact is the whole path: a trailing slash is another path.
    { path: '/api/v1/', location: 'location /api/', how: 'longest-prefix', also: ['location /'], app: 'api' },
    { path: '/api', location: 'location = /api', how: 'exact', also: ['location /'], app: 'api' },
    { path: '/api/foo', location: 'location /api/', how: 'longest-prefix', also: ['location /'], app: 'api' },
  ] as const;

  for (const c of cases) {
    it(`${c.path} -> ${c.location} (${c.how}) -> Service ${c.app}, answered by one of its pods`, () => {
      const r = get(rt, `http://api.example.com${c.path}`);
      expect(r.delivered).toBe(true);
      expect(r.lookup?.addresses).toContain(LB);
      const d = decisionOf(r);
      expect(d.server).toBe('api.example.com');
      expect(d.location).toBe(c.location);
      expect(d.locationMatch).toBe(c.how);
      expect(d.alsoMatched).toEqual(c.also);
      expect(d.ingress).toBe('default/api');
      expect(d.service).toBe(`default/${c.app}`);
      expect(d.status).toBe(200);
      // The upstream is a pod of that Service, and that pod answered.
      expect(d.attempts).toHaveLength(1);
      const pod = podOf(rt, d.attempts[0]!.endpoint.split(':')[0]!);
      expect(pod.app).toBe(c.app);
      expect(r.response).toBe(`HTTP/1.1 200 OK | Hostname: ${pod.name}`);
      // The --json trace names the matched rule and where it went.
      const json = traceJson(r).decisions as Record<string, unknown>[];
      expect(json.filter((e) => e.kind === 'ingress-nginx')).toEqual([
        expect.objectContaining({ step: 'proxy_pass', verdict: '200', rule: `api.example.com ${c.location} (${c.how})`, ingress: 'default/api', service: `default/${c.app}`, upstream: d.attempts[0]!.endpoint }),
      ]);
    });
  }

  it('/apix matches no Prefix (element-wise): the server\'s location / sends it to the default backend, 404', () => {
    const r = get(rt, 'http://api.example.com/apix');
    expect(r.delivered).toBe(true);
    expect(r.response).toMatch(/^HTTP\/1\.1 404 Not Found \| <html>/);
    const d = decisionOf(r);
    expect(d.location).toBe('location /');
    expect(d.alsoMatched).toEqual([]);
    expect(d.service).toBeNull();
    expect(d.backend).toBe('upstream-default-backend');
    expect(d.attempts.map((a) => a.endpoint)).toEqual(['127.0.0.1:8181']);
    expect(d.status).toBe(404);
  });

  it('the backend saw the proxy headers nginx.tmpl sets, X-Forwarded-For / X-Real-IP = the TCP peer nginx had', () => {
    const ing = ingressPod(rt);
    for (const path of ['/api/v1', '/api/foo', '/api']) {
      const r = get(rt, `http://api.example.com${path}`);
      const d = decisionOf(r);
      const segs = tcpSegments(r);
      // The address the ingress pod's nginx accepted from: the SYN arriving on its eth0.
      const inSyn = syns(segs, ing.netns, 'in');
      expect(inSyn).toHaveLength(1);
      const peer = inSyn[0]!.src;
      expect(d.client).toBe(`${peer}:${inSyn[0]!.sport}`);
      // Two proxies and kube-proxy's NodePort masquerade in between: neither the laptop nor the LB.
      expect(peer).not.toBe(LAPTOP);
      expect(peer).not.toBe(LB);
      // The request as it arrived at the backend pod's eth0, and the echo of it.
      const [upAddr, upPort] = d.attempts[0]!.endpoint.split(':') as [string, string];
      const be = podOf(rt, upAddr);
      const atBackend = streamText(segs, (s) => s.netns === be.netns && s.direction === 'in' && s.dst === upAddr && s.dport === Number(upPort));
      expect(atBackend.startsWith(`GET ${path} HTTP/1.1\r\n`)).toBe(true);
      // ingress-nginx v1.x location block order, upstream-keepalive-connections 0 (Connection: close),
      // then the client's own headers (curl's User-Agent and Accept); Host is $best_http_host.
      expect(headerLines(atBackend)).toEqual([
        'Host: api.example.com',
        'Connection: close',
        `X-Request-ID: ${d.requestId}`,
        `X-Real-IP: ${peer}`,
        `X-Forwarded-For: ${peer}`,
        'X-Forwarded-Host: api.example.com',
        'X-Forwarded-Port: 80',
        'X-Forwarded-Proto: http',
        'X-Forwarded-Scheme: http',
        'X-Scheme: http',
        'User-Agent: curl/8.5.0',
        'Accept: */*',
      ]);
      expect(d.requestId).toMatch(/^[0-9a-f]{32}$/);
      // The echo's body names what it saw: the same headers, and nginx's own address as peer.
      const fromBackend = streamText(segs, (s) => s.netns === be.netns && s.direction === 'out' && s.src === upAddr && s.sport === Number(upPort));
      const body = fromBackend.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      expect(body).toContain(`\nRemoteAddr: ${d.attempts[0]!.local}\n`);
      expect(body).toContain(`\nX-Forwarded-For: ${peer}\nX-Forwarded-Host: api.example.com\nX-Forwarded-Port: 80\nX-Forwarded-Proto: http\n`);
      expect(body).toContain(`\nX-Real-IP: ${peer}\n`);
    }
  });
});

for (const mode of ['ipvs', 'iptables'] as const) {
  describe(`ingress-paths upstreams, kube-proxy ${mode} mode`, () => {
    const rt = startRuntime(loadScenarioFile(FILE, [`kubeProxy.mode=${mode}`]));
    const ing = ingressPod(rt);
    const clusterIP = (name: string): string => rt.state.services.find((s) => s.metadata.namespace === 'default' && s.metadata.name === name)!.spec.clusterIP!;

    /** DNATs done on the ingress node whose original destination was `dialed`. */
    const dnatsOf = (r: ExchangeResult, dialed: string): { to: string; how: string }[] => {
      const out: { to: string; how: string }[] = [];
      for (const e of events(r)) {
        if (e.node !== ing.node || e.netns !== 'root') continue;
        const x = e as TraceEventBase & { manip?: string; how?: string; from?: string; to?: string; direction?: string; text?: string };
        if (x.kind === 'nf.nat' && x.manip === 'DNAT' && x.how === 'apply' && x.from === dialed) out.push({ to: x.to!, how: 'nf.nat' });
        if (x.kind === 'ipvs.nat' && x.direction === 'dnat' && x.text?.startsWith(`DNAT ${dialed} -> `)) out.push({ to: x.text.slice(`DNAT ${dialed} -> `.length), how: 'ipvs' });
      }
      return out;
    };

    it('service-upstream "true": nginx connects to the ClusterIP; kube-proxy on the ingress node translates it to a web pod', () => {
      const r = get(rt, 'http://su.example.com/');
      expect(r.delivered).toBe(true);
      const d = decisionOf(r);
      expect(d.ingress).toBe('default/web');
      const vip = `${clusterIP('web')}:80`;
      expect(d.attempts.map((a) => a.endpoint)).toEqual([vip]);
      // The SYN leaves the ingress pod for the ClusterIP ...
      const segs = tcpSegments(r);
      const out = syns(segs, ing.netns, 'out');
      expect(out.map((s) => `${s.dst}:${s.dport}`)).toEqual([vip]);
      // ... and the ingress node rewrites it: iptables' KUBE-SEP DNAT or the IPVS choice.
      const nat = dnatsOf(r, vip);
      expect(nat.length).toBeGreaterThan(0);
      expect(new Set(nat.map((n) => n.how))).toEqual(new Set([mode === 'ipvs' ? 'ipvs' : 'nf.nat']));
      const backend = nat[0]!.to;
      expect(new Set(nat.map((n) => n.to))).toEqual(new Set([backend]));
      const pod = podOf(rt, backend.split(':')[0]!);
      expect(pod.app).toBe('web');
      expect(backend.endsWith(':8080')).toBe(true);
      expect(r.response).toBe(`HTTP/1.1 200 OK | Hostname: ${pod.name}`);
      // The backend pod itself sees the translated destination and the ingress pod's address.
      const atPod = syns(segs, pod.netns, 'in');
      expect(atPod.map((s) => `${s.src}>${s.dst}:${s.dport}`)).toEqual([`${ing.ip}>${backend}`]);
      if (mode === 'iptables') {
        // The nat rule that chose it: a KUBE-SEP chain's DNAT on the ingress node.
        const rules = events(r).filter((e) => {
          const x = e as TraceEventBase & { table?: string; chain?: string; rule?: string; matched?: boolean };
          return e.node === ing.node && x.kind === 'nf.rule' && x.table === 'nat' && x.matched === true && x.chain?.startsWith('KUBE-SEP-') && x.rule?.includes(`-j DNAT --to-destination ${backend}`);
        });
        expect(rules).toHaveLength(1);
      }
    });

    it('without the annotation: nginx connects straight to a pod IP and nothing translates that connection', () => {
      const r = get(rt, 'http://api.example.com/api/foo');
      const d = decisionOf(r);
      const ep = d.attempts[0]!.endpoint;
      const pod = podOf(rt, ep.split(':')[0]!);
      expect(pod.app).toBe('api');
      const segs = tcpSegments(r);
      expect(syns(segs, ing.netns, 'out').map((s) => `${s.dst}:${s.dport}`)).toEqual([ep]);
      expect(syns(segs, pod.netns, 'in').map((s) => `${s.src}>${s.dst}:${s.dport}`)).toEqual([`${ing.ip}>${ep}`]);
      // No DNAT anywhere for the pod address, and none of a ClusterIP toward it.
      for (const e of events(r)) {
        const x = e as TraceEventBase & { manip?: string; how?: string; from?: string; to?: string; direction?: string; text?: string };
        if (x.kind === 'nf.nat' && x.manip === 'DNAT' && x.how === 'apply') expect([x.from, x.to]).not.toContain(ep);
        if (x.kind === 'ipvs.nat' && x.direction === 'dnat') expect(x.text).not.toContain(ep);
      }
      expect(dnatsOf(r, `${clusterIP('api')}:80`)).toEqual([]);
    });
  });
}

describe('ingress-paths behind a source-preserving LB (mode dnat)', () => {
  const text = (etp: 'Cluster' | 'Local'): string => readFileSync(FILE, 'utf8').replace(/^ {2}externalTrafficPolicy: Cluster$/m, `  externalTrafficPolicy: ${etp}`);
  const headersAtBackend = (rt: Runtime, r: ExchangeResult): string[] => {
    const d = decisionOf(r);
    const [addr, port] = d.attempts[0]!.endpoint.split(':') as [string, string];
    const be = podOf(rt, addr);
    return headerLines(streamText(tcpSegments(r), (s) => s.netns === be.netns && s.direction === 'in' && s.dst === addr && s.dport === Number(port)));
  };

  for (const mode of ['ipvs', 'iptables'] as const) {
    it(`externalTrafficPolicy Local, kube-proxy ${mode}: only node-a is a target and X-Forwarded-For / X-Real-IP are the laptop`, () => {
      const rt = startRuntime(loadScenarioText('ingress-paths.yaml', text('Local'), [`kubeProxy.mode=${mode}`, 'externalHosts[1].loadBalancer.mode=dnat']));
      expect(rt.dnatLoadBalancers.get('lb')!.listeners[0]!.targets.map((t) => t.node)).toEqual(['node-a']);
      for (const path of ['/api/v1', '/api/foo']) {
        const r = get(rt, `http://api.example.com${path}`);
        expect(r.delivered).toBe(true);
        expect(decisionOf(r).client.split(':')[0]).toBe(LAPTOP);
        const hs = headersAtBackend(rt, r);
        expect(hs).toContain(`X-Real-IP: ${LAPTOP}`);
        expect(hs).toContain(`X-Forwarded-For: ${LAPTOP}`);
      }
    });
  }

  it('externalTrafficPolicy Cluster: the same LB mode, but kube-proxy masquerades: X-Forwarded-For is a node address', () => {
    const rt = startRuntime(loadScenarioText('ingress-paths.yaml', text('Cluster'), ['externalHosts[1].loadBalancer.mode=dnat']));
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = get(rt, 'http://api.example.com/api');
      const peer = decisionOf(r).client.split(':')[0]!;
      expect(peer).not.toBe(LAPTOP);
      expect(headersAtBackend(rt, r)).toContain(`X-Forwarded-For: ${peer}`);
      seen.add(peer);
    }
    // Round robin over the three nodes: each masquerades to its own address.
    expect(seen.size).toBe(3);
  });
});
