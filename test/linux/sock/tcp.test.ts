import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import { Ipv4Packet } from '../../../src/wire/ipv4.js';
import { TcpSegment } from '../../../src/wire/tcp.js';
import { buildTcp } from '../../../src/wire/build.js';
import { seconds, millis } from '../../../src/sim/clock.js';
import type { TcpSocket } from '../../../src/linux/sock/tcp.js';
import type { Errno } from '../../../src/linux/sock/errors.js';
import type { SockTraceEvent } from '../../../src/linux/sock/trace.js';
import { FakeNet } from './fake-ip.js';
import { tcpFlow } from './flow.js';

const A = ipv4(10, 99, 0, 1);
const B = ipv4(10, 99, 0, 2);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function pair(seed = 1, mtu = 1500) {
  const net = new FakeNet(seed);
  const a = net.host('a', A, mtu);
  const b = net.host('b', B, mtu);
  return { net, a, b };
}

describe('TCP handshake bytes', () => {
  it('SYN is what Linux 6.x sends: 60-byte IPv4, DF, window 64240, options mss,sackOK,TS,nop,wscale 10', () => {
    const { net, a, b } = pair();
    b.sock.tcpListen(8080, () => ({}));
    a.sock.tcpConnect(B, 8080, {});
    net.clock.run(millis(10));
    const [syn, synack, ack] = tcpFlow(net.captured);
    // IPv4: 45 00 003c id 4000 40 06
    expect(syn!.ip.totalLength()).toBe(60);
    expect(syn!.ip.dontFragment()).toBe(true);
    expect(syn!.ip.ttl()).toBe(64);
    expect(syn!.ip.tos()).toBe(0);
    expect(syn!.line).toBe('C>S [S] 0 win 64240');
    const o = syn!.seg.optionBytes();
    const tsval = syn!.seg.tsval();
    // 02 04 05b4 | 04 02 | 08 0a tsval 00000000 | 01 | 03 03 0a
    expect([...o]).toEqual([2, 4, 5, 0xb4, 4, 2, 8, 10, tsval >>> 24, (tsval >>> 16) & 255, (tsval >>> 8) & 255, tsval & 255, 0, 0, 0, 0, 1, 3, 3, 10]);
    expect(syn!.seg.ack()).toBe(0);
    expect(syn!.seg.urgent()).toBe(0);
    expect(syn!.seg.checksumValid(syn!.ip.src(), syn!.ip.dst())).toBe(true);
    // SYN-ACK: window 65160 (45 * 1448), same option layout, TS ecr = SYN's TSval, IP ID 0.
    expect(synack!.line).toBe('S>C [S.] 0 ack 1 win 65160');
    expect(synack!.ipId).toBe(0);
    expect(synack!.ip.dontFragment()).toBe(true);
    const so = synack!.seg.optionBytes();
    expect([...so.subarray(0, 8)]).toEqual([2, 4, 5, 0xb4, 4, 2, 8, 10]);
    expect([...so.subarray(16)]).toEqual([1, 3, 3, 10]);
    expect(synack!.seg.tsecr()).toBe(tsval);
    // Third packet: window 63 (64240 rounded up to 1024, >> 10), NOP NOP TS, next IP ID.
    expect(ack!.line).toBe('C>S [.] 1 ack 1 win 63');
    expect([...ack!.seg.optionBytes().subarray(0, 4)]).toEqual([1, 1, 8, 10]);
    expect(ack!.seg.tsecr()).toBe(synack!.seg.tsval());
    expect(ack!.ipId).toBe((syn!.ipId + 1) & 0xffff);
  });

  it('MSS is the route MTU - 40 and the window a multiple of it (pod MTU 1450: 1410, 64860)', () => {
    const { net, a, b } = pair(3, 1450);
    b.sock.tcpListen(80, () => ({}));
    a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(10));
    const [syn, synack] = tcpFlow(net.captured);
    expect(syn!.seg.mss()).toBe(1410);
    expect(syn!.seg.window()).toBe(64860);
    expect(synack!.seg.window()).toBe(64308); // rounddown(65536, 1410 - 12) = 46 * 1398
  });

  it('TSval follows the ms clock from a per-connection offset', () => {
    const { net, a, b } = pair();
    b.sock.tcpListen(80, () => ({}));
    net.clock.run(seconds(5));
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(seconds(5) + millis(10));
    c.write(enc('x'));
    net.clock.run(seconds(5) + millis(260));
    const flow = tcpFlow(net.captured).filter((l) => l.line.startsWith('C>S'));
    const first = flow[0]!.seg.tsval();
    const last = flow[flow.length - 1]!.seg.tsval();
    expect((last - first) >>> 0).toBe(Math.floor((flow[flow.length - 1]!.time - flow[0]!.time) / 1e6));
  });

  it('the same seed gives byte-identical packets; another seed other ISNs and ports', () => {
    const run = (seed: number) => {
      const { net, a, b } = pair(seed);
      b.sock.tcpListen(80, () => ({}));
      a.sock.tcpConnect(B, 80, {});
      net.clock.run(millis(5));
      return net.captured.map((c) => Buffer.from(c.bytes).toString('hex'));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)[0]).not.toEqual(run(8)[0]);
  });
});

