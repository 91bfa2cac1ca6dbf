import { describe, expect, it } from 'vitest';
import { buildIcmp, buildUdp } from '../../src/wire/build.js';
import { parseIpv4 } from '../../src/wire/ipv4-address.js';
import { formatMac, readMac } from '../../src/wire/mac-address.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { NF_ACCEPT, NF_DROP, NF_IP_PRI, type NfHookOps, type NfHookState, type NfVerdict } from '../../src/netfilter/hooks.js';
import { ipNeigh } from '../../src/linux/print/ip-neigh.js';
import { bridgeFdb } from '../../src/linux/print/bridge-fdb.js';
import { captureDevice } from '../../src/linux/capture.js';
import { recorder, World } from './world.js';

const A = parseIpv4;

/** Two pods on cni0 in one node namespace. */
function bridgeWorld(): World {
  const w = new World();
  w.netns('node');
  w.netns('p1');
  w.netns('p2');
  w.ip('node', 'link add cni0 type bridge');
  w.ip('node', 'addr add 10.42.0.1/24 dev cni0');
  w.ip('node', 'link set cni0 up');
  for (const [pod, host, mac, addr] of [['p1', 'veth1', '02:00:00:00:01:01', '10.42.0.2'], ['p2', 'veth2', '02:00:00:00:02:02', '10.42.0.3']] as const) {
    w.ip('node', `link add ${host} type veth peer name eth0 netns ${pod}`);
    w.ip('node', `link set ${host} master cni0`);
    w.ip('node', `link set ${host} up`);
    w.ip(pod, `link set eth0 address ${mac}`);
    w.ip(pod, 'link set eth0 up');
    w.ip(pod, `addr add ${addr}/24 dev eth0`);
    w.ip(pod, 'route add default via 10.42.0.1');
  }
  return w;
}

