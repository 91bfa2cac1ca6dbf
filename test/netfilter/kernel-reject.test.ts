// Real-kernel differential test for REJECT: the TCP RST and ICMP port unreachable the kernel
// sends (nf_reject_ipv4) for captured offending packets, byte for byte against the model's
// for the same offending bytes (the ICMP error's IP ID is the kernel's own counter: ignored).
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missing } from '../helpers/tools.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { PacketBuffer } from '../../src/wire/packet-buffer.js';
import { FakeNetns, deliver } from './helpers.js';
import { sum16 } from '../../src/netfilter/packet.js';

const why = missing({ root: true, tools: ['iptables-restore', 'ip', 'tcpdump', 'python3'] });
const P = `kwt-nfrj-${process.pid}-`;
const A = `${P}a`, B = `${P}b`;
const RULES = '*filter\n-A INPUT -p tcp --dport 81 -j REJECT --reject-with tcp-reset\n-A INPUT -p udp --dport 82 -j REJECT\nCOMMIT\n';

function run(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** IPv4 packets of an Ethernet pcap file. */
function pcapIp(file: string): Uint8Array[] {
  const b = readFileSync(file);
  const out: Uint8Array[] = [];
  let o = 24;
  while (o + 16 <= b.length) {
    const incl = b.readUInt32LE(o + 8);
    const frame = b.subarray(o + 16, o + 16 + incl);
    if (frame.readUInt16BE(12) === 0x0800) out.push(new Uint8Array(frame.subarray(14)));
    o += 16 + incl;
  }
  return out;
}

describe.skipIf(why !== null)('REJECT packets equal the real kernel\'s', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kwt-nfrj-'));
  afterAll(() => {
    for (const n of [A, B]) {
      try {
        run(['ip', 'netns', 'del', n]);
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('tcp-reset and icmp-port-unreachable', async () => {
    for (const n of [A, B]) run(['ip', 'netns', 'add', n]);
    run(['ip', 'link', 'add', 'a0', 'netns', A, 'type', 'veth', 'peer', 'name', 'b0', 'netns', B]);
    run(['ip', 'netns', 'exec', A, 'ip', 'addr', 'add', '10.97.0.1/24', 'dev', 'a0']);
    run(['ip', 'netns', 'exec', B, 'ip', 'addr', 'add', '10.97.0.2/24', 'dev', 'b0']);
    for (const [n, d] of [[A, 'a0'], [B, 'b0'], [A, 'lo'], [B, 'lo']] as const) run(['ip', 'netns', 'exec', n, 'ip', 'link', 'set', d, 'up']);
    execFileSync('ip', ['netns', 'exec', B, 'iptables-restore'], { input: RULES });
    const file = join(dir, 'a0.pcap');
    const cap = spawn('ip', ['netns', 'exec', A, 'tcpdump', '-i', 'a0', '-w', file, '-U', '-n', '-Z', 'root'], { stdio: 'ignore' });
    // tcpdump writes the file header once it listens
    for (let i = 0; i < 100 && !(existsSync(file) && statSync(file).size >= 24); i++) await sleep(100);
    await sleep(300);
    const client = `
import socket
s = socket.socket(); s.settimeout(1)
try: s.connect(('10.97.0.2', 81))
except Exception: pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.97.0.1', 40002)); u.sendto(b'hello kubewire', ('10.97.0.2', 82))
`;
    run(['ip', 'netns', 'exec', A, 'python3', '-c', client]);
    for (let i = 0; i < 50 && pcapIp(file).length < 4; i++) await sleep(100);
    cap.kill('SIGINT');
    await new Promise((r) => cap.on('exit', r));
    const pkts = pcapIp(file);
    const syn = pkts.find((p) => p[9] === 6 && p[12] === 10 && p[15] === 1)!;
    const rst = pkts.find((p) => p[9] === 6 && p[15] === 2)!;
    const udp = pkts.find((p) => p[9] === 17)!;
    const icmp = pkts.find((p) => p[9] === 1)!;
    expect([syn, rst, udp, icmp].map((x) => x !== undefined), `${pkts.length} packets: ${pkts.map((p) => p[9]).join(",")}`).toEqual([true, true, true, true]);

    const ns = new FakeNetns();
    ns.addrs.push({ dev: 'b0', addr: '10.97.0.2', cidr: '10.97.0.0/24' });
    const nf = new Netfilter(ns);
    nf.restore(RULES);
    for (const bytes of [syn, udp]) {
      const p = PacketBuffer.from(bytes);
      p.network = p.head;
      deliver(nf, p, 'b0');
    }
    const [mRst, mIcmp] = ns.sent.map((p) => p.buf.slice(p.network, p.end));
    // veth leaves the RST's TCP checksum partial (CHECKSUM_PARTIAL: only the pseudo-header
    // sum is in the capture); compare the rest and check that the model's checksum is valid.
    const hexNoL4 = (b: Uint8Array): string => Buffer.from(b.slice(0, 36)).toString('hex') + Buffer.from(b.slice(38)).toString('hex');
    expect(hexNoL4(mRst!)).toBe(hexNoL4(rst));
    expect(sum16(mRst!, 20, 40, 0x0a61 + 0x0002 + 0x0a61 + 0x0001 + 6 + 20)).toBe(0xffff);
    expect(rst[36]! * 256 + rst[37]!).toBe(0x14df); // the partial sum the kernel left
    // ICMP: everything but the IP ID and the header checksum that covers it
    const strip = (b: Uint8Array): Uint8Array => {
      const c = b.slice();
      c[4] = c[5] = c[10] = c[11] = 0;
      return c;
    };
    expect(Buffer.from(strip(mIcmp!)).toString('hex')).toBe(Buffer.from(strip(icmp)).toString('hex'));
  }, 20000);
});
