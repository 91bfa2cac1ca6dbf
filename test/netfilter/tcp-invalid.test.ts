// tcp_error: conntrack marks TCP packets with flag combinations outside tcp_valid_flags[]
// INVALID (no entry made), whatever the state machine would say. The same raw segments are
// sent through the model and through a real router namespace whose FORWARD chain counts
// `--ctstate INVALID` and `--ctstate NEW` per flag combination; the counters must agree.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { missing } from '../helpers/tools.js';
import { FakeNetns, forward, packet } from './helpers.js';

// FIN 01, SYN 02, RST 04, PSH 08, ACK 10, URG 20, ECE 40, CWR 80.
const COMBOS = [0x00, 0x01, 0x02, 0x03, 0x06, 0x07, 0x0a, 0x11, 0x12, 0x14, 0x29, 0x31, 0x3f, 0x42, 0xc2, 0x18, 0x04, 0x08, 0x20, 0x22];

/** Each combination goes to its own port, so its rule counters are its own. */
const RULES = `*filter
:FORWARD ACCEPT [0:0]
${COMBOS.map((f, i) => `-A FORWARD -p tcp -m tcp --dport ${20000 + i} -m conntrack --ctstate INVALID -m comment --comment "flags 0x${f.toString(16)} invalid"
-A FORWARD -p tcp -m tcp --dport ${20000 + i} -m conntrack --ctstate NEW -m comment --comment "flags 0x${f.toString(16)} new"`).join('\n')}
COMMIT
`;

/** (rule comment, packet count) for every rule of FORWARD, from iptables-save -c text. */
function counters(save: string): string[] {
  return save
    .split('\n')
    .filter((l) => l.includes('-A FORWARD'))
    .map((l) => `${/--comment "([^"]+)"/.exec(l)![1]} ${/^\[(\d+):/.exec(l)![1]}`);
}

function model(): string[] {
  const nf = new Netfilter(new FakeNetns());
  nf.restore(RULES);
  COMBOS.forEach((flags, i) => forward(nf, packet({ src: '10.97.0.1', dst: '10.96.0.1', sport: 30000 + i, dport: 20000 + i, flags }), 'r0', 'r1'));
  return counters(nf.save({ counters: true }));
}

describe('conntrack: invalid TCP flag combinations (model)', () => {
  it('no flags, FIN alone, SYN+FIN, SYN+RST, ... are INVALID; SYN, SYN+ACK, RST, ACK, FIN+ACK (with PSH/ECE/CWR/URG as allowed) are not', () => {
    const c = new Map(model().map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]));
    for (const f of [0x00, 0x01, 0x03, 0x06, 0x07, 0x3f, 0x08, 0x20]) expect(c.get(`flags 0x${f.toString(16)} invalid`), `0x${f.toString(16)}`).toBe(1);
    for (const f of [0x02, 0x42, 0xc2, 0x22]) expect(c.get(`flags 0x${f.toString(16)} new`), `0x${f.toString(16)}`).toBe(1);
  });
});

const why = missing({ root: true, tools: ['ip', 'iptables-restore', 'iptables-save', 'python3'] });
describe.skipIf(why !== null)('conntrack: invalid TCP flag combinations against the live kernel', () => {
  const P = `kwt-tcpinv-${process.pid}-`;
  const [A, R, B] = [`${P}a`, `${P}r`, `${P}b`];
  const sh = (args: string[], input?: string): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  afterAll(() => {
    for (const n of [A, R, B]) {
      try {
        sh(['ip', 'netns', 'del', n]);
      } catch {
        // already gone
      }
    }
  });
  it('the router counts the same INVALID and NEW packets as the model', () => {
    for (const n of [A, R, B]) sh(['ip', 'netns', 'add', n]);
    sh(['ip', 'link', 'add', 'a0', 'netns', A, 'type', 'veth', 'peer', 'name', 'r0', 'netns', R]);
    sh(['ip', 'link', 'add', 'b0', 'netns', B, 'type', 'veth', 'peer', 'name', 'r1', 'netns', R]);
    for (const [n, d, addr] of [[A, 'a0', '10.97.0.1/24'], [R, 'r0', '10.97.0.254/24'], [R, 'r1', '10.96.0.254/24'], [B, 'b0', '10.96.0.1/24']] as const) {
      sh(['ip', '-n', n, 'addr', 'add', addr, 'dev', d]);
      sh(['ip', '-n', n, 'link', 'set', d, 'up']);
    }
    sh(['ip', '-n', A, 'route', 'add', 'default', 'via', '10.97.0.254']);
    sh(['ip', '-n', B, 'route', 'add', 'default', 'via', '10.96.0.254']);
    sh(['ip', 'netns', 'exec', R, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    sh(['ip', 'netns', 'exec', R, 'iptables-restore'], RULES);
    // Raw segments with the flags given, as the model's packet() builds them (seq 1000, win 0).
    const py = `
import socket, struct
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
src, dst = socket.inet_aton('10.97.0.1'), socket.inet_aton('10.96.0.1')
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
for i, f in enumerate([${COMBOS.join(', ')}]):
    tcp = struct.pack('!HHIIBBHHH', 30000 + i, 20000 + i, 1000, 0, 0x50, f, 0, 0, 0)
    c = csum(src + dst + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack('!H', c) + tcp[18:]
    s.sendto(tcp, ('10.96.0.1', 0))
`;
    sh(['ip', 'netns', 'exec', A, 'python3', '-c', py]);
    expect(counters(sh(['ip', 'netns', 'exec', R, 'iptables-save', '-c', '-t', 'filter']))).toEqual(model());
  });
});