describe('TCP exchange as a real capture shows it', () => {
  const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
  it.each(SEEDS)('request, response, server closes first, client closes: segment for segment (seed %i)', (seed) => {
    // Linux 6.18, two namespaces on a veth: python3 create_connection + sendall(b"hello"),
    // server recv, sendall(b"pong"*3), sleep 0.3, close; client sleeps 0.5 then close.
    const { net, a, b } = pair(seed);
    let server: TcpSocket | null = null;
    const got: string[] = [];
    b.sock.tcpListen(8080, (s) => {
      server = s;
      return {
        onData: (sk, d) => {
          got.push(`server:${dec(d)}`);
          sk.write(enc('pongpongpong'));
          net.clock.schedule(millis(300), () => sk.close());
        },
      };
    });
    const events: string[] = [];
    const c = a.sock.tcpConnect(B, 8080, {
      onConnect: (s) => s.write(enc('hello')),
      onData: (_s, d) => got.push(`client:${dec(d)}`),
      onEnd: (s) => {
        events.push('client:end');
        net.clock.schedule(millis(200), () => s.close());
      },
      onClose: (_s, e) => events.push(`client:close:${e}`),
    });
    net.clock.run(seconds(1));
    expect(got).toEqual(['server:hello', 'client:pongpongpong']);
    const lines = tcpFlow(net.captured).map((l) => l.line);
    expect(lines).toEqual([
      'C>S [S] 0 win 64240',
      'S>C [S.] 0 ack 1 win 65160',
      'C>S [.] 1 ack 1 win 63',
      'C>S [P.] 1:6 ack 1 win 63',
      'S>C [.] 1 ack 6 win 64',
      'S>C [P.] 1:13 ack 6 win 64',
      'C>S [.] 6 ack 13 win 63',
      'S>C [F.] 13 ack 6 win 64',
      'C>S [.] 6 ack 14 win 63',
      'C>S [F.] 6 ack 14 win 63',
      'S>C [.] 14 ack 7 win 64',
    ]);
    const flow = tcpFlow(net.captured);
    // The client's ACK of the FIN is delayed by the 40 ms ATO (pingpong after tcp_fin).
    expect(flow[8]!.time - flow[7]!.time).toBe(millis(40) + 100_000);
    // The server's last ACK comes from its time-wait socket: IP ID 0.
    expect(flow[10]!.ipId).toBe(0);
    expect(flow[5]!.ipId).toBe((flow[4]!.ipId + 1) & 0xffff);
    expect(c.state).toBe('CLOSE');
    expect(server!.state).toBe('TIME_WAIT');
    expect(events).toEqual(['client:end', 'client:close:null']);
    // TIME_WAIT lasts 60 s on the simulated clock from the FIN that started it.
    const twStart = flow[9]!.time + net.latencyNs;
    net.clock.run(twStart + seconds(59.9));
    expect(server!.state).toBe('TIME_WAIT');
    net.clock.run(twStart + seconds(60));
    expect(server!.state).toBe('CLOSE');
    expect(b.sock.tcpTable.established(B, 8080, A, c.localPort)).toBeUndefined();
  });

  it.each(SEEDS)('client half-closes first: the server ACKs the FIN after 40 ms, then sends its own (seed %i)', (seed) => {
    const { net, a, b } = pair(seed);
    b.sock.tcpListen(8081, () => ({
      onData: (sk) => sk.write(new Uint8Array(3000)),
      onEnd: (sk) => net.clock.schedule(millis(200), () => sk.close()),
    }));
    let received = 0;
    a.sock.tcpConnect(B, 8081, {
      onConnect: (s) => s.write(enc('hi')),
      onData: (s, d) => {
        received += d.length;
        if (received === 3000) net.clock.schedule(millis(300), () => s.end());
      },
    });
    net.clock.run(seconds(2));
    const flow = tcpFlow(net.captured);
    expect(flow.map((l) => l.line)).toEqual([
      'C>S [S] 0 win 64240',
      'S>C [S.] 0 ack 1 win 65160',
      'C>S [.] 1 ack 1 win 63',
      'C>S [P.] 1:3 ack 1 win 63',
      'S>C [.] 1 ack 3 win 64',
      // Linux's veth capture shows one 3000-byte GSO segment; on a wire it is cut at the MSS.
      'S>C [.] 1:1449 ack 3 win 64',
      'S>C [.] 1449:2897 ack 3 win 64',
      'S>C [P.] 2897:3001 ack 3 win 64',
      // The window grows with the data (tcp_grow_window): 69 as in the capture.
      'C>S [.] 3 ack 1449 win 66',
      'C>S [.] 3 ack 2897 win 69',
      'C>S [.] 3 ack 3001 win 69',
      'C>S [F.] 3 ack 3001 win 69',
      'S>C [.] 3001 ack 4 win 64',
      'S>C [F.] 3001 ack 4 win 64',
      'C>S [.] 4 ack 3002 win 69',
    ]);
    const fin = flow[11]!;
    expect(flow[12]!.time - fin.time).toBe(millis(40) + 100_000);
    // IP IDs of the server's data run on from its counter, one per segment.
    expect(flow[6]!.ipId).toBe((flow[5]!.ipId + 1) & 0xffff);
  });

  it('simultaneous close goes through CLOSING to TIME_WAIT on both sides', () => {
    const { net, a, b } = pair(4);
    let server: TcpSocket | null = null;
    b.sock.tcpListen(80, (s) => {
      server = s;
    });
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(10));
    c.close();
    server!.close();
    net.clock.run(millis(20));
    expect(c.state).toBe('TIME_WAIT');
    expect(server!.state).toBe('TIME_WAIT');
    const lines = tcpFlow(net.captured).slice(3).map((l) => l.line);
    expect(lines).toEqual(['C>S [F.] 1 ack 1 win 63', 'S>C [F.] 1 ack 1 win 64', 'S>C [.] 2 ack 2 win 64', 'C>S [.] 2 ack 2 win 63']);
  });
});