describe('ARP, veth and bridge', () => {
  it('ping between two pods: ARP on the wire, echo reply, neighbour and FDB state', () => {
    const w = bridgeWorld();
    const p1 = w.ns.get('p1')!;
    const frames: string[] = [];
    captureDevice(p1.mustDev('eth0'), { frame: (_n, _t, b, dir) => frames.push(`${dir} ${b.length} ${formatMac(readMac(b, 0))} ${((b[12]! << 8) | b[13]!).toString(16)}`) });
    const ping = recorder();
    p1.registerProtocol(1, ping);
    const req = buildIcmp({ src: A('10.42.0.2'), dst: A('10.42.0.3'), ident: 1, dontFragment: true }, { kind: 'echo-request', ident: 7, seq: 1, data: new Uint8Array(56) });
    expect(p1.ipOutput(req)).toBe('sent');
    w.run(1e6);
    expect(ping.got).toHaveLength(1);
    const r = ping.got[0]!;
    expect(r.buf[r.transport]).toBe(0); // echo reply
    expect(r.buf[r.head + 8]).toBe(64); // not routed: TTL untouched
    expect(frames).toEqual([
      'out 42 ff:ff:ff:ff:ff:ff 806', // broadcast ARP request, unpadded
      'in 42 02:00:00:00:01:01 806', // unicast reply
      'out 98 ' + formatMac(p1.mustDev('eth0').neighs.get(A('10.42.0.3'))!.lladdr!) + ' 800',
      'in 98 02:00:00:00:01:01 800',
    ]);
    expect(ipNeigh(p1)).toBe('10.42.0.3 dev eth0 lladdr 02:00:00:00:02:02 REACHABLE \n');
    // The target learned the requester from the request (STALE) and used it for the reply: DELAY.
    const p2 = w.ns.get('p2')!;
    expect(ipNeigh(p2)).toBe('10.42.0.2 dev eth0 lladdr 02:00:00:00:01:01 DELAY \n');
    // delay_first_probe_time later it probes with a unicast ARP request; the reply confirms it.
    w.run(6e9);
    const probe = w.trace.ofKind('linux.arp').filter((e) => e.netns === 'p2' && e.step === 'arp_send');
    const delayed = w.trace.ofKind('linux.neigh').find((e) => e.netns === 'p2' && e.state === 'DELAY')!;
    expect(probe.map((e) => [e.op, e.time])).toEqual([['reply', probe[0]!.time], ['request', delayed.time + 5e9]]);
    expect(frames.slice(4)).toEqual(['in 42 02:00:00:00:01:01 806', 'out 42 02:00:00:00:02:02 806']);
    expect(ipNeigh(p2)).toBe('10.42.0.2 dev eth0 lladdr 02:00:00:00:01:01 REACHABLE \n');
    const fdb = bridgeFdb(w.ns.get('node')!);
    expect(fdb).toContain('02:00:00:00:01:01 dev veth1 master cni0 \n');
    expect(fdb).toContain('02:00:00:00:02:02 dev veth2 master cni0 \n');
  });

  it('REACHABLE turns STALE after base_reachable_time x [0.5, 1.5)', () => {
    const w = bridgeWorld();
    const p1 = w.ns.get('p1')!;
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1000, dstPort: 9 }));
    w.run(14e9);
    expect(ipNeigh(p1)).toContain('REACHABLE');
    w.run(32e9);
    expect(ipNeigh(p1)).toContain('STALE');
  });

  it('bridge FDB entries age out after 300 s', () => {
    const w = bridgeWorld();
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1000, dstPort: 9 }));
    w.run(1e6);
    const node = w.ns.get('node')!;
    expect(bridgeFdb(node)).toContain('02:00:00:00:01:01 dev veth1 master cni0');
    w.run(310e9);
    expect(bridgeFdb(node)).not.toContain('02:00:00:00:01:01 dev veth1 master cni0');
  });

  it('an unanswered ARP: 3 broadcasts 1 s apart, FAILED at 3 s, ICMP host unreachable to the sender', () => {
    const w = bridgeWorld();
    w.ip('node', 'link add eth9 type veth peer name x netns p2');
    w.ip('node', 'addr add 10.9.0.1/24 dev eth9');
    w.ip('node', 'link set eth9 up');
    w.ns.get('node')!.sysctl_.set('net.ipv4.ip_forward', '1');
    const p1 = w.ns.get('p1')!;
    const udp = recorder();
    p1.registerProtocol(17, udp);
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.9.0.77') }, { srcPort: 1000, dstPort: 9 }));
    w.run(10e9);
    const arps = w.trace.ofKind('linux.arp').filter((e) => e.step === 'arp_send' && e.tip === '10.9.0.77');
    expect(arps.map((e) => e.time - arps[0]!.time)).toEqual([0, 1e9, 2e9]);
    expect(arps[0]!.sip).toBe('10.9.0.1');
    expect(udp.errors).toHaveLength(1);
    expect([udp.errors[0]!.type, udp.errors[0]!.code]).toEqual([3, 1]);
    expect(ipNeigh(w.ns.get('node')!)).toContain('10.9.0.77 dev eth9 FAILED');
    const icmp = w.trace.ofKind('linux.icmp').find((e) => e.type === 3)!;
    expect(icmp.time - arps[0]!.time).toBe(3e9);
  });

  it('UDP to a port nobody listens on: ICMP port unreachable from the destination address', () => {
    const w = bridgeWorld();
    const p1 = w.ns.get('p1')!;
    const udp = recorder();
    p1.registerProtocol(17, udp);
    p1.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3'), dontFragment: true }, { srcPort: 1000, dstPort: 9 }, new Uint8Array(10)));
    w.run(1e6);
    expect(udp.errors).toHaveLength(1);
    const e = udp.errors[0]!;
    expect([e.type, e.code, e.from]).toEqual([3, 3, A('10.42.0.3')]);
    const b = e.packet.buf;
    expect(b[e.packet.head + 1]).toBe(0xc0); // TOS of ICMP errors
    expect(b[e.packet.head + 6]! & 0x40).toBe(0); // DF clear
    expect(internetChecksum(b, e.packet.transport, e.packet.end - e.packet.transport)).toBe(0);
    // The quote is the whole offending datagram (it fits in 576 bytes).
    expect(e.packet.end - e.quoted).toBe(20 + 8 + 10);
  });
});

