/**
 * The seed's external request path over the in-memory streams (seed 002's eight steps):
 * laptop -> external LB (L4, second connection) -> node NodePort (kube-proxy DNAT +
 * masquerade, faked here) -> ingress-nginx pod :80 -> NEW connection to the laosiji
 * Endpoints (the host process 192.168.4.86:6666) -> echo response back the same way.
 */
import { describe, expect, it } from 'vitest';
import { FakeNet, sizes, text } from '../http/fake-net.js';
import { ingressClass } from './fixtures.js';
import { IngressNginx } from '../../../src/apps/ingress/nginx.js';
import { L4LoadBalancer } from '../../../src/apps/lb/l4-proxy.js';
import { startEchoServer } from '../../../src/apps/http/echo.js';
import { curl, parseHttpUrl, type CurlResult } from '../../../src/apps/http/curl.js';
import { Random } from '../../../src/sim/random.js';
import { parseIpv4 } from '../../../src/wire/ipv4-address.js';
import type { EndpointSlice, Ingress, Service } from '../../../src/k8s/api/types.js';

// seed 000's demo objects (the hand-written Endpoints as the mirroring controller's slice)
const laosijiSvc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'laosiji', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '10.43.77.7', ports: [{ port: 6666 }] } };
const laosijiSlice: EndpointSlice = {
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'laosiji-x7k2p', namespace: 'default', labels: { 'kubernetes.io/service-name': 'laosiji', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
  addressType: 'IPv4',
  ports: [{ port: 6666, protocol: 'TCP' }],
  endpoints: [{ addresses: ['192.168.4.86'], conditions: { ready: true } }],
};
const laosijiIngress: Ingress = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'laosiji-ingress', namespace: 'default' },
  spec: { rules: [{ host: 'siji.example.com', http: { paths: [{ pathType: 'Prefix', path: '/', backend: { service: { name: 'laosiji', port: { number: 6666 } } } }] } }] },
};

const LAPTOP = '192.168.4.200';
const LB = '192.168.4.100';
const NODE = '192.168.4.86';
const INGRESS_POD = '10.42.1.5';

function world(chunker = sizes(11, 3, 64)) {
  const net = new FakeNet({ chunker });
  const lbHost = net.host(LB);
  const lb = new L4LoadBalancer({ listener: lbHost.listener, connector: lbHost.connector, clock: net.clock, rng: new Random(1), trace: null, node: 'lb', netns: 'lb' }, [
    { port: 80, targets: [{ node: NODE, addr: parseIpv4(NODE), port: 30080 }] },
  ]);
  lb.start();
  // kube-proxy on the node: NodePort 30080 -> ingress pod :80, masqueraded to the node's IP
  net.nat(NODE, 30080, { addr: INGRESS_POD, port: 80, masquerade: NODE });
  const pod = net.host(INGRESS_POD);
  const nginx = new IngressNginx({ listener: pod.listener, connector: pod.connector, clock: net.clock, rng: new Random(42), trace: null, node: NODE, netns: 'ingress-nginx/nginx-ingress-controller-7p6wd' });
  nginx.sync({ ingresses: [laosijiIngress], ingressClasses: [ingressClass('nginx', { isDefault: true })], services: [laosijiSvc], endpointSlices: [laosijiSlice] });
  nginx.start();
  startEchoServer(net.host(NODE).listener, 6666, { name: 'k8s-192-168-4-86', ip: parseIpv4(NODE), clock: net.clock });
  const get = (url: string): CurlResult => {
    let r: CurlResult | null = null;
    // the laptop resolved siji.example.com to the LB
    curl(net.host(LAPTOP).connector, parseIpv4(LB), parseHttpUrl(url), (x) => (r = x));
    net.run();
    return r!;
  };
  return { net, nginx, lb, get };
}

describe('client -> LB -> NodePort -> ingress -> laosiji', () => {
  it('reaches laosiji with 200; every hop carries the bytes it should', async () => {
    const { net, nginx, get } = world();
    const r = get('http://siji.example.com/');
    expect(r.exitCode).toBe(0);
    expect(r.response!.status).toBe(200);
    const [laptopLb, lbNode, ingressUp] = net.flows;
    expect([laptopLb!.client, laptopLb!.server]).toEqual([`${LAPTOP}:40000`, `${LB}:80`]);
    expect([lbNode!.client, lbNode!.server]).toEqual([`${LB}:40000`, `${NODE}:30080`]);
    expect([ingressUp!.client, ingressUp!.server]).toEqual([`${INGRESS_POD}:40000`, `${NODE}:6666`]);
    // hop 1 and 2: the curl request, byte for byte (the LB is L4)
    const curlBytes = 'GET / HTTP/1.1\r\nHost: siji.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n';
    expect(text(laptopLb!.c2s)).toBe(curlBytes);
    expect(text(lbNode!.c2s)).toBe(curlBytes);
    // hop 3: nginx's request; the peer it saw was the node (masquerade), not the laptop or the LB
    await expect(text(ingressUp!.c2s)).toMatchFileSnapshot('../../golden/ingress/laosiji-upstream-request.txt');
    expect(text(ingressUp!.c2s)).toContain(`X-Real-IP: ${NODE}\r\nX-Forwarded-For: ${NODE}\r\n`);
    // back the same way: the LB copies the node's bytes unchanged
    expect(text(laptopLb!.s2c)).toBe(text(lbNode!.s2c));
    await expect(text(laptopLb!.s2c)).toMatchFileSnapshot('../../golden/ingress/laosiji-response.txt');
    const body = text(r.response!.body);
    expect(body.startsWith(`Hostname: k8s-192-168-4-86\nIP: ${NODE}\nRemoteAddr: ${INGRESS_POD}:40000\nGET / HTTP/1.1\nHost: siji.example.com\n`)).toBe(true);
    expect(nginx.decisions[0]).toMatchObject({
      server: 'siji.example.com',
      serverMatch: 'exact',
      location: 'location /',
      ingress: 'default/laosiji-ingress',
      backend: 'default-laosiji-6666',
      attempts: [{ endpoint: '192.168.4.86:6666', result: 'ok', local: `${INGRESS_POD}:40000`, reused: false }],
      status: 200,
      answeredBy: 'upstream',
    });
  });

  it('gives the same result whatever the segmentation', () => {
    const a = world(sizes(1)).get('http://siji.example.com/x?y=1');
    const b = world(sizes(1000)).get('http://siji.example.com/x?y=1');
    expect(text(a.response!.body)).toBe(text(b.response!.body));
    expect(text(a.response!.body)).toContain('GET /x?y=1 HTTP/1.1\n');
  });

  it('a host with no rule gets the default backend 404; no endpoints gives 503', () => {
    const w = world();
    expect(w.get('http://nope.example.com/').response!.status).toBe(404);
    w.nginx.sync({ ingresses: [laosijiIngress], ingressClasses: [ingressClass('nginx', { isDefault: true })], services: [laosijiSvc], endpointSlices: [{ ...laosijiSlice, endpoints: [] }] });
    const r = w.get('http://siji.example.com/');
    expect(r.response!.status).toBe(503);
    expect(text(r.response!.body)).toContain('<title>503 Service Temporarily Unavailable</title>');
  });
});