describe('TCP resets and errors', () => {
  it('RST to a closed port as tcp_v4_send_reset: R. seq 0 ack ISN+1 win 0, IP ID 0, ECONNREFUSED', () => {
    const { net, a } = pair();
    const errs: Errno[] = [];
    const c = a.sock.tcpConnect(B, 9999, { onError: (_s, e) => errs.push(e) });
    net.clock.run(millis(10));
    const [syn, rst] = tcpFlow(net.captured);
    expect(rst!.seg.flags()).toBe(0x14);
    expect(rst!.seg.seq()).toBe(0);
    expect(rst!.seg.ack()).toBe((syn!.seg.seq() + 1) >>> 0);
    expect(rst!.seg.window()).toBe(0);
    expect(rst!.seg.headerLength()).toBe(20);
    expect(rst!.ip.ident()).toBe(0);
    expect(rst!.ip.totalLength()).toBe(40);
    expect(rst!.ip.dontFragment()).toBe(true);
    expect(errs).toEqual(['ECONNREFUSED']);
    expect(c.state).toBe('CLOSE');
    const rstEv = (net.trace.events as SockTraceEvent[]).find((e) => e.kind === 'tcp.rst' && e.dir === 'sent');
    expect(rstEv).toMatchObject({ step: 'tcp_v4_send_reset', why: 'no socket', flags: 'R.' });
  });

  it('a segment with ACK to a closed port gets a bare RST with seq = its ack', () => {
    const { net, a, b } = pair();
    const l = b.sock.tcpListen(80, () => ({}));
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(10));
    // The server side disappears without telling the client (e.g. the process was killed).
    const child = l.accepted_[0]!;
    (child as unknown as { finish(e: null): void }).finish(null);
    l.close();
    c.write(enc('data'));
    net.clock.run(millis(20));
    const flow = tcpFlow(net.captured);
    const data = flow.find((x) => x.line.startsWith('C>S [P.]'))!;
    const rst = flow[flow.length - 1]!;
    expect(rst.seg.flags()).toBe(0x04);
    expect(rst.seg.seq()).toBe(data.seg.ack());
    expect(c.state).toBe('CLOSE');
  });

  it('a dropped SYN is resent every second 5 times, then after 2, 4 ... s (tcp_syn_linear_timeouts 4), 10 times in all, then ETIMEDOUT at 131 s', () => {
    // Linux 6.18: tcp_write_timeout allows tcp_syn_retries + tcp_syn_linear_timeouts resends.
    const { net, a } = pair();
    net.drop = () => true;
    const errs: Array<[number, Errno]> = [];
    a.sock.tcpConnect(B, 80, { onError: (_s, e) => errs.push([net.clock.now, e]) });
    net.clock.run(seconds(200));
    const times = net.captured.map((c) => c.time / 1e9);
    expect(times).toEqual([0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
    const seqs = new Set(tcpFlow(net.captured).map((l) => l.seg.seq()));
    expect(seqs.size).toBe(1);
    expect(errs).toEqual([[seconds(131), 'ETIMEDOUT']]);
  });

  it('with tcp_syn_linear_timeouts 0 (kernels before it): 1, 2, 4 ... s, 6 times, then ETIMEDOUT at 127 s', () => {
    const { net, a } = pair();
    a.sysctls.set('net.ipv4.tcp_syn_linear_timeouts', '0');
    net.drop = () => true;
    const errs: Array<[number, Errno]> = [];
    a.sock.tcpConnect(B, 80, { onError: (_s, e) => errs.push([net.clock.now, e]) });
    net.clock.run(seconds(200));
    expect(net.captured.map((c) => c.time / 1e9)).toEqual([0, 1, 3, 7, 15, 31, 63]);
    expect(errs).toEqual([[seconds(127), 'ETIMEDOUT']]);
  });

  it('ICMP host unreachable aborts a connect with EHOSTUNREACH and no RST', () => {
    const { net, a } = pair();
    const C = ipv4(10, 99, 0, 9);
    net.unreachable.set(C, ipv4(10, 99, 0, 254));
    const errs: Errno[] = [];
    const c = a.sock.tcpConnect(C, 80, { onError: (_s, e) => errs.push(e) });
    net.clock.run(seconds(5));
    expect(errs).toEqual(['EHOSTUNREACH']);
    expect(c.state).toBe('CLOSE');
    expect(tcpFlow(net.captured).map((l) => l.line)).toEqual(['C>S [S] 0 win 64240']);
  });

  it('data to a closed socket after close() is answered with RST', () => {
    const { net, a, b } = pair();
    let server: TcpSocket | null = null;
    b.sock.tcpListen(80, (s) => {
      server = s;
    });
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(10));
    server!.close();
    net.clock.run(millis(20));
    c.write(enc('late'));
    net.clock.run(millis(30));
    const last = tcpFlow(net.captured).at(-1)!;
    expect(last.line.startsWith('S>C [R')).toBe(true);
    expect(c.state).toBe('CLOSE');
  });
});