describe('routing', () => {
  /** S -- A -- B with a loop for 10.99.0.0/16 between A and B. */
  function loopWorld(): World {
    const w = new World();
    for (const n of ['S', 'A', 'B']) w.netns(n);
    w.ip('S', 'link add eth0 type veth peer name s0 netns A');
    w.ip('A', 'link add a0 type veth peer name b0 netns B');
    w.ip('S', 'addr add 10.0.1.2/24 dev eth0');
    w.ip('S', 'link set eth0 up');
    w.ip('S', 'route add default via 10.0.1.1');
    w.ip('A', 'addr add 10.0.1.1/24 dev s0');
    w.ip('A', 'link set s0 up');
    w.ip('A', 'addr add 10.0.0.1/24 dev a0');
    w.ip('A', 'link set a0 up');
    w.ip('B', 'addr add 10.0.0.2/24 dev b0');
    w.ip('B', 'link set b0 up');
    w.ip('A', 'route add 10.99.0.0/16 via 10.0.0.2');
    w.ip('B', 'route add 10.99.0.0/16 via 10.0.0.1');
    w.ip('B', 'route add 10.0.1.0/24 via 10.0.0.1');
    w.ns.get('A')!.sysctl_.set('net.ipv4.ip_forward', '1');
    w.ns.get('B')!.sysctl_.set('net.ipv4.ip_forward', '1');
    return w;
  }

  // Same topology on Linux 6.18 (tcpdump on S): "10.0.0.2 > 10.0.1.2: ICMP time exceeded in-transit",
  // tos 0xc0, ttl 63, quoting the datagram with ttl 1.
  it('a routing loop ends by TTL with ICMP time exceeded back to the sender', () => {
    const w = loopWorld();
    const s = w.ns.get('S')!;
    const udp = recorder();
    s.registerProtocol(17, udp);
    s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('10.99.0.1'), ttl: 64 }, { srcPort: 4000, dstPort: 53 }));
    w.run(1e9);
    const ttls = w.trace.ofKind('linux.ttl');
    const at = ttls.findIndex((e) => e.verdict === 'EXCEEDED');
    expect(ttls.slice(0, at).map((e) => e.ttl)).toEqual(Array.from({ length: 63 }, (_, i) => 63 - i)); // 64 -> 1, one per routed hop
    const exceeded = ttls.filter((e) => e.verdict === 'EXCEEDED');
    expect(exceeded).toHaveLength(1);
    expect(exceeded[0]!.netns).toBe('B');
    expect(udp.errors).toHaveLength(1);
    const e = udp.errors[0]!;
    expect([e.type, e.code, e.from]).toEqual([11, 0, A('10.0.0.2')]);
    expect(e.packet.buf[e.quoted + 8]).toBe(1); // the quoted header shows TTL 1
    // The error itself was routed once by A on its way back.
    expect(e.packet.buf[e.packet.head + 8]).toBe(63);
    expect(e.packet.buf[e.packet.head + 1]).toBe(0xc0);
  });

  it('no route: ICMP net unreachable; unreachable route: host unreachable; prohibit: code 13; blackhole: silence', () => {
    const w = loopWorld();
    w.ip('A', 'route add unreachable 10.50.0.0/16');
    w.ip('A', 'route add prohibit 10.51.0.0/16');
    w.ip('A', 'route add blackhole 10.52.0.0/16');
    w.ip('A', 'route del 10.99.0.0/16');
    const s = w.ns.get('S')!;
    const udp = recorder();
    s.registerProtocol(17, udp);
    for (const d of ['10.99.0.1', '10.50.0.1', '10.51.0.1', '10.52.0.1']) s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A(d) }, { srcPort: 4000, dstPort: 53 }));
    w.run(1e9);
    expect(udp.errors.map((e) => `${e.type}/${e.code}`)).toEqual(['3/0', '3/1', '3/13']);
  });

  it('DF and a smaller next-hop MTU: fragmentation needed with the MTU', () => {
    const w = loopWorld();
    w.ip('A', 'link set a0 mtu 1400');
    const s = w.ns.get('S')!;
    const udp = recorder();
    s.registerProtocol(17, udp);
    s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('10.0.0.2'), dontFragment: true }, { srcPort: 4000, dstPort: 53 }, new Uint8Array(1450)));
    w.run(1e9);
    expect(udp.errors.map((e) => [e.type, e.code, e.mtu])).toEqual([[3, 4, 1400]]);
  });

  it('rp_filter=1 drops a packet whose source routes out another device; loose mode (2) lets it in', () => {
    const w = loopWorld();
    const b = w.ns.get('B')!;
    w.ip('B', 'route del 10.0.1.0/24');
    w.ip('B', 'link add x0 type veth peer name y0');
    w.ip('B', 'link set x0 up');
    w.ip('B', 'link set y0 up');
    w.ip('B', 'route add 10.0.1.0/24 dev x0');
    b.sysctl_.set('net.ipv4.conf.all.rp_filter', '1');
    const got = recorder();
    b.registerProtocol(17, got);
    const s = w.ns.get('S')!;
    s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('10.0.0.2') }, { srcPort: 4000, dstPort: 53 }));
    w.run(1e9);
    expect(got.got).toHaveLength(0);
    expect(w.trace.ofKind('linux.drop').some((e) => e.reason === 'IP_RPFILTER')).toBe(true);
    b.sysctl_.set('net.ipv4.conf.all.rp_filter', '2');
    s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('10.0.0.2') }, { srcPort: 4000, dstPort: 53 }));
    w.run(1e9);
    expect(got.got).toHaveLength(1);
  });

  it('forwarding off: a packet for someone else is dropped without ICMP', () => {
    const w = loopWorld();
    w.ns.get('A')!.sysctl_.set('net.ipv4.ip_forward', '0');
    const s = w.ns.get('S')!;
    const udp = recorder();
    s.registerProtocol(17, udp);
    s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('10.0.0.2') }, { srcPort: 4000, dstPort: 53 }));
    w.run(1e9);
    expect(udp.errors).toHaveLength(0);
    expect(w.trace.ofKind('linux.ttl')).toHaveLength(0);
  });

  it('source address choice: route src, else the out device address matching the next hop', () => {
    const w = loopWorld();
    const a = w.ns.get('A')!;
    const r1 = a.routeOutput(A('10.99.1.1'));
    expect(typeof r1 !== 'string' && [r1.dev.name, r1.src, r1.nexthop]).toEqual(['a0', A('10.0.0.1'), A('10.0.0.2')]);
    const r2 = a.routeOutput(A('10.0.1.1'));
    expect(typeof r2 !== 'string' && [r2.type, r2.dev.name, r2.src]).toEqual(['local', 'lo', A('10.0.1.1')]);
    expect(a.routeOutput(A('192.0.2.1'))).toBe('ENETUNREACH');
  });
});

