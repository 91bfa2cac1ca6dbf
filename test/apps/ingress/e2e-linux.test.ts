/**
 * The external request path over the Linux model's sockets and links: laptop, external LB,
 * ingress-nginx pod and the laosiji host on one bridge (the NodePort DNAT is kube-proxy's and
 * is left out here: the LB targets the pod's :80 directly). Checks that each proxy hop is
 * its own TCP connection from the proxy's own address.
 */
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Random } from '../../../src/sim/random.js';
import { seconds } from '../../../src/sim/clock.js';
import { ip, Netns, type LinuxEnv } from '../../../src/linux/netlink.js';
import { SocketLayer } from '../../../src/linux/sock/stack.js';
import { parseIpv4 } from '../../../src/wire/ipv4-address.js';
import { streamsFor } from '../../../src/apps/http/socket-adapter.js';
import { startEchoServer } from '../../../src/apps/http/echo.js';
import { curl, parseHttpUrl, type CurlResult } from '../../../src/apps/http/curl.js';
import { IngressNginx } from '../../../src/apps/ingress/nginx.js';
import { L4LoadBalancer } from '../../../src/apps/lb/l4-proxy.js';
import { ingress, ingressClass, path, service, slice } from './fixtures.js';

const HOSTS = { lap: '10.0.0.200', lb: '10.0.0.100', ing: '10.0.0.5', be: '10.0.0.86' } as const;

function lan() {
  const env: LinuxEnv & { clock: EventQueue } = { clock: new EventQueue(), rng: new Random(9), trace: null };
  const ns: Record<string, Netns> = { sw: new Netns(env, 'lan', 'sw') };
  for (const k of Object.keys(HOSTS)) ns[k] = new Netns(env, k, k);
  const resolve = (n: string): Netns | undefined => ns[n];
  ip(ns.sw!, 'link add br0 type bridge', resolve);
  ip(ns.sw!, 'link set br0 up', resolve);
  for (const [k, addr] of Object.entries(HOSTS)) {
    ip(ns.sw!, `link add sw-${k} type veth peer name eth0 netns ${k}`, resolve);
    ip(ns.sw!, `link set sw-${k} master br0`, resolve);
    ip(ns.sw!, `link set sw-${k} up`, resolve);
    ip(ns[k]!, 'link set lo up', resolve);
    ip(ns[k]!, `addr add ${addr}/24 dev eth0`, resolve);
    ip(ns[k]!, 'link set eth0 up', resolve);
  }
  const sock = (k: keyof typeof HOSTS) => streamsFor(new SocketLayer(ns[k]!));
  return { env, sock };
}

describe('laptop -> LB -> ingress -> backend over the Linux model', () => {
  it('answers 200 from the backend, each hop from the proxy\'s own address', () => {
    const { env, sock } = lan();
    const be = sock('be');
    startEchoServer(be.listener, 6666, { name: 'k8s-192-168-4-86', ip: parseIpv4(HOSTS.be), clock: env.clock });
    const ing = sock('ing');
    const nginx = new IngressNginx({ ...ing, clock: env.clock, rng: new Random(2), trace: null, node: 'n', netns: 'ingress' });
    nginx.sync({
      ingressClasses: [ingressClass('nginx', { isDefault: true })],
      services: [service('default', 'laosiji', '10.43.77.7', 6666, 6666)],
      endpointSlices: [slice('default', 'laosiji', 6666, [HOSTS.be])],
      ingresses: [ingress('default', 'laosiji-ingress', [{ host: 'siji.example.com', paths: [path('/', 'Prefix', 'laosiji', 6666)] }])],
    });
    nginx.start();
    const lbs = sock('lb');
    const lb = new L4LoadBalancer({ ...lbs, clock: env.clock, rng: new Random(3), trace: null, node: 'lb', netns: 'lb' }, [{ port: 80, targets: [{ node: 'ing', addr: parseIpv4(HOSTS.ing), port: 80 }] }]);
    lb.start();
    let r: CurlResult | null = null;
    curl(sock('lap').connector, parseIpv4(HOSTS.lb), parseHttpUrl('http://siji.example.com/'), (x) => (r = x));
    env.clock.run(seconds(120));
    expect(r!.exitCode).toBe(0);
    expect(r!.response!.status).toBe(200);
    const body = new TextDecoder().decode(r!.response!.body);
    expect(body).toContain(`X-Real-IP: ${HOSTS.lb}\nX-Forwarded-For: ${HOSTS.lb}\n`);
    expect(body).toMatch(new RegExp(`RemoteAddr: ${HOSTS.ing.replace(/\./g, '\\.')}:\\d+\n`));
    expect(lb.decisions[0]!.upstreamLocal).toMatch(/^10\.0\.0\.100:\d+$/);
    expect(nginx.decisions[0]!.attempts[0]!.local).toMatch(/^10\.0\.0\.5:\d+$/);
  });
});
