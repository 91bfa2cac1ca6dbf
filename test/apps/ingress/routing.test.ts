import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FakeNet, sizes, text } from '../http/fake-net.js';
import { ingress, ingressClass, path, service, slice } from './fixtures.js';
import { IngressNginx } from '../../../src/apps/ingress/nginx.js';
import { buildConfiguration, type IngressInputs } from '../../../src/apps/ingress/model.js';
import { INGRESS_NGINX_DEFAULTS } from '../../../src/apps/ingress/options.js';
import { startEchoServer } from '../../../src/apps/http/echo.js';
import { startDefaultBackend } from '../../../src/apps/http/default-backend.js';
import { curl, parseHttpUrl, type CurlResult, type CurlOptions } from '../../../src/apps/http/curl.js';
import { Random } from '../../../src/sim/random.js';
import { TraceRecorder } from '../../../src/sim/trace.js';
import type { IngressTraceEvent } from '../../../src/apps/ingress/trace.js';
import { parseIpv4 } from '../../../src/wire/ipv4-address.js';

const INGRESS_POD = '10.42.0.5';
const CLIENT = '192.168.4.87';

function inputs(): IngressInputs {
  return {
    ingressClasses: [ingressClass('nginx', { isDefault: true }), ingressClass('other', { controller: 'example.com/other' })],
    services: [
      service('default', 'api', '10.43.10.2', 80, 8080),
      service('default', 'api-v1', '10.43.10.1', 80, 8080),
      service('default', 'empty', '10.43.10.3', 80, 8080),
      service('default', 'web', '10.43.10.4', 80, 8080),
    ],
    endpointSlices: [
      slice('default', 'api', 8080, ['10.42.2.20', '10.42.3.30', { ip: '10.42.3.31', ready: false }]),
      slice('default', 'api-v1', 8080, ['10.42.1.10']),
      slice('default', 'empty', 8080, []),
      slice('default', 'web', 8080, ['10.42.5.50']),
    ],
    ingresses: [
      ingress('default', 'demo', [{ host: 'demo.example.com', paths: [path('/api', 'Prefix', 'api', 80), path('/api/v1', 'Exact', 'api-v1', 80)] }]),
      ingress('default', 'wild', [{ host: '*.example.com', paths: [path('/', 'Prefix', 'api-v1', 80)] }]),
      ingress('default', 'empty', [{ host: 'empty.example.com', paths: [path('/', 'Prefix', 'empty', 80)] }]),
      ingress('default', 'su', [{ host: 'su.example.com', paths: [path('/', 'Prefix', 'web', 80)] }], { annotations: { 'nginx.ingress.kubernetes.io/service-upstream': 'true' } }),
      ingress('default', 'rw', [{ host: 'rw.example.com', paths: [path('/something(/|$)(.*)', 'ImplementationSpecific', 'api', 80)] }], {
        annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' },
      }),
      ingress('default', 'foreign', [{ host: 'foreign.example.com', paths: [path('/', 'Prefix', 'api', 80)] }], { className: 'other' }),
    ],
  };
}

function cluster(chunk = sizes(1000)) {
  const net = new FakeNet({ chunker: chunk });
  const trace = new TraceRecorder<IngressTraceEvent>();
  const pod = net.host(INGRESS_POD);
  const nginx = new IngressNginx({ listener: pod.listener, connector: pod.connector, clock: net.clock, rng: new Random(7), trace, node: '192.168.4.88', netns: 'ingress-nginx/nginx-ingress-controller-7p6wd' });
  nginx.sync(inputs());
  nginx.start();
  for (const ip of ['10.42.2.20', '10.42.3.30', '10.42.3.31', '10.42.1.10']) startEchoServer(net.host(ip).listener, 8080, { name: `pod-${ip}`, ip: parseIpv4(ip), clock: net.clock });
  const get = (url: string, opts: CurlOptions = {}): CurlResult => {
    let r: CurlResult | null = null;
    curl(net.host(CLIENT).connector, parseIpv4(INGRESS_POD), parseHttpUrl(url), (x) => (r = x), opts);
    net.run();
    return r!;
  };
  return { net, nginx, trace, get };
}

