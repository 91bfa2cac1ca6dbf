import { describe, expect, it } from 'vitest';
import { FakeNet, sizes, text } from '../http/fake-net.js';
import { L4LoadBalancer, type LbTarget } from '../../../src/apps/lb/l4-proxy.js';
import { describeDnatMode, describeProxyMode } from '../../../src/apps/lb/modes.js';
import { startEchoServer } from '../../../src/apps/http/echo.js';
import { curl, parseHttpUrl, type CurlResult } from '../../../src/apps/http/curl.js';
import { Random } from '../../../src/sim/random.js';
import { parseIpv4 } from '../../../src/wire/ipv4-address.js';

const NODES = ['192.168.4.86', '192.168.4.87', '192.168.4.88'];
const targets: LbTarget[] = NODES.map((ip) => ({ node: ip, addr: parseIpv4(ip), port: 30080 }));

function setup(seed: number, up: string[] = NODES) {
  const net = new FakeNet({ chunker: sizes(9, 2) });
  const lbHost = net.host('192.168.4.100');
  const lb = new L4LoadBalancer({ listener: lbHost.listener, connector: lbHost.connector, clock: net.clock, rng: new Random(seed), trace: null, node: 'lb', netns: 'lb' }, [{ port: 80, targets }]);
  lb.start();
  for (const ip of up) startEchoServer(net.host(ip).listener, 30080, { name: `node-${ip}`, ip: parseIpv4(ip), clock: net.clock });
  const get = (): CurlResult => {
    let r: CurlResult | null = null;
    curl(net.host('192.168.4.200').connector, parseIpv4('192.168.4.100'), parseHttpUrl('http://siji.example.com/'), (x) => (r = x));
    net.run();
    return r!;
  };
  return { net, lb, get };
}

describe('external L4 load balancer', () => {
  it('opens a second connection from itself and copies bytes both ways unchanged', () => {
    const { net, get, lb } = setup(3);
    const r = get();
    expect(r.response!.status).toBe(200);
    const [front, back] = net.flows;
    expect(front!.server).toBe('192.168.4.100:80');
    expect(back!.client.startsWith('192.168.4.100:')).toBe(true);
    expect(text(back!.c2s)).toBe(text(front!.c2s));
    expect(text(front!.s2c)).toBe(text(back!.s2c));
    // the node saw the LB, not the laptop
    expect(text(r.response!.body)).toContain('RemoteAddr: 192.168.4.100:');
    expect(lb.decisions[0]!.upstreamLocal).toBe(back!.client);
  });

  it('round-robins over the nodes from a seeded start', () => {
    const { get } = setup(3);
    const seq = [0, 1, 2, 3].map(() => /Hostname: (\S+)/.exec(text(get().response!.body))![1]);
    expect(new Set(seq.slice(0, 3)).size).toBe(3);
    expect(seq[3]).toBe(seq[0]);
    const other = [5, 6, 7, 8, 9, 10].map((s) => /Hostname: (\S+)/.exec(text(setup(s).get().response!.body))![1]);
    expect(new Set(other).size).toBeGreaterThan(1); // the start depends on the seed
  });

  it('skips a node that refuses and closes the client when none is left', () => {
    const { get, lb } = setup(3, ['192.168.4.88']);
    for (let i = 0; i < 3; i++) expect(get().response!.status).toBe(200);
    expect(lb.decisions.some((d) => d.attempts.length > 1 && d.attempts[0]!.result === 'ECONNREFUSED')).toBe(true);
    const none = setup(3, []);
    const r = none.get();
    expect(r.exitCode).toBe(52);
    expect(none.lb.decisions[0]!.target).toBeNull();
    expect(none.lb.decisions[0]!.attempts.map((a) => a.result)).toEqual(['ECONNREFUSED', 'ECONNREFUSED', 'ECONNREFUSED']);
  });

  it('describes the DNAT mode: client IP kept, eTP Local targets only nodes with endpoints', () => {
    const d = describeDnatMode({ vip: parseIpv4('192.168.4.100'), port: 80, nodes: targets, externalTrafficPolicy: 'Local', nodesWithEndpoints: new Set(['192.168.4.88']), healthCheckNodePort: 32000 });
    expect(d.sourceSeenByNode).toBe('client');
    expect(d.targets.map((t) => t.node)).toEqual(['192.168.4.88']);
    expect(d.healthChecks[0]!.why).toBe(':32000/healthz answers 503 (no local endpoint)');
    const c = describeDnatMode({ vip: parseIpv4('192.168.4.100'), port: 80, nodes: targets, externalTrafficPolicy: 'Cluster', nodesWithEndpoints: new Set() });
    expect(c.targets).toHaveLength(3);
    expect(describeProxyMode(parseIpv4('192.168.4.100'), 80, targets)).toMatchObject({ sourceSeenByNode: 'lb', connections: 2 });
  });
});
