import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import { Ipv4Packet } from '../../../src/wire/ipv4.js';
import { UdpPacket } from '../../../src/wire/udp.js';
import { IcmpPacket } from '../../../src/wire/icmp.js';
import { millis } from '../../../src/sim/clock.js';
import { SocketError, type Errno } from '../../../src/linux/sock/errors.js';
import type { SockTraceEvent } from '../../../src/linux/sock/trace.js';
import { FakeNet } from './fake-ip.js';

const A = ipv4(10, 99, 0, 1);
const B = ipv4(10, 99, 0, 2);
const enc = (s: string) => new TextEncoder().encode(s);

function pair(seed = 1) {
  const net = new FakeNet(seed);
  return { net, a: net.host('a', A), b: net.host('b', B) };
}

describe('UDP', () => {
  it('sendto from an unbound socket: ephemeral port, DF, checksum, hashed IP IDs; recvfrom sees the peer', () => {
    const { net, a, b } = pair();
    const srv = b.sock.udp().bind(5353);
    const got: Array<[string, number, number]> = [];
    srv.onMessage = (d, from) => got.push([new TextDecoder().decode(d), from.addr, from.port]);
    const cli = a.sock.udp();
    cli.sendto(enc('q1'), B, 5353);
    cli.sendto(enc('q2'), B, 5353);
    net.clock.run(millis(5));
    expect(cli.localPort).toBeGreaterThanOrEqual(32768);
    expect(cli.localPort).toBeLessThanOrEqual(60999);
    expect(cli.localAddr).toBe(0); // autobind is to INADDR_ANY
    expect(got).toEqual([['q1', A, cli.localPort], ['q2', A, cli.localPort]]);
    const [p1, p2] = net.captured.map((c) => Ipv4Packet.checked(c.bytes));
    expect(p1!.dontFragment()).toBe(true);
    expect(p1!.ttl()).toBe(64);
    // Two datagrams in the same jiffy to the same peer: consecutive IDs from one bucket.
    expect(p2!.ident()).toBe((p1!.ident() + 1) & 0xffff);
    const u = UdpPacket.checked(p1!.bytes, p1!.payloadOffset(), p1!.payloadLength());
    expect(u.checksum()).not.toBe(0);
    expect(u.checksumValid(A, B)).toBe(true);
    expect(u.length()).toBe(10);
  });

  it('no socket: the handler reports it and the stack answers ICMP port unreachable quoting the datagram', () => {
    const { net, a } = pair();
    const cli = a.sock.udp();
    cli.sendto(enc('abc'), B, 5354);
    net.clock.run(millis(5));
    expect(net.captured.length).toBe(2);
    const err = Ipv4Packet.checked(net.captured[1]!.bytes);
    const icmp = IcmpPacket.checked(err.bytes, err.payloadOffset(), err.payloadLength());
    expect([icmp.type(), icmp.code()]).toEqual([3, 3]);
    expect(Buffer.from(icmp.data()).equals(Buffer.from(net.captured[0]!.bytes))).toBe(true);
    const ev = (net.trace.events as SockTraceEvent[]).find((e) => e.kind === 'sock.lookup' && e.node === 'b');
    expect(ev).toMatchObject({ how: 'none', verdict: 'no-socket', tuple: `10.99.0.2:5354->10.99.0.1:${cli.localPort}` });
  });

  it('a connected socket learns ECONNREFUSED: onError, then the next send fails once (as send(2))', () => {
    const { net, a } = pair();
    const cli = a.sock.udp().connect(B, 5355);
    const errs: Errno[] = [];
    cli.onError = (e) => errs.push(e);
    expect(cli.localAddr).toBe(A);
    cli.send(enc('x'));
    net.clock.run(millis(5));
    expect(errs).toEqual(['ECONNREFUSED']);
    expect(() => cli.send(enc('y'))).toThrow(SocketError);
    expect(() => cli.send(enc('z'))).not.toThrow();
    // A connected socket numbers its datagrams from its own counter.
    const ids = net.captured.filter((c) => c.from === 'a').map((c) => Ipv4Packet.checked(c.bytes).ident());
    expect(ids[1]).toBe((ids[0]! + 1) & 0xffff);
  });

  it('an unconnected socket is not told of ICMP errors (no IP_RECVERR)', () => {
    const { net, a } = pair();
    const cli = a.sock.udp();
    const errs: Errno[] = [];
    cli.onError = (e) => errs.push(e);
    cli.sendto(enc('x'), B, 5356);
    net.clock.run(millis(5));
    expect(errs).toEqual([]);
    expect(() => cli.sendto(enc('y'), B, 5356)).not.toThrow();
  });

  it('bind conflicts: same port EADDRINUSE unless both SO_REUSEADDR; a wildcard and a specific address conflict', () => {
    const { b } = pair();
    b.sock.udp().bind(53);
    expect(() => b.sock.udp().bind(53)).toThrow(/EADDRINUSE/);
    expect(() => b.sock.udp().bind(53, B)).toThrow(/EADDRINUSE/);
    b.sock.udp().bind(54, 0 as never, { reuseAddr: true });
    expect(() => b.sock.udp().bind(54, 0 as never, { reuseAddr: true })).not.toThrow();
    expect(() => b.sock.udp().bind(55, ipv4(10, 1, 1, 1))).toThrow(/EADDRNOTAVAIL/);
  });

  it('lookup prefers the connected socket over a wildcard one on the same port (compute_score)', () => {
    const { net, a, b } = pair();
    const wild = b.sock.udp().bind(7000, 0 as never, { reuseAddr: true });
    const conn = b.sock.udp().bind(7000, B, { reuseAddr: true });
    const cli = a.sock.udp().bind(7001);
    conn.connect(A, 7001);
    const seen: string[] = [];
    wild.onMessage = () => seen.push('wild');
    conn.onMessage = () => seen.push('conn');
    cli.sendto(enc('1'), B, 7000);
    const other = a.sock.udp().bind(7002);
    other.sendto(enc('2'), B, 7000);
    net.clock.run(millis(5));
    expect(seen).toEqual(['conn', 'wild']);
  });
});

