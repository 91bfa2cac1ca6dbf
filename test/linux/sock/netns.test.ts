// The socket layer on the real namespace model (src/linux Netns): two namespaces joined by a
// veth, frames captured on the client's veth as tcpdump would see them there.
import { describe, expect, it } from 'vitest';
import { millis } from '../../../src/sim/clock.js';
import type { Errno } from '../../../src/linux/sock/errors.js';
import type { EchoReply } from '../../../src/linux/sock/ping.js';
import { frameLines } from './frames.js';
import { B, buildPair, modelExchange } from './model-pair.js';

const enc = (s: string) => new TextEncoder().encode(s);

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

describe('TCP over loopback in the namespace model', () => {
  it('MSS and windows follow lo\'s MTU 65536 as a real capture on lo shows (65495, 65483, 64)', () => {
    const m = buildPair();
    const frames: Array<{ bytes: Uint8Array }> = [];
    captureDeviceForTest(m.ns.a.dev('lo')!, frames);
    m.a.tcpListen(8080, () => ({}));
    m.a.tcpConnect(ipv4(127, 0, 0, 1), 8080, {});
    m.env.clock.run(millis(10));
    // lo frames carry a zeroed Ethernet header, as tcpdump -i lo shows them.
    const lines = frameLines(frames.map((f) => ({ time: 0, bytes: f.bytes })));
    expect(lines.slice(0, 3).map((l) => l.replace(/^(in|out) /, ''))).toEqual([
      'TCP S>C [S] 0 win 65495 [mss 65495,sackOK,TS,nop,wscale 10] DF id+',
      'TCP S>C [S.] 0 ack 1 win 65483 [mss 65495,sackOK,TS,nop,wscale 10] DF id0',
      'TCP S>C [.] 1 ack 1 win 64 [nop,nop,TS] DF id+',
    ]);
  });
});

import { captureDevice } from '../../../src/linux/capture.js';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import type { NetDevice } from '../../../src/linux/link/device.js';
function captureDeviceForTest(dev: NetDevice, into: Array<{ bytes: Uint8Array }>): void {
  captureDevice(dev, { frame: (_n, _t, bytes, dir) => dir === 'out' && into.push({ bytes: bytes.slice() }) });
}
