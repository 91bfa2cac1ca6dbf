import { describe, expect, it } from 'vitest';
import { buildUdp } from '../../src/wire/build.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { parseIpv4, readIpv4, writeIpv4 } from '../../src/wire/ipv4-address.js';
import type { PacketBuffer } from '../../src/wire/packet-buffer.js';
import { NF_ACCEPT, type NfHookOps, type NfVerdict } from '../../src/netfilter/hooks.js';
import { captureDevice, captureNetns } from '../../src/linux/capture.js';
import { ipNeigh } from '../../src/linux/print/ip-neigh.js';
import { bridgeFdb } from '../../src/linux/print/bridge-fdb.js';
import { recorder, World } from './world.js';

const A = parseIpv4;

/** Rewrites the destination address (IP checksum recomputed, UDP checksum cleared): a stand-in DNAT. */
function dnat(hook: 'PREROUTING' | 'OUTPUT', from: string, to: string): NfHookOps {
  return {
    hook, priority: -100, owner: 'nat',
    fn: (p: PacketBuffer): NfVerdict => {
      const b = p.buf;
      const ip = p.network;
      if (readIpv4(b, ip + 16) === A(from)) {
        writeIpv4(b, ip + 16, A(to));
        b[ip + 10] = 0;
        b[ip + 11] = 0;
        const c = internetChecksum(b, ip, 20);
        b[ip + 10] = c >>> 8;
        b[ip + 11] = c & 255;
        if (b[ip + 9] === 17) {
          b[ip + 26] = 0;
          b[ip + 27] = 0;
        }
      }
      return NF_ACCEPT;
    },
  };
}

/** Source rewrite at POSTROUTING for packets to `dst` from `src`: a stand-in MASQUERADE. */
function snat(src: string, dst: string, to: string): NfHookOps {
  return {
    hook: 'POSTROUTING', priority: 100, owner: 'nat',
    fn: (p: PacketBuffer): NfVerdict => {
      const b = p.buf;
      const ip = p.network;
      if (readIpv4(b, ip + 12) === A(src) && readIpv4(b, ip + 16) === A(dst)) {
        writeIpv4(b, ip + 12, A(to));
        b[ip + 10] = 0;
        b[ip + 11] = 0;
        const c = internetChecksum(b, ip, 20);
        b[ip + 10] = c >>> 8;
        b[ip + 11] = c & 255;
        if (b[ip + 9] === 17) {
          b[ip + 26] = 0;
          b[ip + 27] = 0;
        }
      }
      return NF_ACCEPT;
    },
  };
}

function calico(proxyDelay: string): World {
  // A calico-style pod: /32 address, default via 169.254.1.1 onlink; the host side has proxy_arp.
  const w = new World();
  w.netns('node');
  w.netns('pod');
  w.ip('node', 'link add cali1 type veth peer name eth0 netns pod');
  w.ip('node', 'link set cali1 address ee:ee:ee:ee:ee:ee');
  w.ip('node', 'link set cali1 up');
  w.ip('node', 'link add eth0 type veth peer name up0');
  w.ip('node', 'link set eth0 up');
  w.ip('node', 'link set up0 up');
  w.ip('node', 'addr add 192.168.4.86/24 dev eth0');
  w.ip('node', 'route add default via 192.168.4.1 dev eth0');
  w.ip('node', 'route add 10.42.0.5 dev cali1 scope link');
  const node = w.ns.get('node')!;
  node.sysctl_.set('net.ipv4.ip_forward', '1');
  node.sysctl_.set('net.ipv4.conf.cali1.proxy_arp', '1');
  node.sysctl_.set('net.ipv4.neigh.cali1.proxy_delay', proxyDelay);
  w.ip('pod', 'link set eth0 up');
  w.ip('pod', 'addr add 10.42.0.5/32 dev eth0');
  w.ip('pod', 'route add 169.254.1.1 dev eth0 scope link');
  w.ip('pod', 'route add default via 169.254.1.1 dev eth0');
  return w;
}