describe('netfilter hooks', () => {
  it('run in priority order at each hook and can drop', () => {
    const w = bridgeWorld();
    const p2 = w.ns.get('p2')!;
    const order: string[] = [];
    const mk = (owner: string, priority: number, verdict: NfVerdict = NF_ACCEPT): NfHookOps => ({ hook: 'INPUT', priority, owner, fn: () => (order.push(owner), verdict) });
    p2.registerHooks([mk('filter', NF_IP_PRI.FILTER), mk('mangle', NF_IP_PRI.MANGLE), mk('confirm', NF_IP_PRI.CONNTRACK_CONFIRM), mk('nat', NF_IP_PRI.NAT_SRC)]);
    const udp = recorder();
    p2.registerProtocol(17, udp);
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    expect(order).toEqual(['mangle', 'filter', 'nat', 'confirm']);
    expect(udp.got).toHaveLength(1);
    p2.registerHooks([mk('drop', -1, NF_DROP)]);
    order.length = 0;
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    expect(order).toEqual(['mangle', 'drop']);
    expect(udp.got).toHaveLength(1);
  });

  it('br_netfilter: bridged IPv4 runs PREROUTING, FORWARD, POSTROUTING with the bridge as device and the ports as physdev', () => {
    const w = bridgeWorld();
    const node = w.ns.get('node')!;
    node.sysctl_.set('net.bridge.bridge-nf-call-iptables', '1');
    const seen: string[] = [];
    const rec = (hook: 'PREROUTING' | 'FORWARD' | 'POSTROUTING'): NfHookOps => ({
      hook, priority: 0, owner: 'test',
      fn: (_p, s: NfHookState) => (seen.push(`${s.hook} in=${s.inDev} out=${s.outDev} physin=${s.physInDev} physout=${s.physOutDev}`), NF_ACCEPT as NfVerdict),
    });
    node.registerHooks([rec('PREROUTING'), rec('FORWARD'), rec('POSTROUTING')]);
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    // The datagram, then the ICMP port unreachable coming back the other way.
    expect(seen).toEqual([
      'PREROUTING in=cni0 out=null physin=veth1 physout=null',
      'FORWARD in=cni0 out=cni0 physin=veth1 physout=veth2',
      'POSTROUTING in=null out=cni0 physin=null physout=veth2',
      'PREROUTING in=cni0 out=null physin=veth2 physout=null',
      'FORWARD in=cni0 out=cni0 physin=veth2 physout=veth1',
      'POSTROUTING in=null out=cni0 physin=null physout=veth1',
    ]);
  });

  it('br_netfilter: a routed packet from a bridge port keeps its physdev-in in FORWARD, and is not "bridged"', () => {
    const w = bridgeWorld();
    const node = w.ns.get('node')!;
    w.ip('node', 'link add eth9 type veth peer name x netns p2');
    w.ip('node', 'addr add 10.9.0.1/24 dev eth9');
    w.ip('node', 'link set eth9 up');
    node.sysctl_.set('net.ipv4.ip_forward', '1');
    node.sysctl_.set('net.bridge.bridge-nf-call-iptables', '1');
    const seen: string[] = [];
    const rec = (hook: 'PREROUTING' | 'FORWARD'): NfHookOps => ({
      hook, priority: 0, owner: 'test',
      fn: (_p, s: NfHookState) => (seen.push(`${s.hook} in=${s.inDev} out=${s.outDev} physin=${s.physInDev} bridged=${s.bridged}`), NF_ACCEPT as NfVerdict),
    });
    node.registerHooks([rec('PREROUTING'), rec('FORWARD')]);
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.9.0.77') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    expect(seen).toEqual(['PREROUTING in=cni0 out=null physin=veth1 bridged=false', 'FORWARD in=cni0 out=eth9 physin=veth1 bridged=false']);
  });

  it('without bridge-nf-call-iptables bridged frames skip the iptables hooks', () => {
    const w = bridgeWorld();
    const node = w.ns.get('node')!;
    let calls = 0;
    node.registerHooks([{ hook: 'PREROUTING', priority: 0, owner: 't', fn: () => (calls++, NF_ACCEPT as NfVerdict) }]);
    w.ns.get('p1')!.ipOutput(buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3') }, { srcPort: 1, dstPort: 2 }));
    w.run(1e6);
    expect(calls).toBe(0);
  });
});

describe('ICMP rate limit', () => {
  it('errors to one destination: a burst of 6, then one per second (icmp_ratelimit)', () => {
    const w = new World();
    w.netns('S');
    w.netns('R');
    w.ip('S', 'link add eth0 type veth peer name r0 netns R');
    w.ip('S', 'addr add 10.0.1.2/24 dev eth0');
    w.ip('S', 'link set eth0 up');
    w.ip('S', 'route add default via 10.0.1.1');
    w.ip('R', 'addr add 10.0.1.1/24 dev r0');
    w.ip('R', 'link set r0 up');
    w.ns.get('R')!.sysctl_.set('net.ipv4.ip_forward', '1');
    const s = w.ns.get('S')!;
    const udp = recorder();
    s.registerProtocol(17, udp);
    for (let i = 0; i < 10; i++) s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('192.0.2.1') }, { srcPort: 4000 + i, dstPort: 53 }));
    w.run(1e6);
    expect(udp.errors).toHaveLength(6);
    expect(w.trace.ofKind('linux.drop').filter((e) => e.reason === 'ICMP_RATELIMIT')).toHaveLength(4);
    w.run(1e9);
    s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('192.0.2.1') }, { srcPort: 5000, dstPort: 53 }));
    s.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('192.0.2.1') }, { srcPort: 5001, dstPort: 53 }));
    w.run(1e6);
    expect(udp.errors).toHaveLength(7);
  });
});