describe('TCP data', () => {
  it('a lost data segment is retransmitted after the RTO (>= 200 ms) and arrives once', () => {
    const { net, a, b } = pair();
    let got = '';
    b.sock.tcpListen(80, () => ({ onData: (_s, d) => (got += dec(d)) }));
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(10));
    let dropped = false;
    net.drop = (bytes) => {
      const ip = Ipv4Packet.checked(bytes);
      const seg = TcpSegment.checked(bytes, ip.payloadOffset(), ip.payloadLength());
      if (!dropped && seg.payloadLength() > 0) {
        dropped = true;
        return true;
      }
      return false;
    };
    c.write(enc('hello world'));
    net.clock.run(seconds(2));
    expect(got).toBe('hello world');
    const data = tcpFlow(net.captured).filter((l) => l.seg.payloadLength() > 0);
    expect(data.length).toBe(2);
    expect(data[1]!.time - data[0]!.time).toBeGreaterThanOrEqual(millis(200));
    expect(data[1]!.seg.seq()).toBe(data[0]!.seg.seq());
  });

  it('property: any sequence of writes, with some segments lost, arrives complete and in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6000 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        (sizes, lost, seed) => {
          const { net, a, b } = pair(seed);
          const chunks: number[] = [];
          b.sock.tcpListen(80, () => ({ onData: (_s, d) => chunks.push(...d) }));
          const sent: number[] = [];
          const c = a.sock.tcpConnect(B, 80, {
            onConnect: (s) => {
              let k = 0;
              for (const n of sizes) {
                const d = new Uint8Array(n);
                for (let i = 0; i < n; i++) d[i] = (k++ * 7 + n) & 255;
                sent.push(...d);
                s.write(d);
              }
              s.end();
            },
          });
          const lostSet = new Set(lost.map((x) => x + 3));
          net.drop = (_b, i) => lostSet.has(i);
          net.clock.run(seconds(120));
          expect(chunks.length).toBe(sent.length);
          expect(Buffer.from(chunks).equals(Buffer.from(sent))).toBe(true);
          expect(c.state === 'FIN_WAIT2' || c.state === 'TIME_WAIT' || c.state === 'CLOSE').toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('trace events name the lookup, the SYNs and every state change', () => {
    const { net, a, b } = pair();
    b.sock.tcpListen(80, () => ({}));
    a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(10));
    const ev = net.trace.events as SockTraceEvent[];
    const states = ev.filter((e) => e.kind === 'tcp.state').map((e) => (e.kind === 'tcp.state' ? `${e.node}:${e.from}->${e.to}` : ''));
    expect(states).toEqual(['a:CLOSE->SYN_SENT', 'b:LISTEN->SYN_RECV', 'a:SYN_SENT->ESTABLISHED', 'b:SYN_RECV->ESTABLISHED']);
    const lookups = ev.filter((e) => e.kind === 'sock.lookup').map((e) => (e.kind === 'sock.lookup' ? `${e.node}:${e.how}` : ''));
    expect(lookups).toEqual(['b:listener', 'a:established', 'b:established']);
  });
});