describe('proxy ARP', () => {
  it('the host answers for 169.254.1.1 with the cali MAC at once when proxy_delay is 0', () => {
    const w = calico('0');
    w.ns.get('pod')!.ipOutput(buildUdp({ src: A('10.42.0.5'), dst: A('192.168.4.86') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    expect(ipNeigh(w.ns.get('pod')!)).toBe('169.254.1.1 dev eth0 lladdr ee:ee:ee:ee:ee:ee REACHABLE \n');
    const reply = w.trace.ofKind('linux.arp').find((e) => e.netns === 'node' && e.op === 'reply')!;
    expect(reply.sip).toBe('169.254.1.1');
  });

  it('with the default proxy_delay (80 = 0.8 s) the broadcast request is answered after a random delay below it', () => {
    const w = calico('80');
    w.ns.get('pod')!.ipOutput(buildUdp({ src: A('10.42.0.5'), dst: A('192.168.4.86') }, { srcPort: 1, dstPort: 2 }));
    w.run(2e9);
    const req = w.trace.ofKind('linux.arp').find((e) => e.netns === 'node' && e.step === 'arp_rcv')!;
    const reply = w.trace.ofKind('linux.arp').find((e) => e.netns === 'node' && e.op === 'reply')!;
    expect(reply.time - req.time).toBeLessThan(0.8e9);
    expect(ipNeigh(w.ns.get('pod')!)).toContain('ee:ee:ee:ee:ee:ee REACHABLE');
  });

  it('no proxy ARP: no answer, the entry fails', () => {
    const w = calico('0');
    w.ns.get('node')!.sysctl_.set('net.ipv4.conf.cali1.proxy_arp', '0');
    w.ns.get('pod')!.ipOutput(buildUdp({ src: A('10.42.0.5'), dst: A('192.168.4.86') }, { srcPort: 1, dstPort: 2 }));
    w.run(5e9);
    expect(ipNeigh(w.ns.get('pod')!)).toBe('169.254.1.1 dev eth0 FAILED \n');
  });
});

function bridgeWithPods(): World {
  const w = new World();
  w.netns('node');
  w.ip('node', 'link add cni0 type bridge');
  w.ip('node', 'addr add 10.42.0.1/24 dev cni0');
  w.ip('node', 'link set cni0 up');
  for (const [pod, host, addr] of [['p1', 'veth1', '10.42.0.2'], ['p2', 'veth2', '10.42.0.3']] as const) {
    w.netns(pod);
    w.ip('node', `link add ${host} type veth peer name eth0 netns ${pod}`);
    w.ip('node', `link set ${host} master cni0`);
    w.ip('node', `link set ${host} up`);
    w.ip(pod, 'link set eth0 up');
    w.ip(pod, `addr add ${addr}/24 dev eth0`);
    w.ip(pod, 'route add default via 10.42.0.1');
  }
  w.ns.get('node')!.sysctl_.set('net.ipv4.ip_forward', '1');
  w.ns.get('node')!.sysctl_.set('net.bridge.bridge-nf-call-iptables', '1');
  return w;
}

describe('bridged DNAT and hairpin', () => {
  it('DNAT to a pod behind the same bridge stays layer 2: no TTL decrement, source MAC kept', () => {
    const w = bridgeWithPods();
    const node = w.ns.get('node')!;
    node.registerHooks([dnat('PREROUTING', '10.43.0.10', '10.42.0.3')]);
    // Make the node know p2's MAC so the bridged DNAT can fill it in directly.
    w.ns.get('p2')!.ipOutput(buildUdp({ src: A('10.42.0.3'), dst: A('10.42.0.1') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    const seen: Uint8Array[] = [];
    captureDevice(w.ns.get('p2')!.mustDev('eth0'), { frame: (_n, _t, b, d) => d === 'in' && b[13] === 0 && seen.push(b.slice()) });
    const got = recorder();
    w.ns.get('p2')!.registerProtocol(17, got);
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.43.0.10') }, { srcPort: 1000, dstPort: 80 }));
    w.run(1e6);
    expect(got.got).toHaveLength(1);
    const f = seen[0]!;
    expect(f[22]).toBe(64);
    const p1mac = w.ns.get('p1')!.mustDev('eth0').mac;
    expect(readMacNum(f, 6)).toBe(p1mac);
  });

  it('bridged DNAT to a destination not yet resolved: ARP from the bridge, then the frame keeps the client MAC', () => {
    const w = bridgeWithPods();
    w.ns.get('node')!.registerHooks([dnat('PREROUTING', '10.43.0.10', '10.42.0.3')]);
    const seen: Uint8Array[] = [];
    captureDevice(w.ns.get('p2')!.mustDev('eth0'), { frame: (_n, _t, b, d) => d === 'in' && seen.push(b.slice()) });
    const got = recorder();
    w.ns.get('p2')!.registerProtocol(17, got);
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.43.0.10') }, { srcPort: 1000, dstPort: 80 }));
    w.run(1e6);
    expect(got.got).toHaveLength(1);
    const arp = seen.find((f) => f[13] === 6 && readIpv4(f, 14 + 24) === A('10.42.0.3'))!;
    expect(readIpv4(arp, 14 + 14)).toBe(A('10.42.0.1')); // the bridge asks, from its own address
    const f = seen.find((x) => x[13] === 0)!;
    expect(readMacNum(f, 6)).toBe(w.ns.get('p1')!.mustDev('eth0').mac);
    expect(f[22]).toBe(64);
  });

  it('hairpin: a pod reaching itself through a DNAT needs hairpin on its port', () => {
    const w = bridgeWithPods();
    const node = w.ns.get('node')!;
    node.registerHooks([dnat('PREROUTING', '10.43.0.10', '10.42.0.2')]);
    const p1 = w.ns.get('p1')!;
    // Resolve the node's neighbour entry for p1 first.
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.1') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    const got = recorder();
    p1.registerProtocol(17, got);
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.43.0.10') }, { srcPort: 1000, dstPort: 80 }));
    w.run(1e6);
    expect(got.got.filter((p) => p.buf[p.transport + 3] === 80)).toHaveLength(0); // dropped: no hairpin
    w.ip('node', 'link set veth1 type bridge_slave hairpin on');
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.43.0.10') }, { srcPort: 1000, dstPort: 80 }));
    w.run(1e6);
    // Hairpinned, but a packet from its own address is a martian: that is why kube-proxy masquerades hairpin traffic.
    expect(got.got.filter((p) => p.buf[p.transport + 3] === 80)).toHaveLength(0);
    expect(w.trace.ofKind('linux.drop').filter((e) => e.netns === 'p1' && e.reason === 'IP_INVALID_SOURCE')).toHaveLength(1);
    node.registerHooks([snat('10.42.0.2', '10.42.0.2', '10.42.0.1')]);
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.43.0.10') }, { srcPort: 1000, dstPort: 80 }));
    w.run(1e6);
    const hair = got.got.filter((p) => p.buf[p.transport + 3] === 80);
    expect(hair).toHaveLength(1);
    expect(readIpv4(hair[0]!.buf, hair[0]!.head + 12)).toBe(A('10.42.0.1'));
    expect(hair[0]!.buf[hair[0]!.head + 8]).toBe(64);
  });

  it('OUTPUT DNAT re-routes the packet (ip_route_me_harder)', () => {
    const w = bridgeWithPods();
    const p1 = w.ns.get('p1')!;
    w.ip('p1', 'route add blackhole 10.43.0.0/16');
    p1.registerHooks([dnat('OUTPUT', '10.43.0.10', '10.42.0.3')]);
    const got = recorder();
    w.ns.get('p2')!.registerProtocol(17, got);
    expect(p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.43.0.10') }, { srcPort: 1000, dstPort: 80 }))).toBe('EINVAL');
    w.ip('p1', 'route del blackhole 10.43.0.0/16');
    expect(p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.43.0.10') }, { srcPort: 1000, dstPort: 80 }))).toBe('sent');
    w.run(1e6);
    expect(got.got).toHaveLength(1);
  });
});

describe('capture', () => {
  it('what each device shows: the veth once per direction; a captured (promiscuous) bridge also sees what it forwards', () => {
    const w = bridgeWithPods();
    w.ns.get('node')!.sysctl_.set('net.bridge.bridge-nf-call-iptables', '0');
    const seen: string[] = [];
    for (const ns of w.ns.values()) captureNetns(ns, { frame: (n, _t, b, d) => b[13] === 0 && seen.push(`${n} ${d}`) });
    const p2 = w.ns.get('p2')!;
    p2.registerProtocol(17, recorder());
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    // Like tcpdump on cni0: the promiscuous bridge passes a copy of each bridged frame up, where IP ignores it.
    expect(seen).toEqual(['n/p1/eth0 out', 'n/node/veth1 in', 'n/node/veth2 out', 'n/node/cni0 in', 'n/p2/eth0 in']);
    expect(w.ns.get('node')!.mustDev('cni0').promiscuity).toBe(1);
    seen.length = 0;
    // Routed by the node: the bridge device sees it arrive and leave.
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.1') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    expect(seen.slice(0, 3)).toEqual(['n/p1/eth0 out', 'n/node/veth1 in', 'n/node/cni0 in']);
  });

  it('the bridge floods unknown unicast and learns', () => {
    const w = bridgeWithPods();
    const node = w.ns.get('node')!;
    w.ip('node', 'link add veth3 type veth peer name v3peer');
    w.ip('node', 'link set veth3 master cni0');
    w.ip('node', 'link set veth3 up');
    w.ip('node', 'link set v3peer up');
    const flooded: string[] = [];
    captureDevice(node.mustDev('veth3'), { frame: (_n, _t, b, d) => flooded.push(`${d} ${b[13] === 6 ? 'arp' : 'ip'}`) });
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    // The ARP broadcast reached veth3; the unicast reply and data did not (known by then).
    expect(flooded).toEqual(['out arp']);
    expect(bridgeFdb(node).split('\n').filter((l) => l.includes('master cni0') && !l.includes('permanent'))).toHaveLength(2);
  });
});

function readMacNum(b: Uint8Array, o: number): number {
  return ((b[o]! << 8) | b[o + 1]!) * 0x100000000 + (((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0);
}

describe('skb state across links', () => {
  it('a veth drops conntrack always and the mark when the peer is in another namespace', () => {
    const w = bridgeWithPods();
    const seen: [object | null, number][] = [];
    w.ns.get('node')!.registerHooks([{ hook: 'PREROUTING', priority: 0, owner: 't', fn: (p) => (seen.push([p.ct, p.mark]), NF_ACCEPT as NfVerdict) }]);
    const pkt = buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.1') }, { srcPort: 1, dstPort: 2 });
    pkt.ct = { fake: true };
    pkt.mark = 0x4000;
    w.ns.get('p1')!.ipOutput(pkt);
    w.run(1e6);
    expect(seen).toEqual([[null, 0]]);
  });
});

describe('neighbour updates', () => {
  it('an ARP request from a neighbour in DELAY with the same address leaves it in DELAY; a reply with a new address waits for locktime', async () => {
    const { arpSend } = await import('../../src/linux/arp.js');
    const { ipNeigh } = await import('../../src/linux/print/ip-neigh.js');
    const w = bridgeWithPods();
    w.ns.get('node')!.sysctl_.set('net.bridge.bridge-nf-call-iptables', '0');
    const p1 = w.ns.get('p1')!;
    const p2 = w.ns.get('p2')!;
    p2.registerProtocol(17, { handler: () => true });
    // p2 answers p1's ARP (STALE entry for p1), then uses it for nothing yet; make it DELAY by sending.
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    p2.ipOutput(buildUdp({ src: A('10.42.0.3'), dst: A('10.42.0.2') }, { srcPort: 2, dstPort: 1 }));
    w.run(1e6);
    const mac1 = p1.mustDev('eth0').mac;
    expect(ipNeigh(p2)).toContain('DELAY');
    arpSend(p1, p1.mustDev('eth0'), 1, 0xffffffffffff as never, mac1, A('10.42.0.2'), 0 as never, A('10.42.0.3'));
    w.run(1e6);
    expect(ipNeigh(p2)).toContain('DELAY');
    // A reply carrying a different address within a second of the last update is ignored (locktime)...
    const mac2 = p2.mustDev('eth0').mac;
    arpSend(p1, p1.mustDev('eth0'), 2, mac2, 0x020000000099 as never, A('10.42.0.2'), mac2, A('10.42.0.3'));
    w.run(1e6);
    expect(ipNeigh(p2)).toContain(`lladdr ${formatMacLocal(mac1)} DELAY`);
    // ...later it is taken, and a unicast reply makes the entry REACHABLE.
    w.run(1.5e9);
    arpSend(p1, p1.mustDev('eth0'), 2, mac2, 0x020000000099 as never, A('10.42.0.2'), mac2, A('10.42.0.3'));
    w.run(1e6);
    expect(ipNeigh(p2)).toBe('10.42.0.2 dev eth0 lladdr 02:00:00:00:00:99 REACHABLE \n');
    // A request addressed to us always overrides (neigh_event_ns): new address, STALE.
    arpSend(p1, p1.mustDev('eth0'), 1, 0xffffffffffff as never, mac1, A('10.42.0.2'), 0 as never, A('10.42.0.3'));
    w.run(1e6);
    expect(ipNeigh(p2)).toBe(`10.42.0.2 dev eth0 lladdr ${formatMacLocal(mac1)} STALE \n`);
  });
});

function formatMacLocal(m: number): string {
  return [40, 32, 24, 16, 8, 0].map((s) => (Math.floor(m / 2 ** s) & 255).toString(16).padStart(2, '0')).join(':');
}

describe('arp_notify', () => {
  it('link up sends a gratuitous ARP request per address (as captured on Linux 6.18); a neighbour takes the new address at once', async () => {
    const { ipNeigh } = await import('../../src/linux/print/ip-neigh.js');
    const w = new World();
    w.netns('a');
    w.netns('b');
    w.ip('a', 'link add x address 4e:2f:76:ce:dd:dd type veth peer name y netns b');
    w.ip('b', 'link set y up');
    w.ip('b', 'addr add 10.1.0.9/24 dev y');
    w.ip('b', 'neigh add 10.1.0.5 lladdr 02:00:00:00:00:01 dev y nud stale');
    w.ns.get('a')!.sysctl_.set('net.ipv4.conf.x.arp_notify', '1');
    w.ip('a', 'addr add 10.1.0.5/24 dev x');
    w.ip('a', 'addr add 10.2.0.5/24 dev x');
    const frames: string[] = [];
    captureDevice(w.ns.get('b')!.mustDev('y'), { frame: (_n, _t, b) => frames.push(Buffer.from(b).toString('hex')) });
    w.ip('a', 'link set x up');
    w.run(1e6);
    w.ip('a', 'addr add 10.3.0.5/24 dev x');
    w.run(1e6);
    expect(frames).toEqual([
      'ffffffffffff4e2f76cedddd08060001080006040001' + '4e2f76cedddd0a010005' + '0000000000000a010005',
      'ffffffffffff4e2f76cedddd08060001080006040001' + '4e2f76cedddd0a020005' + '0000000000000a020005',
    ]);
    expect(ipNeigh(w.ns.get('b')!)).toBe('10.1.0.5 dev y lladdr 4e:2f:76:ce:dd:dd STALE \n');
  });
});
