// Serves the seed fixture's CoreDNS on 127.0.0.1:53 (UDP and TCP) inside a test network
// namespace, printing one JSON line per query it receives, so a real glibc resolver can be
// watched. Run by glibc-real.test.ts with `ip netns exec`.
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMsg } from '../../../src/apps/coredns/dns/message.js';
import { StreamFramer, frame } from '../../../src/apps/coredns/transport.js';
import { makeWorld } from '../coredns/fixture.js';

const w = makeWorld();
const log = (proto: string, port: number, b: Uint8Array): void => {
  const m = decodeMsg(b);
  process.stdout.write(`${JSON.stringify({ proto, port, id: m.id, name: m.question[0]?.name, type: m.question[0]?.type, edns: m.edns?.udpSize ?? null })}\n`);
};
const sock = dgram.createSocket('udp4');
// DROP=AAAA:1 swallows the first AAAA query, as the conntrack insert race does (kubernetes#56903).
let dropAaaa = process.env.DROP === 'AAAA:1' ? 1 : 0;
sock.on('message', (msg, r) => {
  const q = new Uint8Array(msg);
  log('udp', r.port, q);
  if (dropAaaa > 0 && decodeMsg(q).question[0]?.type === 'AAAA') {
    dropAaaa--;
    return;
  }
  w.dns.handleDatagram(53, q, { addr: r.address, port: r.port }, { addr: '127.0.0.1', port: 53 }, (b) => sock.send(b, r.port, r.address));
  w.eq.run();
});
net
  .createServer((c) => {
    const f = new StreamFramer((q) => {
      log('tcp', c.remotePort ?? 0, q);
      w.dns.handleDatagram(53, q, { addr: c.remoteAddress ?? '', port: c.remotePort ?? 0 }, { addr: '127.0.0.1', port: 53 }, (b) => c.write(frame(b)), 'tcp');
      w.eq.run();
    });
    c.on('data', (d) => f.push(new Uint8Array(d)));
  })
  .listen(53, '127.0.0.1', () => {
    sock.bind(53, '127.0.0.1', () => process.stdout.write('ready\n'));
  });