describe('TCP edge cases', () => {
  it('a lost SYN-ACK: the request socket resends it on the client\'s retransmitted SYN and on its own timer', () => {
    const { net, a, b } = pair(9);
    let accepted = 0;
    b.sock.tcpListen(80, () => {
      accepted++;
    });
    let synacks = 0;
    net.drop = (bytes) => {
      const ip = Ipv4Packet.checked(bytes);
      const seg = TcpSegment.checked(bytes, ip.payloadOffset(), ip.payloadLength());
      return seg.syn() && seg.ackFlag() && synacks++ === 0;
    };
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(seconds(3));
    expect(c.state).toBe('ESTABLISHED');
    expect(accepted).toBe(1);
    const lines = tcpFlow(net.captured).map((l) => `${l.time / 1e9} ${l.line}`);
    expect(lines.slice(0, 4)).toEqual([
      '0 C>S [S] 0 win 64240',
      '0.0001 S>C [S.] 0 ack 1 win 65160',
      '1 C>S [S] 0 win 64240',
      '1.0001 S>C [S.] 0 ack 1 win 65160',
    ]);
  });

  it('ICMP fragmentation needed lowers the MSS: the segment is resent in pieces that fit', () => {
    const { net, a, b } = pair(10);
    let got = 0;
    b.sock.tcpListen(80, () => ({ onData: (_s, d) => (got += d.length) }));
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(5));
    net.pathMtu = { mtu: 1400, from: ipv4(10, 99, 0, 254) };
    c.write(new Uint8Array(4000));
    net.clock.run(seconds(3));
    expect(got).toBe(4000);
    const delivered = tcpFlow(net.captured).filter((l) => l.line.startsWith('C>S') && l.seg.payloadLength() > 0 && l.ip.totalLength() <= 1400);
    expect(delivered.reduce((n, l) => n + l.seg.payloadLength(), 0)).toBeGreaterThanOrEqual(4000);
    expect(c.mss).toBe(1400 - 40 - 12);
  });

  it('a SYN for a 4-tuple in TIME_WAIT with a higher sequence opens a new connection (TCP_TW_SYN)', () => {
    const { net, a, b } = pair(12);
    let server: TcpSocket | null = null;
    b.sock.tcpListen(80, (s) => {
      server = s;
      return { onEnd: (sk) => sk.close() };
    });
    const c1 = a.sock.tcpConnect(B, 80, {}, { localPort: 45000, reuseAddr: true });
    net.clock.run(millis(5));
    server!.close(); // the server closes first and ends in TIME_WAIT
    net.clock.run(millis(10));
    c1.close();
    net.clock.run(millis(100));
    expect(server!.state).toBe('TIME_WAIT');
    const first = server!;
    const c2 = a.sock.tcpConnect(B, 80, {}, { localPort: 45000, reuseAddr: true });
    net.clock.run(millis(200));
    expect(c2.state).toBe('ESTABLISHED');
    expect(server).not.toBe(first);
    expect(first.state).toBe('CLOSE');
  });

  it('RST in the window but not at rcv_nxt gets a challenge ACK (RFC 5961), the connection lives', () => {
    const { net, a, b } = pair(13);
    let server: TcpSocket | null = null;
    b.sock.tcpListen(80, (s) => {
      server = s;
    });
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(5));
    const n = net.captured.length;
    // Forge a RST from the server side 100 bytes into the client's window.
    const srv = server!;
    const forged = new Uint8Array(40);
    const pkt = buildTcp({ src: B, dst: A, ident: 0, dontFragment: true }, { srcPort: 80, dstPort: c.localPort, seq: (srv.sndNxt + 100) >>> 0, ack: 0, flags: 0x04, window: 0, urgent: 0, options: [] });
    forged.set(pkt.data());
    a.receive(forged);
    net.clock.run(millis(10));
    expect(c.state).toBe('ESTABLISHED');
    const reply = tcpFlow(net.captured).slice(n).map((l) => l.line);
    expect(reply).toEqual(['C>S [.] 1 ack 1 win 63']);
  });
});


