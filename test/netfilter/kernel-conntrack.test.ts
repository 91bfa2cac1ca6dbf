// Real-kernel differential test for conntrack + NAT: a UDP exchange and a TCP handshake
// through a DNAT + MASQUERADE router namespace; the router's `conntrack -L` must equal the
// model's for the same packets, modulo the seconds-left field.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { missing } from '../helpers/tools.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { FakeNetns, packet, forward, SYN, ACK } from './helpers.js';

const why = missing({ root: true, tools: ['iptables-restore', 'conntrack', 'ip', 'python3'] });
const P = `kwt-nfct-${process.pid}-`;
const A = `${P}a`, B = `${P}b`, C = `${P}c`;

const RULES = `*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 10.99.0.2 -p udp -m udp --dport 5000 -j DNAT --to-destination 10.98.0.2:6000
-A PREROUTING -d 10.99.0.2 -p tcp -m tcp --dport 5000 -j DNAT --to-destination 10.98.0.2:6000
-A POSTROUTING -o b1 -j MASQUERADE
COMMIT
`;

const SERVER = `
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.98.0.2', 6000))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(('10.98.0.2', 6000)); t.listen(1)
d, a = u.recvfrom(100); u.sendto(b'pong', a)
c, _ = t.accept(); time.sleep(2.5)
`;
const CLIENT = `
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.99.0.1', 40000)); u.settimeout(2)
u.sendto(b'ping', ('10.99.0.2', 5000)); u.recvfrom(100)
t = socket.socket(); t.bind(('10.99.0.1', 40001)); t.connect(('10.99.0.2', 5000)); time.sleep(2)
`;

function run(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const untimed = (s: string): string[] =>
  s
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^(\S+\s+\d+) \d+ /, '$1 T '))
    .sort();

describe.skipIf(why !== null)('conntrack -L of a real DNAT router equals the model', () => {
  const kids: ChildProcess[] = [];
  afterAll(() => {
    for (const k of kids) if (k.exitCode === null && k.pid !== undefined) k.kill();
    for (const n of [A, B, C]) {
      try {
        run(['ip', 'netns', 'del', n]);
      } catch {
        /* already gone */
      }
    }
  });

  it('UDP request/reply and an established TCP connection', async () => {
    for (const n of [A, B, C]) run(['ip', 'netns', 'add', n]);
    run(['ip', 'link', 'add', 'a0', 'netns', A, 'type', 'veth', 'peer', 'name', 'b0', 'netns', B]);
    run(['ip', 'link', 'add', 'b1', 'netns', B, 'type', 'veth', 'peer', 'name', 'c0', 'netns', C]);
    const ex = (ns: string, ...cmd: string[]): string => run(['ip', 'netns', 'exec', ns, ...cmd]);
    ex(A, 'ip', 'addr', 'add', '10.99.0.1/24', 'dev', 'a0');
    ex(B, 'ip', 'addr', 'add', '10.99.0.2/24', 'dev', 'b0');
    ex(B, 'ip', 'addr', 'add', '10.98.0.1/24', 'dev', 'b1');
    ex(C, 'ip', 'addr', 'add', '10.98.0.2/24', 'dev', 'c0');
    for (const [ns, dev] of [[A, 'a0'], [B, 'b0'], [B, 'b1'], [C, 'c0'], [A, 'lo'], [B, 'lo'], [C, 'lo']] as const) ex(ns, 'ip', 'link', 'set', dev, 'up');
    ex(A, 'ip', 'route', 'add', 'default', 'via', '10.99.0.2');
    ex(C, 'ip', 'route', 'add', 'default', 'via', '10.98.0.1');
    ex(B, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    execFileSync('ip', ['netns', 'exec', B, 'iptables-restore'], { input: RULES });
    const server = spawn('ip', ['netns', 'exec', C, 'python3', '-c', SERVER], { stdio: 'ignore' });
    kids.push(server);
    await sleep(400);
    const client = spawn('ip', ['netns', 'exec', A, 'python3', '-c', CLIENT], { stdio: 'ignore' });
    kids.push(client);
    await sleep(1000);
    const real = ex(B, 'conntrack', '-L');

    const ns = new FakeNetns();
    ns.addrs.push({ dev: 'b0', addr: '10.99.0.2', cidr: '10.99.0.0/24' }, { dev: 'b1', addr: '10.98.0.1', cidr: '10.98.0.0/24' });
    const nf = new Netfilter(ns);
    nf.restore(RULES);
    forward(nf, packet({ src: '10.99.0.1', dst: '10.99.0.2', proto: 'udp', sport: 40000, dport: 5000, payload: 4 }), 'b0', 'b1');
    forward(nf, packet({ src: '10.98.0.2', dst: '10.98.0.1', proto: 'udp', sport: 6000, dport: 40000, payload: 4 }), 'b1', 'b0');
    forward(nf, packet({ src: '10.99.0.1', dst: '10.99.0.2', sport: 40001, dport: 5000, flags: SYN }), 'b0', 'b1');
    forward(nf, packet({ src: '10.98.0.2', dst: '10.98.0.1', sport: 6000, dport: 40001, flags: SYN | ACK }), 'b1', 'b0');
    forward(nf, packet({ src: '10.99.0.1', dst: '10.99.0.2', sport: 40001, dport: 5000, flags: ACK }), 'b0', 'b1');
    const model = nf.conntrackList();
    expect(untimed(model)).toEqual(untimed(real));
    expect(model).toContain('[ASSURED]');
  }, 20000);
});
