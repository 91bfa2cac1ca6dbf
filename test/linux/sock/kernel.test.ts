// The real kernel as the reference: two namespaces joined by a veth (made with the same
// `ip` commands as the model), a python3 TCP exchange and a connected UDP datagram to a
// closed port, captured with tcpdump on the client's veth; the model runs the same exchange
// and the normalised frame sequences must be equal (ISNs, TSvals, ports and non-zero IP IDs
// normalised; frame by frame including ARP, flags, relative seq/ack, window field, option
// layout, DF, TTL, and which packets carry IP ID 0).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../../helpers/tools.js';
import { Lab, sleep } from '../../kernel/harness/netns.js';
import { readCapture } from '../../../src/pcap/reader.js';
import { millis, seconds } from '../../../src/sim/clock.js';
import { frameLines, type Frame } from './frames.js';
import { B, buildPair, modelExchange, SETUP } from './model-pair.js';

const why = missing({ root: true, tools: ['ip', 'tcpdump', 'python3'] });

const SERVER = `
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 8080)); s.listen()
print('listening', flush=True)
c, _ = s.accept(); c.recv(100); c.sendall(b'pong' * 3); time.sleep(0.3); c.close(); time.sleep(0.5)
`;

const CLIENT = `
import socket, time
c = socket.create_connection(('10.99.0.2', 8080)); c.sendall(b'hello')
while c.recv(100): pass
time.sleep(0.2); c.close(); time.sleep(0.3)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.connect(('10.99.0.2', 5353)); u.send(b'abc')
time.sleep(0.2)
try:
    u.send(b'abc'); print('no error')
except ConnectionRefusedError:
    print('ECONNREFUSED')
`;

describe.skipIf(why !== null)('sockets against the real kernel', () => {
  const lab = new Lab('sock');
  let kernel: string[] = [];
  let clientOut = '';

  beforeAll(async () => {
    for (const n of ['a', 'b']) {
      lab.addNetns(n);
      // The model has no IPv6: keep router solicitations and MLD reports off the capture.
      lab.exec(n, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
      lab.exec(n, ['sysctl', '-q', '-w', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    for (const [where, cmd] of SETUP) {
      if (cmd.startsWith('link set lo')) continue; // addNetns did it
      lab.ip(where, ...cmd.replace('netns b', `netns ${lab.ns('b')}`).split(' '));
    }
    const stop = await lab.capture('a', 'va');
    const srv = lab.spawn('b', ['python3', '-c', SERVER]);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('server did not start')), 10_000);
      srv.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    clientOut = lab.exec('a', ['python3', '-c', CLIENT]);
    await sleep(300);
    const pcap = readCapture(await stop());
    const frames: Frame[] = pcap.records.map((r) => ({ time: Number(r.timestampNs % 1_000_000_000_000n), bytes: r.data }));
    kernel = frameLines(frames);
    if (process.env.KW_SHOW) console.log(kernel.join('\n'));
  }, 60_000);

  afterAll(() => {
    lab.cleanup();
    expect(lab.leftovers()).toEqual([]);
  });

  it('the TCP exchange is frame for frame what Linux sends, SYN options and windows included', () => {
    const model = frameLines(modelExchange().frames);
    const tcpOnly = (l: string[]) => l.filter((x) => x.includes(' TCP ') || x.includes(' ARP '));
    expect(tcpOnly(model)).toEqual(tcpOnly(kernel));
    // And the SYN really is the 20-byte layout with window 64240.
    expect(kernel.find((l) => l.includes('[S]'))).toBe('out TCP C>S [S] 0 win 64240 [mss 1460,sackOK,TS,nop,wscale 10] DF id+');
  });

  it('UDP to a closed port: ICMP port unreachable (TOS 0xc0, DF clear, whole datagram quoted), then ECONNREFUSED', () => {
    const m = buildPair();
    const u = m.a.udp().connect(B, 5353);
    let refused = false;
    m.env.clock.run(seconds(1));
    u.send(new TextEncoder().encode('abc'));
    m.env.clock.run(seconds(1) + millis(200));
    try {
      u.send(new TextEncoder().encode('abc'));
    } catch {
      refused = true;
    }
    const udpOnly = (l: string[]) => l.filter((x) => x.includes(' UDP ') || x.includes(' ICMP '));
    // The kernel capture has the second datagram only if send succeeded; it did not.
    expect(clientOut.trim()).toBe('ECONNREFUSED');
    expect(refused).toBe(true);
    expect(udpOnly(frameLines(m.frames))).toEqual(udpOnly(kernel));
  });
});
