// The socket layer on the real namespace model (src/linux Netns): two namespaces joined by a
// veth, frames captured on the client's veth as tcpdump would see them there.
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Random } from '../../../src/sim/random.js';
import { millis, seconds } from '../../../src/sim/clock.js';
import { TraceRecorder } from '../../../src/sim/trace.js';
import { ip, Netns, type LinuxEnv } from '../../../src/linux/netlink.js';
import { captureDevice } from '../../../src/linux/capture.js';
import { SocketLayer } from '../../../src/linux/sock/stack.js';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import type { Errno } from '../../../src/linux/sock/errors.js';
import type { EchoReply } from '../../../src/linux/sock/ping.js';
import { frameLines, type Frame } from './frames.js';

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

describe('sockets over the namespace model', () => {
  it('a TCP exchange through veth: ARP first, then the segments Linux sends', () => {
    const m = modelExchange();
    expect(frameLines(m.frames)).toEqual([
      'out ARP request who-has 10.99.0.2 tell 10.99.0.1',
      'in ARP reply 10.99.0.2',
      'out TCP C>S [S] 0 win 64240 [mss 1460,sackOK,TS,nop,wscale 10] DF id+',
      'in TCP S>C [S.] 0 ack 1 win 65160 [mss 1460,sackOK,TS,nop,wscale 10] DF id0',
      'out TCP C>S [.] 1 ack 1 win 63 [nop,nop,TS] DF id+',
      'out TCP C>S [P.] 1:6 ack 1 win 63 [nop,nop,TS] DF id+',
      'in TCP S>C [.] 1 ack 6 win 64 [nop,nop,TS] DF id+',
      'in TCP S>C [P.] 1:13 ack 6 win 64 [nop,nop,TS] DF id+',
      'out TCP C>S [.] 6 ack 13 win 63 [nop,nop,TS] DF id+',
      'in TCP S>C [F.] 13 ack 6 win 64 [nop,nop,TS] DF id+',
      'out TCP C>S [.] 6 ack 14 win 63 [nop,nop,TS] DF id+',
      'out TCP C>S [F.] 6 ack 14 win 63 [nop,nop,TS] DF id+',
      'in TCP S>C [.] 14 ack 7 win 64 [nop,nop,TS] DF id0',
    ]);
  });

  it('UDP to a closed port gets ICMP port unreachable from the stack; a connected socket hears ECONNREFUSED', () => {
    const m = buildPair();
    const u = m.a.udp().connect(B, 5353);
    const errs: Errno[] = [];
    u.onError = (e) => errs.push(e);
    u.send(enc('abc'));
    m.env.clock.run(millis(50));
    const lines = frameLines(m.frames);
    expect(lines.slice(2)).toEqual(['out UDP 3 DF id+', 'in ICMP 3/3 tos 0xc0 quote 31 id+']);
    expect(errs).toEqual(['ECONNREFUSED']);
  });

  it('ping: the kernel model answers the echo; the socket gets the reply', () => {
    const m = buildPair();
    const p = m.a.ping({ ident: 0x1234 });
    const replies: EchoReply[] = [];
    p.onReply = (r) => replies.push(r);
    p.send(B);
    m.env.clock.run(millis(50));
    expect(replies.map((r) => [r.ident, r.seq, r.data.length])).toEqual([[0x1234, 1, 56]]);
    expect(frameLines(m.frames).slice(2)).toEqual(['out ICMP 8/0 id 4660 seq 1 len 64 DF id+', 'in ICMP 0/0 id 4660 seq 1 len 64 id+']);
  });
});
