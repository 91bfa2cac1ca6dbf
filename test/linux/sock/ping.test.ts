import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import { Ipv4Packet } from '../../../src/wire/ipv4.js';
import { IcmpPacket } from '../../../src/wire/icmp.js';
import { millis, seconds } from '../../../src/sim/clock.js';
import { iputilsPayload, type EchoError, type EchoReply } from '../../../src/linux/sock/ping.js';
import { FakeNet } from './fake-ip.js';

const A = ipv4(10, 99, 0, 1);
const B = ipv4(10, 99, 0, 2);

describe('ping sockets', () => {
  it('an echo request is what iputils ping sends: 84 bytes, DF, 16-byte timeval then 0x10..0x37', () => {
    const net = new FakeNet();
    const a = net.host('a', A);
    net.host('b', B);
    const p = a.sock.ping({ epochSeconds: 1_700_000_000 });
    net.clock.schedule(seconds(3) + millis(250), () => p.send(B));
    net.clock.run(seconds(3) + millis(250));
    const ip = Ipv4Packet.checked(net.captured[0]!.bytes);
    expect(ip.totalLength()).toBe(84);
    expect(ip.dontFragment()).toBe(true);
    expect(ip.ttl()).toBe(64);
    const icmp = IcmpPacket.checked(ip.bytes, ip.payloadOffset(), ip.payloadLength());
    expect([icmp.type(), icmp.code(), icmp.ident(), icmp.seq()]).toEqual([8, 0, p.ident, 1]);
    expect(icmp.checksumValid()).toBe(true);
    const d = icmp.data();
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    expect(dv.getBigUint64(0, true)).toBe(1_700_000_003n);
    expect(dv.getBigUint64(8, true)).toBe(250_000n);
    expect([...d.subarray(16)]).toEqual(Array.from({ length: 40 }, (_, i) => 0x10 + i));
  });

  it('iputilsPayload with -s 8 keeps only the pattern (no room for a timestamp)', () => {
    expect([...iputilsPayload(seconds(5), 8)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('the reply comes back to the socket with id, seq, data and the RTT; idents count 1, 2 ...', () => {
    const net = new FakeNet();
    const a = net.host('a', A);
    net.host('b', B);
    const p1 = a.sock.ping();
    const p2 = a.sock.ping();
    expect([p1.ident, p2.ident]).toEqual([1, 2]);
    const replies: EchoReply[] = [];
    p1.onReply = (r) => replies.push(r);
    p2.onReply = () => {
      throw new Error('reply delivered to the wrong socket');
    };
    p1.send(B);
    p1.send(B);
    net.clock.run(millis(10));
    expect(replies.map((r) => [r.from, r.ident, r.seq, r.rttNs])).toEqual([
      [B, 1, 1, 2 * net.latencyNs],
      [B, 1, 2, 2 * net.latencyNs],
    ]);
    expect(replies[0]!.data.length).toBe(56);
  });

  it('an ICMP error quoting our request reaches the socket (iputils prints it)', () => {
    const net = new FakeNet();
    const a = net.host('a', A);
    const C = ipv4(10, 99, 0, 9);
    net.unreachable.set(C, ipv4(10, 99, 0, 254));
    const p = a.sock.ping({ ident: 0x1234 });
    const errs: EchoError[] = [];
    p.onError = (e) => errs.push(e);
    p.send(C, 7);
    net.clock.run(millis(10));
    expect(errs).toEqual([{ from: ipv4(10, 99, 0, 254), type: 3, code: 1, seq: 7 }]);
  });
});