describe('fragmentation', () => {
  it('a datagram without DF over a smaller MTU is fragmented on the way and reassembled at the destination', () => {
    const w = new World();
    for (const n of ['S', 'R', 'D']) w.netns(n);
    w.ip('S', 'link add eth0 type veth peer name r0 netns R');
    w.ip('R', 'link add r1 type veth peer name eth0 netns D');
    w.ip('S', 'addr add 10.0.1.2/24 dev eth0');
    w.ip('S', 'link set eth0 up');
    w.ip('S', 'route add default via 10.0.1.1');
    w.ip('R', 'addr add 10.0.1.1/24 dev r0');
    w.ip('R', 'link set r0 up');
    w.ip('R', 'addr add 10.0.2.1/24 dev r1');
    w.ip('R', 'link set r1 up');
    w.ip('R', 'link set r1 mtu 1000');
    w.ip('D', 'link set eth0 mtu 1000');
    w.ip('D', 'addr add 10.0.2.2/24 dev eth0');
    w.ip('D', 'link set eth0 up');
    w.ip('D', 'route add default via 10.0.2.1');
    w.ns.get('R')!.sysctl_.set('net.ipv4.ip_forward', '1');
    const sizes: number[] = [];
    captureDevice(w.ns.get('D')!.mustDev('eth0'), { frame: (_n, _t, b, d) => d === 'in' && b[13] === 0 && sizes.push(b.length) });
    const got = recorder();
    w.ns.get('D')!.registerProtocol(17, got);
    const payload = new Uint8Array(1400).map((_, i) => i & 255);
    w.ns.get('S')!.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('10.0.2.2'), ident: 77 }, { srcPort: 53, dstPort: 5353 }, payload));
    w.run(1e6);
    // 1408 bytes of IP payload: 976 + 432, each behind a 20-byte header and Ethernet.
    expect(sizes).toEqual([14 + 20 + 976, 14 + 20 + 432]);
    expect(got.got).toHaveLength(1);
    const p = got.got[0]!;
    expect(p.end - p.head).toBe(20 + 8 + 1400);
    expect([...p.buf.subarray(p.transport + 8, p.end)]).toEqual([...payload]);
    expect(internetChecksum(p.buf, p.head, 20)).toBe(0);
  });

  it('an incomplete datagram expires after 30 s with ICMP time exceeded (reassembly)', () => {
    const w = bridgeWorld();
    const udp = recorder();
    w.ns.get('p1')!.registerProtocol(17, udp);
    const frag = buildUdp({ src: A('10.42.0.2'), dst: A('10.42.0.3'), ident: 9, moreFragments: true }, { srcPort: 1, dstPort: 2 }, new Uint8Array(64));
    w.ns.get('p1')!.ipOutput(frag);
    w.run(31e9);
    expect(udp.errors.map((e) => [e.type, e.code])).toEqual([[11, 1]]);
  });
});

