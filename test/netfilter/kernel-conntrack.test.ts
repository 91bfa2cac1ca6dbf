// Real-kernel differential test for conntrack + NAT: a UDP exchange and a TCP handshake
// through a DNAT + MASQUERADE router namespace; the router's `conntrack -L` must equal the
// model's for the same packets, modulo the seconds-left field.
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { missing } from '../helpers/tools.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { FakeNetns, packet, forward, SYN, ACK } from './helpers.js';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

const why = missing({ root: true, tools: ['iptables-restore', 'conntrack', 'ip', 'python3'] });
const P = `kwt-nfct-${process.pid}-`;
const A = `${P}a`, B = `${P}b`, C = `${P}c`;
const KA = `${P}ka`, KB = `${P}kb`, KC = `${P}kc`;

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
    for (const n of [A, B, C, KA, KB, KC]) {
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

  it('a ClusterIP connection through the kube-proxy payload: DNAT, masquerade mark, MASQUERADE --random-fully', async () => {
    for (const n of [KA, KB, KC]) run(['ip', 'netns', 'add', n]);
    run(['ip', 'link', 'add', 'a0', 'netns', KA, 'type', 'veth', 'peer', 'name', 'b0', 'netns', KB]);
    run(['ip', 'link', 'add', 'b1', 'netns', KB, 'type', 'veth', 'peer', 'name', 'c0', 'netns', KC]);
    const ex = (ns: string, ...cmd: string[]): string => run(['ip', 'netns', 'exec', ns, ...cmd]);
    ex(KA, 'ip', 'addr', 'add', '192.168.1.5/24', 'dev', 'a0');
    ex(KB, 'ip', 'addr', 'add', '192.168.1.1/24', 'dev', 'b0');
    ex(KB, 'ip', 'addr', 'add', '10.180.0.254/24', 'dev', 'b1');
    ex(KC, 'ip', 'addr', 'add', '10.180.0.3/24', 'dev', 'c0');
    for (const [ns, dev] of [[KA, 'a0'], [KB, 'b0'], [KB, 'b1'], [KC, 'c0'], [KA, 'lo'], [KB, 'lo'], [KC, 'lo']] as const) ex(ns, 'ip', 'link', 'set', dev, 'up');
    ex(KA, 'ip', 'route', 'add', 'default', 'via', '192.168.1.1');
    ex(KC, 'ip', 'route', 'add', 'default', 'via', '10.180.0.254');
    ex(KB, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    const stale = '*nat\n:KUBE-SVC-STALE0000000000 - [0:0]\nCOMMIT\n';
    const kp = readFileSync(join(here, 'payloads', 'kube-proxy.txt'), 'utf8');
    execFileSync('ip', ['netns', 'exec', KB, 'iptables-restore', '--noflush'], { input: stale });
    execFileSync('ip', ['netns', 'exec', KB, 'iptables-restore', '--noflush'], { input: kp });
    const server = spawn('ip', ['netns', 'exec', KC, 'python3', '-c', "import socket, time\nt = socket.socket(); t.bind(('10.180.0.3', 80)); t.listen(1)\nc, _ = t.accept(); time.sleep(2.5)\n"], { stdio: 'ignore' });
    kids.push(server);
    await sleep(400);
    const client = spawn('ip', ['netns', 'exec', KA, 'python3', '-c', "import socket, time\nt = socket.socket(); t.bind(('192.168.1.5', 40005)); t.connect(('172.30.0.43', 80)); time.sleep(2)\n"], { stdio: 'ignore' });
    kids.push(client);
    await sleep(1000);
    const real = ex(KB, 'conntrack', '-L');

    const ns = new FakeNetns(3);
    ns.addrs.push({ dev: 'b0', addr: '192.168.1.1', cidr: '192.168.1.0/24' }, { dev: 'b1', addr: '10.180.0.254', cidr: '10.180.0.0/24' });
    const nf = new Netfilter(ns);
    nf.restore(stale, { noflush: true });
    nf.restore(kp, { noflush: true });
    const syn = packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40005, dport: 80, flags: SYN });
    forward(nf, syn, 'b0', 'b1');
    const port = syn.buf[syn.transport]! * 256 + syn.buf[syn.transport + 1]!;
    forward(nf, packet({ src: '10.180.0.3', dst: '10.180.0.254', sport: 80, dport: port, flags: SYN | ACK }), 'b1', 'b0');
    forward(nf, packet({ src: '192.168.1.5', dst: '172.30.0.43', sport: 40005, dport: 80, flags: ACK }), 'b0', 'b1');
    // --random-fully picks the port at random on both sides: compare everything else.
    const anyPort = (l: string[]): string[] => l.map((x) => x.replace(/dst=10\.180\.0\.254 sport=80 dport=\d+/, 'dst=10.180.0.254 sport=80 dport=P'));
    const r = anyPort(untimed(real));
    expect(r).toEqual(anyPort(untimed(nf.conntrackList())));
    expect(r).toEqual(['tcp      6 T ESTABLISHED src=192.168.1.5 dst=172.30.0.43 sport=40005 dport=80 src=10.180.0.3 dst=10.180.0.254 sport=80 dport=P [ASSURED] mark=0 use=1']);
  }, 20000);
});