describe('UDP on a socket bound to INADDR_ANY with several local addresses', () => {
  it('onMessage tells the address asked; sendto with src answers from it (IP_PKTINFO)', () => {
    const { net, a, b } = pair();
    const srv = b.sock.udp().bind(53);
    srv.onMessage = (d, from, to) => {
      expect(to).toEqual({ addr: B, port: 53 });
      srv.sendto(d, from.addr, from.port, { src: to.addr });
    };
    const cli = a.sock.udp();
    let echoed = '';
    cli.onMessage = (d, from) => {
      echoed = `${new TextDecoder().decode(d)} from ${from.addr === B ? 'B' : '?'}:${from.port}`;
    };
    cli.sendto(enc('q'), B, 53);
    net.clock.run(millis(5));
    expect(echoed).toBe('q from B:53');
    expect(() => srv.sendto(enc('x'), A, 1, { src: ipv4(10, 9, 9, 9) })).toThrow(/EINVAL/);
  });
});

describe('UDP larger than the path MTU', () => {
  it('leaves without DF so the IP layer fragments it (IP_PMTUDISC_WANT); one that fits has DF', () => {
    const { net, a, b } = pair();
    b.sock.udp().bind(9);
    const u = a.sock.udp();
    u.sendto(new Uint8Array(1472), B, 9);
    u.sendto(new Uint8Array(1473), B, 9);
    const [fits, big] = net.captured.filter((c) => c.from === 'a').map((c) => Ipv4Packet.checked(c.bytes));
    expect(fits!.totalLength()).toBe(1500);
    expect(fits!.dontFragment()).toBe(true);
    expect(big!.dontFragment()).toBe(false);
  });
});
