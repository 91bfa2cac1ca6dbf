import { describe, expect, it } from 'vitest';
import { buildIcmp } from '../../src/wire/build.js';
import { internetChecksum, l4Checksum } from '../../src/wire/checksum.js';
import { parseIpv4, readIpv4 } from '../../src/wire/ipv4-address.js';
import { captureDevice } from '../../src/linux/capture.js';
import { ipNeigh } from '../../src/linux/print/ip-neigh.js';
import { bridgeFdb } from '../../src/linux/print/bridge-fdb.js';
import { flannelNode, NODE_A, NODE_B, recorder, World } from './world.js';

function twoNodes(): World {
  const w = new World();
  const seg = w.segment('underlay');
  flannelNode(w, seg, NODE_A, [NODE_A, NODE_B]);
  flannelNode(w, seg, NODE_B, [NODE_A, NODE_B]);
  return w;
}

describe('flannel VXLAN between two nodes', () => {
  it('pod -> cni0 -> flannel.1 -> eth0 -> other node -> pod, with the outer header as the kernel writes it', () => {
    const w = twoNodes();
    const outer: Uint8Array[] = [];
    const inner: Uint8Array[] = [];
    captureDevice(w.ns.get('a')!.mustDev('eth0'), { frame: (_n, _t, b, d) => d === 'out' && outer.push(b.slice()) });
    captureDevice(w.ns.get('a')!.mustDev('flannel.1'), { frame: (_n, _t, b, d) => d === 'out' && inner.push(b.slice()) });
    const seenB: number[] = [];
    const pb = w.ns.get('b-pod')!;
    captureDevice(pb.mustDev('eth0'), { frame: (_n, _t, b, d) => d === 'in' && b[12] === 8 && b[13] === 0 && seenB.push(b[14 + 8]!) });
    const pa = w.ns.get('a-pod')!;
    const ping = recorder();
    pa.registerProtocol(1, ping);
    pa.ipOutput(buildIcmp({ src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.42.1.2'), ident: 0x302f, dontFragment: true }, { kind: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(56) }));
    w.run(1e6);
    expect(ping.got).toHaveLength(1);
    expect(ping.got[0]!.buf[ping.got[0]!.head + 8]).toBe(62); // routed twice on the way back
    expect(seenB).toEqual([62]);
    // Outer frames on node a's eth0: ARP for the peer first, then the encapsulated echo request.
    const ip = outer.filter((f) => f[12] === 8 && f[13] === 0);
    expect(outer[0]![13]).toBe(6);
    const f = ip[0]!;
    expect(f.length).toBe(148);
    expect(f[14]).toBe(0x45);
    expect((f[20]! << 8) | f[21]!).toBe(0); // DF clear
    expect(f[22]).toBe(64); // TTL auto
    expect(f[23]).toBe(17);
    expect(internetChecksum(f, 14, 20)).toBe(0);
    expect(readIpv4(f, 26)).toBe(parseIpv4('192.168.4.86'));
    expect(readIpv4(f, 30)).toBe(parseIpv4('192.168.4.87'));
    const sport = (f[34]! << 8) | f[35]!;
    expect(sport).toBeGreaterThanOrEqual(32768);
    expect(sport).toBeLessThanOrEqual(60999);
    expect((f[36]! << 8) | f[37]!).toBe(8472);
    expect((f[38]! << 8) | f[39]!).toBe(114);
    expect((f[40]! << 8) | f[41]!).not.toBe(0);
    expect([...f.subarray(42, 50)]).toEqual([0x08, 0, 0, 0, 0, 0, 1, 0]);
    // Inner: B's VTEP MAC <- A's VTEP MAC, TTL 63.
    expect([...f.subarray(50, 62)]).toEqual([0xaa, 0xaa, 0xaa, 0, 0, 2, 0xaa, 0xaa, 0xaa, 0, 0, 1]);
    expect(f[64 + 8]).toBe(63);
    expect(inner[0]!.length).toBe(98);
    expect(ipNeigh(w.ns.get('a')!)).toContain('192.168.4.87 dev eth0 lladdr e6:d8:6c:c3:af:74 REACHABLE');
  });

  it('the UDP checksum of the outer datagram verifies', () => {
    const w = twoNodes();
    let f: Uint8Array | null = null;
    captureDevice(w.ns.get('a')!.mustDev('eth0'), { frame: (_n, _t, b, d) => { if (d === 'out' && b[23] === 17) f = b.slice(); } });
    w.ns.get('a-pod')!.ipOutput(buildIcmp({ src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.42.1.2') }, { kind: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(8) }));
    w.run(1e6);
    const g = f as unknown as Uint8Array;
    const len = (g[38]! << 8) | g[39]!;
    // Summing the datagram with its checksum in place over the pseudo-header gives 0.
    expect(l4Checksum(g, 34, len, readIpv4(g, 26), readIpv4(g, 30), 17)).toBe(0);
  });

  it('no FDB entry for the peer: the ARP sent out flannel.1 is dropped and the sender gets host unreachable', () => {
    const w = twoNodes();
    w.ip('a', 'route add 10.42.9.0/24 via 10.42.9.0 dev flannel.1 onlink');
    const pa = w.ns.get('a-pod')!;
    const err = recorder();
    pa.registerProtocol(1, err);
    pa.ipOutput(buildIcmp({ src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.42.9.2') }, { kind: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(8) }));
    w.run(5e9);
    expect(w.trace.ofKind('linux.fdb').filter((e) => e.dev === 'flannel.1' && e.verdict === 'DROP')).toHaveLength(3);
    expect(err.errors.map((e) => [e.type, e.code])).toEqual([[3, 1]]);
  });
});

describe('vxlan with learning and a default (all-zeros) FDB entry', () => {
  it('floods unknown destinations to the default remote and learns the peer', async () => {
    const w = new World();
    const seg = w.segment('u');
    for (const [n, i, o] of [['a', 1, 2], ['b', 2, 1]] as const) {
      w.netns(n);
      w.nic(n, 'e0', seg);
      w.ip(n, `addr add 192.168.9.${i}/24 dev e0`);
      w.ip(n, 'link set e0 up');
      w.ip(n, `link add vx type vxlan id 5 local 192.168.9.${i} dev e0 dstport 4789`);
      w.ip(n, `link set vx address 02:00:00:00:05:0${i}`);
      w.ip(n, 'link set vx up');
      w.ip(n, `addr add 10.5.0.${i}/24 dev vx`);
      w.bridge(n, `fdb append 00:00:00:00:00:00 dev vx dst 192.168.9.${o}`);
    }
    const a = w.ns.get('a')!;
    const ping = recorder();
    a.registerProtocol(1, ping);
    a.ipOutput(buildIcmp({ src: parseIpv4('10.5.0.1'), dst: parseIpv4('10.5.0.2'), dontFragment: true }, { kind: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(56) }));
    w.run(1e6);
    expect(ping.got).toHaveLength(1);
    // As `bridge fdb show dev vx` printed it on Linux 6.18 after the same ping.
    await expect(bridgeFdb(a, { dev: 'vx' })).toMatchFileSnapshot('../golden/bridge/vxlan-learning-fdb.txt');
    expect(bridgeFdb(w.ns.get('b')!, { dev: 'vx' })).toBe('02:00:00:00:05:01 dst 192.168.9.1 self \n00:00:00:00:00:00 dst 192.168.9.1 self permanent\n');
    expect(ipNeigh(w.ns.get('b')!)).toContain('10.5.0.1 dev vx lladdr 02:00:00:00:05:01 DELAY');
  });
});

describe('determinism', () => {
  it('the same scenario and seed give a byte-identical pcapng; another seed changes the random bits', async () => {
    const { PcapngWriter } = await import('../../src/pcap/pcapng-writer.js');
    const { MemorySink } = await import('../../src/pcap/sink.js');
    const { captureNetns } = await import('../../src/linux/capture.js');
    const { Random } = await import('../../src/sim/random.js');
    const runOnce = (seed: number): Uint8Array => {
      const w = new World();
      (w.env as { rng: InstanceType<typeof Random> }).rng = new Random(seed);
      const seg = w.segment('u');
      flannelNode(w, seg, NODE_A, [NODE_A, NODE_B]);
      flannelNode(w, seg, NODE_B, [NODE_A, NODE_B]);
      const sink = new MemorySink();
      const pcap = new PcapngWriter(sink);
      for (const ns of w.ns.values()) captureNetns(ns, pcap);
      for (let i = 0; i < 3; i++) {
        w.ns.get('a-pod')!.ipOutput(buildIcmp({ src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.42.1.2') }, { kind: 'echo-request', ident: 1, seq: i, data: new Uint8Array(8) }));
        w.run(1e6);
      }
      return sink.bytes();
    };
    const a = runOnce(5);
    expect(a.length).toBeGreaterThan(1000);
    expect(Buffer.from(runOnce(5)).equals(Buffer.from(a))).toBe(true);
    expect(Buffer.from(runOnce(6)).equals(Buffer.from(a))).toBe(false);
  });
});
