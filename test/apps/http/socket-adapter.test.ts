/**
 * The HTTP apps over the Linux model's real TCP sockets, through streamsFor(): curl in one
 * namespace, the echo server in another, joined by a veth, on the simulated clock.
 */
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Random } from '../../../src/sim/random.js';
import { seconds } from '../../../src/sim/clock.js';
import { ip, Netns, type LinuxEnv } from '../../../src/linux/netlink.js';
import { SocketLayer } from '../../../src/linux/sock/stack.js';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import { streamsFor } from '../../../src/apps/http/socket-adapter.js';
import { startEchoServer } from '../../../src/apps/http/echo.js';
import { curl, parseHttpUrl, type CurlResult } from '../../../src/apps/http/curl.js';

function pair() {
  const env: LinuxEnv & { clock: EventQueue } = { clock: new EventQueue(), rng: new Random(5), trace: null };
  const ns = { a: new Netns(env, 'node', 'a'), b: new Netns(env, 'node', 'b') };
  for (const [w, cmd] of [
    ['a', 'link set lo up'],
    ['b', 'link set lo up'],
    ['a', 'link add va type veth peer name vb netns b'],
    ['a', 'addr add 10.99.0.1/24 dev va'],
    ['b', 'addr add 10.99.0.2/24 dev vb'],
    ['a', 'link set va up'],
    ['b', 'link set vb up'],
  ] as const)
    ip(ns[w], cmd, (n) => (n === 'a' ? ns.a : n === 'b' ? ns.b : undefined));
  return { env, a: new SocketLayer(ns.a), b: new SocketLayer(ns.b) };
}

describe('HTTP over the Linux model sockets', () => {
  it('curl gets the echo response through real TCP, and both sides close', () => {
    const { env, a, b } = pair();
    const server = streamsFor(b);
    startEchoServer(server.listener, 8080, { name: 'pod-b', ip: ipv4(10, 99, 0, 2), clock: env.clock });
    let r: CurlResult | null = null;
    let closed: string | null | undefined;
    const client = streamsFor(a);
    const wrapped = {
      connect: (addr: Parameters<typeof client.connector.connect>[0], port: number, cb: Parameters<typeof client.connector.connect>[2]) =>
        client.connector.connect(addr, port, (c) => {
          if (!('errno' in c)) c.onClose((e) => (closed = e));
          cb(c);
        }),
    };
    curl(wrapped, ipv4(10, 99, 0, 2), parseHttpUrl('http://10.99.0.2:8080/hello'), (x) => (r = x));
    env.clock.run(seconds(5));
    expect(r!.exitCode).toBe(0);
    const body = new TextDecoder().decode(r!.response!.body);
    expect(body).toMatch(/^Hostname: pod-b\nIP: 10\.99\.0\.2\nRemoteAddr: 10\.99\.0\.1:\d+\nGET \/hello HTTP\/1\.1\nHost: 10\.99\.0\.2:8080\n/);
    expect(r!.local!.addr).toBe(ipv4(10, 99, 0, 1));
    expect(closed).toBeNull();
  });

  it('reports a refused connection as curl (7)', () => {
    const { env, a } = pair();
    let r: CurlResult | null = null;
    curl(streamsFor(a).connector, ipv4(10, 99, 0, 2), parseHttpUrl('http://10.99.0.2:9/'), (x) => (r = x));
    env.clock.run(seconds(5));
    expect(r!.exitCode).toBe(7);
  });
});