const who = (r: CurlResult): string => /Hostname: (\S+)/.exec(text(r.response!.body))?.[1] ?? `status ${r.response?.status}`;

describe('ingress-nginx routing', () => {
  it('builds the location table as the controller renders it', () => {
    const cfg = buildConfiguration(inputs(), INGRESS_NGINX_DEFAULTS);
    const demo = cfg.servers.find((s) => s.hostname === 'demo.example.com')!;
    expect(demo.locations.map((l) => `${l.rendered} -> ${l.backend}`)).toEqual([
      'location = /api/v1 -> default-api-v1-80',
      'location /api/ -> default-api-80',
      'location = /api -> default-api-80',
      'location / -> upstream-default-backend',
    ]);
    expect(cfg.servers.map((s) => s.serverName)).toEqual(['~^(?<subdomain>[\\w-]+)\\.example\\.com$', '_', 'demo.example.com', 'empty.example.com', 'rw.example.com', 'su.example.com']);
    const rw = cfg.servers.find((s) => s.hostname === 'rw.example.com')!;
    expect(rw.locations.map((l) => l.rendered)).toEqual(['location ~* "^/something(/|$)(.*)"', 'location ~* "^/"']);
    expect(cfg.ignored).toEqual([{ ingress: 'default/foreign', why: 'IngressClass other belongs to controller example.com/other' }]);
    expect(cfg.backends.get('default-api-80')!.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual(['10.42.2.20:8080', '10.42.3.30:8080']);
    expect(cfg.backends.get('default-web-80')!.endpoints).toEqual([{ address: '10.43.10.4', port: 80, target: null, nodeName: null }]);
  });

  it('longest match: /api/v1 Exact beats /api Prefix; Prefix is element-wise', () => {
    const { get, nginx } = cluster();
    expect(who(get('http://demo.example.com/api/v1'))).toBe('pod-10.42.1.10');
    expect(nginx.decisions.at(-1)).toMatchObject({ location: 'location = /api/v1', locationMatch: 'exact', alsoMatched: ['location /api/', 'location /'], service: 'default/api-v1' });
    expect(who(get('http://demo.example.com/api/v1/'))).toMatch(/^pod-10\.42\.(2\.20|3\.30)$/);
    expect(nginx.decisions.at(-1)).toMatchObject({ location: 'location /api/', locationMatch: 'longest-prefix' });
    expect(who(get('http://demo.example.com/api'))).toMatch(/^pod-10\.42\.(2\.20|3\.30)$/);
    expect(nginx.decisions.at(-1)!.location).toBe('location = /api');
    const r = get('http://demo.example.com/apix');
    expect(r.response!.status).toBe(404);
    expect(nginx.decisions.at(-1)).toMatchObject({ location: 'location /', backend: 'upstream-default-backend', attempts: [{ endpoint: '127.0.0.1:8181', result: 'ok' }] });
  });

  it('round-robins over the ready endpoints from a seeded start, skipping not-ready ones', () => {
    const { get, nginx } = cluster();
    const seq = [1, 2, 3, 4].map(() => who(get('http://demo.example.com/api/x')));
    expect(new Set(seq)).toEqual(new Set(['pod-10.42.2.20', 'pod-10.42.3.30']));
    expect(seq[0]).not.toBe(seq[1]);
    expect(seq[1]).not.toBe(seq[2]);
    // the same seed picks the same start
    const again = cluster();
    expect(who(again.get('http://demo.example.com/api/x'))).toBe(seq[0]);
    expect(nginx.decisions.every((d) => d.attempts.every((a) => a.endpoint !== '10.42.3.31:8080'))).toBe(true);
  });

  it('wildcard hosts match exactly one label', () => {
    const { get, nginx } = cluster();
    expect(who(get('http://foo.example.com/'))).toBe('pod-10.42.1.10');
    expect(nginx.decisions.at(-1)!.serverMatch).toBe('regex');
    expect(get('http://a.b.example.com/').response!.status).toBe(404);
    expect(nginx.decisions.at(-1)).toMatchObject({ server: '_', serverMatch: 'default' });
    expect(get('http://example.com/').response!.status).toBe(404);
    // exact names win over the wildcard; Host is case-insensitive and the port is ignored
    expect(who(get('http://DEMO.example.com:80/api/v1'))).toBe('pod-10.42.1.10');
  });

  it('default backend 404 and 503 without ready endpoints, with nginx pages', async () => {
    const { get, net, nginx } = cluster();
    const nf = get('http://nobody.test/');
    expect(nf.response!.status).toBe(404);
    await expect(text(net.flowsTo(`${INGRESS_POD}:80`).at(-1)!.s2c)).toMatchFileSnapshot('../../golden/ingress/404-response.txt');
    // nginx proxied the default backend to its own :8181 server over a new connection
    expect(net.flowsTo('127.0.0.1:8181')).toHaveLength(1);
    const su = get('http://empty.example.com/');
    expect(su.response!.status).toBe(503);
    await expect(text(net.flowsTo(`${INGRESS_POD}:80`).at(-1)!.s2c)).toMatchFileSnapshot('../../golden/ingress/503-response.txt');
    expect(nginx.decisions.at(-1)).toMatchObject({ answeredBy: 'nginx', status: 503, backend: 'default-empty-80' });
    expect(nginx.decisions.at(-1)!.why).toContain('does not have any active Endpoint');
  });

  it('service-upstream sends the request to the ClusterIP', () => {
    const { get, nginx, net } = cluster();
    const r = get('http://su.example.com/');
    // nothing listens on the ClusterIP in the fake network: kube-proxy would DNAT it
    expect(r.response!.status).toBe(502);
    expect(nginx.decisions.at(-1)!.attempts.map((a) => a.endpoint)).toEqual(['10.43.10.4:80', '10.43.10.4:80', '10.43.10.4:80']);
    expect(nginx.decisions.at(-1)!.why).toBe('upstream 10.43.10.4:80: connect() failed (ECONNREFUSED)');
    startEchoServer(net.host('10.43.10.4').listener, 80, { name: 'via-kube-proxy', ip: parseIpv4('10.43.10.4'), clock: net.clock });
    expect(who(get('http://su.example.com/'))).toBe('via-kube-proxy');
    // the pod behind it is never contacted directly
    expect(net.flowsTo('10.42.5.50:8080')).toHaveLength(0);
  });

  it('rewrite-target substitutes capture groups into the upstream request-target', () => {
    const { get, nginx } = cluster();
    const r = get('http://rw.example.com/something/new/x?a=1');
    expect(text(r.response!.body)).toContain('GET /new/x?a=1 HTTP/1.1\n');
    expect(nginx.decisions.at(-1)!.rewrite).toEqual({ rule: 'rewrite "(?i)/something(/|$)(.*)" /$2 break;', from: '/something/new/x', to: '/new/x?a=1' });
    expect(text(get('http://rw.example.com/something').response!.body)).toContain('GET / HTTP/1.1\n');
    // case-insensitive regex locations
    expect(text(get('http://rw.example.com/SOMETHING/Up').response!.body)).toContain('GET /Up HTTP/1.1\n');
  });

  it('sets the proxy headers exactly; X-Forwarded-For is the TCP peer unless use-forwarded-headers', async () => {
    const { get, net, trace } = cluster(sizes(7, 13));
    const r = get('http://demo.example.com/api/v1', { headers: [{ name: 'X-Forwarded-For', value: '203.0.113.9' }] });
    const up = net.flowsTo('10.42.1.10:8080').at(-1)!;
    await expect(text(up.c2s)).toMatchFileSnapshot('../../golden/ingress/proxied-request.txt');
    const body = text(r.response!.body);
    expect(body).toContain(`X-Real-IP: ${CLIENT}\nX-Forwarded-For: ${CLIENT}\n`);
    expect(body).toContain('X-Original-Forwarded-For: 203.0.113.9\n');
    expect(body).toContain(`RemoteAddr: ${INGRESS_POD}:`);
    await expect(text(net.flowsTo(`${INGRESS_POD}:80`).at(-1)!.s2c)).toMatchFileSnapshot('../../golden/ingress/proxied-response.txt');
    expect(trace.ofKind('ingress-nginx').at(-1)!.decision.status).toBe(200);

    // use-forwarded-headers + compute-full-forwarded-for append the peer
    const net2 = new FakeNet();
    const pod = net2.host(INGRESS_POD);
    const n2 = new IngressNginx({ listener: pod.listener, connector: pod.connector, clock: net2.clock, rng: new Random(1), trace: null, node: 'n', netns: 'p' }, { useForwardedHeaders: true, computeFullForwardedFor: true });
    n2.sync(inputs());
    n2.start();
    startEchoServer(net2.host('10.42.1.10').listener, 8080, { name: 'v1', ip: parseIpv4('10.42.1.10'), clock: net2.clock });
    let r2: CurlResult | null = null;
    curl(net2.host(CLIENT).connector, parseIpv4(INGRESS_POD), parseHttpUrl('http://demo.example.com/api/v1'), (x) => (r2 = x), { headers: [{ name: 'X-Forwarded-For', value: '203.0.113.9' }] });
    net2.run();
    const b2 = text(r2!.response!.body);
    expect(b2).toContain(`X-Real-IP: 203.0.113.9\nX-Forwarded-For: 203.0.113.9, ${CLIENT}\n`);
  });

  it('keeps upstream connections alive and reuses them; closes idle ones after 60 s', () => {
    const { get, net, nginx } = cluster();
    get('http://demo.example.com/api/v1');
    get('http://demo.example.com/api/v1');
    // net.run() ran past the keepalive timeout, so the pool is empty again
    expect(nginx.idleConnections().get('10.42.1.10:8080') ?? 0).toBe(0);
    const flows = net.flowsTo('10.42.1.10:8080');
    expect(flows).toHaveLength(2);
    expect(nginx.decisions.at(-1)!.attempts[0]!.reused).toBe(false);
  });

  it('ignores Ingresses of other classes and without class when no default exists', () => {
    const i = inputs();
    const cfg = buildConfiguration({ ...i, ingressClasses: [ingressClass('nginx')] }, INGRESS_NGINX_DEFAULTS);
    expect(cfg.servers.map((s) => s.hostname)).toEqual(['_']);
    expect(cfg.ignored.filter((x) => x.why === 'ingress does not contain a valid IngressClass')).toHaveLength(5);
    const watch = buildConfiguration({ ...i, ingressClasses: [] }, { ...INGRESS_NGINX_DEFAULTS, watchIngressWithoutClass: true });
    expect(watch.servers.map((s) => s.hostname)).toContain('demo.example.com');
    const ann = buildConfiguration({ ...i, ingressClasses: [], ingresses: [{ ...i.ingresses[0]!, metadata: { ...i.ingresses[0]!.metadata, annotations: { 'kubernetes.io/ingress.class': 'nginx' } } }] }, INGRESS_NGINX_DEFAULTS);
    expect(ann.servers.map((s) => s.hostname)).toEqual(['_', 'demo.example.com']);
  });

  it('--default-backend-service sends unmatched requests to that Service (the seed\'s default-http-backend)', async () => {
    const net = new FakeNet();
    const pod = net.host(INGRESS_POD);
    const n = new IngressNginx({ listener: pod.listener, connector: pod.connector, clock: net.clock, rng: new Random(3), trace: null, node: 'n', netns: 'p' }, { defaultBackendService: 'ingress-nginx/default-http-backend' });
    const i = inputs();
    n.sync({ ...i, services: [...i.services, service('ingress-nginx', 'default-http-backend', '10.43.0.99', 80, 8080)], endpointSlices: [...i.endpointSlices, slice('ingress-nginx', 'default-http-backend', 8080, ['10.42.4.4'])] });
    n.start();
    startDefaultBackend(net.host('10.42.4.4').listener, 8080, net.clock);
    let r: CurlResult | null = null;
    curl(net.host(CLIENT).connector, parseIpv4(INGRESS_POD), parseHttpUrl('http://nobody.test/'), (x) => (r = x));
    net.run();
    expect(r!.response!.status).toBe(404);
    expect(text(r!.response!.body)).toBe('default backend - 404');
    await expect(text(net.flowsTo(`${INGRESS_POD}:80`)[0]!.s2c)).toMatchFileSnapshot('../../golden/ingress/default-http-backend-404.txt');
    expect(n.decisions[0]!.attempts[0]!.endpoint).toBe('10.42.4.4:8080');
    // with no endpoint it falls back to the built-in 404 server
    const cfg = buildConfiguration({ ...i, services: [...i.services, service('ingress-nginx', 'default-http-backend', '10.43.0.99', 80, 8080)] }, { ...INGRESS_NGINX_DEFAULTS, defaultBackendService: 'ingress-nginx/default-http-backend' });
    expect(cfg.backends.get('upstream-default-backend')!.endpoints).toEqual([{ address: '127.0.0.1', port: 8181, target: null, nodeName: null }]);
  });

  it('closes an idle client connection after keepalive_timeout 75 s', () => {
    const { net } = cluster();
    let closedAt = -1;
    let got = '';
    net.host(CLIENT).connector.connect(parseIpv4(INGRESS_POD), 80, (c) => {
      if ('errno' in c) throw new Error(c.errno);
      c.onData((b) => (got += text(b)));
      c.onEnd(() => {
        closedAt = net.clock.now;
        c.close();
      });
      c.write(new TextEncoder().encode('GET /api/v1 HTTP/1.1\r\nHost: demo.example.com\r\n\r\n'));
    });
    net.run();
    expect(got).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(closedAt).toBeGreaterThan(75e9);
    expect(closedAt).toBeLessThan(76e9);
  });

  it('upstream-keepalive-connections 0: Connection: close upstream, a new connection per request', () => {
    const net = new FakeNet();
    const pod = net.host(INGRESS_POD);
    const n = new IngressNginx({ listener: pod.listener, connector: pod.connector, clock: net.clock, rng: new Random(3), trace: null, node: 'n', netns: 'p' }, { upstreamKeepaliveConnections: 0 });
    n.sync(inputs());
    n.start();
    startEchoServer(net.host('10.42.1.10').listener, 8080, { name: 'v1', ip: parseIpv4('10.42.1.10'), clock: net.clock });
    for (let i = 0; i < 2; i++) curl(net.host(CLIENT).connector, parseIpv4(INGRESS_POD), parseHttpUrl('http://demo.example.com/api/v1'), () => {});
    net.run();
    const ups = net.flowsTo('10.42.1.10:8080');
    expect(ups).toHaveLength(2);
    for (const f of ups) expect(text(f.c2s)).toContain('\r\nConnection: close\r\nX-Request-ID: ');
  });

  it('hostile bytes never crash nginx: every connection gets an answer or a close', () => {
    const line = fc.oneof(
      fc.constantFrom('GET / HTTP/1.1', 'Host: demo.example.com', 'Host: ', 'Host: a..b', 'Content-Length: 5', 'Transfer-Encoding: chunked', '5', 'hello', '', 'X_Y: 1', 'Connection: close', 'GET /api/v1 HTTP/1.0'),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), (lines, cut) => {
        const { net } = cluster(sizes(...cut));
        let ended = false;
        net.host(CLIENT).connector.connect(parseIpv4(INGRESS_POD), 80, (c) => {
          if ('errno' in c) throw new Error(c.errno);
          c.onEnd(() => {
            ended = true;
            c.close();
          });
          c.write(new TextEncoder().encode(lines.join('\r\n')));
          c.end();
        });
        net.run();
        expect(ended).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
