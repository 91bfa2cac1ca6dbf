// A client and a server namespace on the real namespace model (src/linux Netns), joined by a
// veth, with the client's veth captured as tcpdump would see it; shared by the model and
// the kernel comparison tests.
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Random } from '../../../src/sim/random.js';
import { millis, seconds } from '../../../src/sim/clock.js';
import { ip, Netns, type LinuxEnv } from '../../../src/linux/netlink.js';
import { captureDevice } from '../../../src/linux/capture.js';
import { SocketLayer } from '../../../src/linux/sock/stack.js';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import type { Frame } from './frames.js';

export const A = ipv4(10, 99, 0, 1);
export const B = ipv4(10, 99, 0, 2);

/** The same commands the kernel comparison runs with `ip -n`. */
export const SETUP: ReadonlyArray<readonly ['a' | 'b', string]> = [
  ['a', 'link set lo up'],
  ['b', 'link set lo up'],
  ['a', 'link add va type veth peer name vb netns b'],
  ['a', 'addr add 10.99.0.1/24 dev va'],
  ['b', 'addr add 10.99.0.2/24 dev vb'],
  ['a', 'link set va up'],
  ['b', 'link set vb up'],
];

export function buildPair(seed = 11) {
  const env: LinuxEnv & { clock: EventQueue } = { clock: new EventQueue(), rng: new Random(seed), trace: null };
  const ns = { a: new Netns(env, 'node', 'a'), b: new Netns(env, 'node', 'b') };
  for (const [where, cmd] of SETUP) ip(ns[where], cmd, (n) => (n === 'a' ? ns.a : n === 'b' ? ns.b : undefined));
  const frames: Frame[] = [];
  captureDevice(ns.a.dev('va')!, { frame: (_n, t, bytes, dir) => frames.push({ time: t, bytes: bytes.slice(), dir }) });
  return { env, ns, a: new SocketLayer(ns.a), b: new SocketLayer(ns.b), frames };
}

const enc = (s: string) => new TextEncoder().encode(s);

/** The exchange the kernel test runs with python3 (see kernel.test.ts). */
export function modelExchange(seed = 11) {
  const m = buildPair(seed);
  m.b.tcpListen(8080, () => ({
    onData: (s) => {
      s.write(enc('pongpongpong'));
      m.env.clock.schedule(millis(300), () => s.close());
    },
  }), { reuseAddr: true });
  m.a.tcpConnect(B, 8080, {
    onConnect: (s) => s.write(enc('hello')),
    onEnd: (s) => m.env.clock.schedule(millis(200), () => s.close()),
  });
  m.env.clock.run(seconds(2));
  return m;
}