describe('TCP under loss in both directions', () => {
  it('property: whatever the first 40 packets lose, the data arrives whole and both ends close', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 0, maxLength: 5 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 10_000 }),
        (sizes, lost, seed) => {
          const { net, a, b } = pair(seed);
          const got: number[] = [];
          let server: TcpSocket | null = null;
          const closes: string[] = [];
          b.sock.tcpListen(80, (s) => {
            server = s;
            return {
              onData: (_s, d) => got.push(...d),
              onEnd: (sk) => sk.close(),
              onClose: (_s, e) => closes.push(`server:${e}`),
            };
          });
          const sent: number[] = [];
          const c = a.sock.tcpConnect(B, 80, {
            onConnect: (s) => {
              for (const n of sizes) {
                const d = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255);
                sent.push(...d);
                s.write(d);
              }
              s.close();
            },
            onClose: (_s, e) => closes.push(`client:${e}`),
          });
          const lostSet = new Set(lost);
          net.drop = (_b, i) => lostSet.has(i);
          net.clock.run(seconds(400));
          expect(Buffer.from(got).equals(Buffer.from(sent))).toBe(true);
          expect(c.state).toBe('CLOSE');
          expect(server).not.toBeNull();
          expect(server!.state).toBe('CLOSE');
          expect(closes.sort()).toEqual(['client:null', 'server:null']);
          expect(a.sock.tcpTable.all().length).toBe(0);
          expect(b.sock.tcpTable.all().filter((s) => !s.listening).length).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('TCP under reordering and duplication', () => {
  it('property: reordered and duplicated segments still give the exact byte stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 3_000_000 }), { minLength: 60, maxLength: 60 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 10_000 }),
        (sizes, delays, dups, seed) => {
          const { net, a, b } = pair(seed);
          const got: number[] = [];
          b.sock.tcpListen(80, () => ({ onData: (_s, d) => got.push(...d), onEnd: (sk) => sk.close() }));
          const sent: number[] = [];
          const c = a.sock.tcpConnect(B, 80, {
            onConnect: (s) => {
              for (const n of sizes) {
                const d = new Uint8Array(n).map((_, i) => (i * 7 + n) & 255);
                sent.push(...d);
                s.write(d);
              }
              s.close();
            },
          });
          net.jitter = (i) => delays[i] ?? 0;
          const dupSet = new Set(dups);
          net.duplicate = (i) => dupSet.has(i);
          net.clock.run(seconds(400));
          expect(Buffer.from(got).equals(Buffer.from(sent))).toBe(true);
          expect(c.state).toBe('CLOSE');
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('TCP SACK from the receiver', () => {
  const optsOf = (l: { seg: TcpSegment }) => l.seg.options().map((o) => (o.kind === 'sack' ? `sack ${o.blocks.map(([x, y]) => `${x}-${y}`).join(' ')}` : o.kind)).join(',');

  it('an out-of-order segment is SACKed in the duplicate ACK; the block goes once the hole fills', () => {
    const { net, a, b } = pair(31);
    let got = 0;
    b.sock.tcpListen(80, () => ({ onData: (_s, d) => (got += d.length) }));
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(5));
    let n = 0;
    net.drop = (bytes) => {
      const ip = Ipv4Packet.checked(bytes);
      const seg = TcpSegment.checked(bytes, ip.payloadOffset(), ip.payloadLength());
      return seg.payloadLength() > 0 && n++ === 1; // the second data segment, once
    };
    c.write(new Uint8Array(3 * 1448));
    net.clock.run(seconds(2));
    expect(got).toBe(3 * 1448);
    const acks = tcpFlow(net.captured).filter((l) => l.line.startsWith('S>C [.]') && l.seg.seq() !== 0);
    const base = tcpFlow(net.captured).find((l) => l.line.startsWith('C>S [S]'))!.seg.seq();
    const rel = (x: number) => (x - base) >>> 0;
    const withSack = acks.filter((l) => l.seg.options().some((o) => o.kind === 'sack'));
    expect(withSack.length).toBe(1);
    const sack = withSack[0]!.seg.options().find((o) => o.kind === 'sack')!;
    expect(sack.kind === 'sack' && sack.blocks.map(([x, y]) => [rel(x), rel(y)])).toEqual([[2897, 4345]]);
    expect(optsOf(withSack[0]!).startsWith('nop,nop,timestamps,nop,nop,sack')).toBe(true);
    expect(withSack[0]!.ip.totalLength()).toBe(20 + 20 + 12 + 12);
    const last = acks[acks.length - 1]!;
    expect(rel(last.seg.ack())).toBe(4345);
    expect(last.seg.options().some((o) => o.kind === 'sack')).toBe(false);
  });

  it('a duplicate segment is reported with a D-SACK block (RFC 2883)', () => {
    const { net, a, b } = pair(32);
    b.sock.tcpListen(80, () => ({}));
    const c = a.sock.tcpConnect(B, 80, {});
    net.clock.run(millis(5));
    const dupIndex = net.captured.length;
    net.duplicate = (i) => i === dupIndex;
    c.write(new TextEncoder().encode('hello'));
    net.clock.run(millis(10));
    const flow = tcpFlow(net.captured);
    const data = flow.find((l) => l.seg.payloadLength() === 5)!;
    const acks = flow.filter((l) => l.line.startsWith('S>C [.]') && l.seg.ackFlag() && l.seg.ack() === ((data.seg.seq() + 5) >>> 0));
    expect(acks.length).toBe(2);
    const d = acks[1]!.seg.options().find((o) => o.kind === 'sack');
    expect(d && d.kind === 'sack' ? d.blocks : null).toEqual([[data.seg.seq(), (data.seg.seq() + 5) >>> 0]]);
    expect(acks[0]!.seg.options().some((o) => o.kind === 'sack')).toBe(false);
  });
});

describe('TCP without timestamps (net.ipv4.tcp_timestamps=0 on the client)', () => {
  it('SYN and SYN-ACK are mss,nop,nop,sackOK,nop,wscale with window 64240 both ways, as a real capture', () => {
    // Linux 6.18, client namespace with tcp_timestamps=0: "[S] win 64240 [mss 1460,nop,nop,
    // sackOK,nop,wscale 10]", "[S.] win 64240 [same]", then bare 20-byte headers, win 63.
    const { net, a, b } = pair(41);
    a.sysctls.set('net.ipv4.tcp_timestamps', '0');
    b.sock.tcpListen(8080, () => ({ onData: (s) => s.write(new TextEncoder().encode('ok')) }));
    a.sock.tcpConnect(B, 8080, { onConnect: (s) => s.write(new TextEncoder().encode('hi')) });
    net.clock.run(millis(50));
    const flow = tcpFlow(net.captured);
    const opts = (i: number) => flow[i]!.seg.options().map((o) => (o.kind === 'mss' ? `mss ${o.mss}` : o.kind === 'window-scale' ? `wscale ${o.shift}` : o.kind)).join(',');
    expect(flow.map((l) => l.line)).toEqual([
      'C>S [S] 0 win 64240',
      'S>C [S.] 0 ack 1 win 64240',
      'C>S [.] 1 ack 1 win 63',
      'C>S [P.] 1:3 ack 1 win 63',
      'S>C [.] 1 ack 3 win 63',
      'S>C [P.] 1:3 ack 3 win 63',
      'C>S [.] 3 ack 3 win 63',
    ]);
    expect(opts(0)).toBe('mss 1460,nop,nop,sack-permitted,nop,wscale 10');
    expect(opts(1)).toBe('mss 1460,nop,nop,sack-permitted,nop,wscale 10');
    expect(flow.slice(2).every((l) => l.seg.headerLength() === 20)).toBe(true);
  });
});
