import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import { Random } from '../../../src/sim/random.js';
import { EphemeralPorts, parsePortRange, DEFAULT_PORT_RANGE } from '../../../src/linux/sock/ports.js';
import { FakeNet } from './fake-ip.js';

const A = ipv4(10, 99, 0, 1);
const B = ipv4(10, 99, 0, 2);

describe('ephemeral ports', () => {
  it('parses ip_local_port_range as sysctl prints it, falling back to 32768-60999', () => {
    expect(parsePortRange('32768\t60999')).toEqual({ low: 32768, high: 60999 });
    expect(parsePortRange('1024 65535')).toEqual({ low: 1024, high: 65535 });
    expect(parsePortRange('garbage')).toEqual(DEFAULT_PORT_RANGE);
    expect(parsePortRange(undefined)).toEqual(DEFAULT_PORT_RANGE);
  });

  it('property: connect() ports are even (the range\'s low parity), in range and all different while in use', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.integer({ min: 1, max: 60 }), (seed, n) => {
        const ports = new EphemeralPorts(new Random(seed));
        const used = new Set<number>();
        for (let i = 0; i < n; i++) {
          const p = ports.connectPort(DEFAULT_PORT_RANGE, A, B, 80, (c) => !used.has(c))!;
          expect(p % 2).toBe(0);
          expect(p).toBeGreaterThanOrEqual(32768);
          expect(p).toBeLessThanOrEqual(60999);
          expect(used.has(p)).toBe(false);
          used.add(p);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('bind(0) / listen() ports are odd, as inet_csk_find_open_port', () => {
    const ports = new EphemeralPorts(new Random(9));
    for (let i = 0; i < 50; i++) expect(ports.bindPort(DEFAULT_PORT_RANGE, false, () => true)! % 2).toBe(1);
  });

  it('a small range fills even ports first, then odd ones, then EADDRNOTAVAIL; another peer may reuse them', () => {
    const net = new FakeNet(5);
    const a = net.host('a', A);
    net.host('b', B);
    a.sysctls.set('net.ipv4.ip_local_port_range', '40000\t40003');
    const got = [0, 1, 2, 3].map(() => a.sock.tcpConnect(B, 80, {}).localPort);
    expect(got.slice(0, 2).every((p) => p % 2 === 0)).toBe(true);
    expect(got.slice(2).every((p) => p % 2 === 1)).toBe(true);
    expect(new Set(got).size).toBe(4);
    expect(() => a.sock.tcpConnect(B, 80, {})).toThrow(/EADDRNOTAVAIL/);
    // Same local ports, other 4-tuples: connect() shares ports that only connect() holds.
    expect(a.sock.tcpConnect(B, 81, {}).localPort).toBeGreaterThanOrEqual(40000);
  });

  it('connect() skips a port held by bind() and a listener', () => {
    const net = new FakeNet(5);
    const a = net.host('a', A);
    net.host('b', B);
    a.sysctls.set('net.ipv4.ip_local_port_range', '40000\t40001');
    a.sock.tcpListen(40000, () => undefined);
    expect(a.sock.tcpConnect(B, 80, {}).localPort).toBe(40001);
    expect(() => a.sock.tcpConnect(B, 80, {})).toThrow(/EADDRNOTAVAIL/);
  });

  it('ping identifiers skip ones in use', () => {
    const ports = new EphemeralPorts(new Random(1));
    const used = new Set([2, 3]);
    expect(ports.pingIdent((c) => !used.has(c))).toBe(1);
    expect(ports.pingIdent((c) => !used.has(c))).toBe(4);
  });
});

describe('TCP table', () => {
  it('a listener on the exact address wins over one on INADDR_ANY; bind conflicts as Linux', () => {
    const net = new FakeNet(5);
    const b = net.host('b', B);
    const any = b.sock.tcpListen(80, () => undefined, { reuseAddr: true });
    expect(() => b.sock.tcpListen(80, () => undefined, { addr: B, reuseAddr: true })).toThrow(/EADDRINUSE/);
    any.close();
    const exact = b.sock.tcpListen(80, () => undefined, { addr: B });
    expect(b.sock.tcpTable.listener(B, 80)).toBe(exact);
    expect(b.sock.tcpTable.listener(ipv4(127, 0, 0, 1), 80)).toBeUndefined();
    const l0 = b.sock.tcpListen(0, () => undefined);
    expect(l0.localPort % 2).toBe(1);
  });
});

describe('restarting a server while its connections are in TIME_WAIT', () => {
  it('bind fails with EADDRINUSE without SO_REUSEADDR and succeeds with it (children inherit sk_reuse)', () => {
    const net = new FakeNet(8);
    const a = net.host('a', A);
    const b = net.host('b', B);
    const l = b.sock.tcpListen(8080, (s) => ({ onData: () => s.close() }), { reuseAddr: true });
    a.sock.tcpConnect(B, 8080, { onConnect: (s) => s.write(new Uint8Array([1])), onEnd: (s) => s.close() });
    net.clock.schedule(1_000_000_000, () => undefined);
    net.clock.run(1_000_000_000);
    expect(l.accepted_[0]!.state).toBe('TIME_WAIT');
    l.close();
    expect(() => b.sock.tcpListen(8080, () => undefined)).toThrow(/EADDRINUSE/);
    expect(() => b.sock.tcpListen(8080, () => undefined, { reuseAddr: true })).not.toThrow();
  });
});