describe('martians', () => {
  function pair(): World {
    const w = new World();
    w.netns('S');
    w.netns('D');
    w.ip('S', 'link add eth0 type veth peer name eth0 netns D');
    w.ip('S', 'addr add 10.0.1.2/24 dev eth0');
    w.ip('S', 'link set eth0 up');
    w.ip('D', 'addr add 10.0.1.1/24 dev eth0');
    w.ip('D', 'link set eth0 up');
    return w;
  }

  it('127.0.0.1 arriving from outside is dropped unless route_localnet=1', () => {
    const w = pair();
    const d = w.ns.get('D')!;
    const got = recorder();
    d.registerProtocol(17, got);
    w.ip('S', 'addr del 127.0.0.1/8 dev lo'); // so that S routes 127.0.0.1 out of eth0
    w.ip('S', 'route add 127.0.0.1 via 10.0.1.1 dev eth0');
    const send = () => w.ns.get('S')!.ipOutput(buildUdp({ src: A('10.0.1.2'), dst: A('127.0.0.1') }, { srcPort: 1, dstPort: 30080 }));
    send();
    w.run(1e6);
    expect(got.got).toHaveLength(0);
    expect(w.trace.ofKind('linux.drop').some((e) => e.netns === 'D' && e.reason === 'IP_LOCALNET')).toBe(true);
    d.sysctl_.set('net.ipv4.conf.eth0.route_localnet', '1');
    send();
    w.run(1e6);
    expect(got.got).toHaveLength(1);
  });

  it('a packet from one of our own addresses is a martian unless accept_local=1', () => {
    const w = pair();
    const d = w.ns.get('D')!;
    w.ip('D', 'addr add 10.9.9.9/32 dev lo');
    const got = recorder();
    d.registerProtocol(17, got);
    const send = () => w.ns.get('S')!.ipOutput(buildUdp({ src: A('10.9.9.9'), dst: A('10.0.1.1') }, { srcPort: 1, dstPort: 2 }));
    send();
    w.run(1e6);
    expect(got.got).toHaveLength(0);
    d.sysctl_.set('net.ipv4.conf.all.accept_local', '1');
    send();
    w.run(1e6);
    expect(got.got).toHaveLength(1);
  });
});

describe('unresolved neighbour for a locally generated packet', () => {
  it('the sender gets host unreachable from its own address after 3 s (as ping prints "From <self> ... Destination Host Unreachable")', () => {
    const w = bridgeWorld();
    const p1 = w.ns.get('p1')!;
    const ping = recorder();
    p1.registerProtocol(1, ping);
    p1.ipOutput(buildIcmp({ src: A('10.42.0.2'), dst: A('10.42.0.99'), dontFragment: true }, { kind: 'echo-request', ident: 5, seq: 1, data: new Uint8Array(56) }));
    w.run(10e9);
    expect(ping.errors.map((e) => [e.type, e.code, e.from])).toEqual([[3, 1, A('10.42.0.2')]]);
    expect(ipNeigh(p1)).toBe('10.42.0.99 dev eth0 FAILED \n');
  });
});
