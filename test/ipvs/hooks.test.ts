import { describe, expect, it } from 'vitest';
import {
  hasIpvsProperty, hookOps, xtIpvsConn, IP_VS_CONN_F_MASQ, IPPROTO_TCP, IPPROTO_UDP, Ipvs, type IpvsConn, type IpvsConntrack, type IpvsTraceEvent,
} from '../../src/ipvs/index.js';
import { NF_ACCEPT, NF_DROP, NF_IP_PRI, NF_STOLEN, type NfHookOps, type NfHookState, type NfNetns } from '../../src/netfilter/hooks.js';
import { TraceRecorder } from '../../src/sim/trace.js';
import { buildIcmp, buildTcp, buildUdp } from '../../src/wire/build.js';
import { IcmpPacket } from '../../src/wire/icmp.js';
import { formatIpv4, type Ipv4Addr } from '../../src/wire/ipv4-address.js';
import { Ipv4Packet } from '../../src/wire/ipv4.js';
import type { PacketBuffer } from '../../src/wire/packet-buffer.js';
import { TcpSegment } from '../../src/wire/tcp.js';
import { UdpPacket } from '../../src/wire/udp.js';
import { ip } from './helpers.js';

const VIP = ip('10.43.199.15');
const POD = ip('10.42.4.15');
const RS1 = ip('10.42.0.134');
const RS2 = ip('10.42.3.171');

/** A namespace that records what IPVS sends, as linux/ would receive it. */
function netns(local: Ipv4Addr[] = [VIP]) {
  const sent: PacketBuffer[] = [];
  const icmp: [number, number][] = [];
  const ns: NfNetns & { icmpSend(p: PacketBuffer, t: number, c: number): void } = {
    node: '192.168.4.88', netns: 'root',
    isLocalAddress: (a) => local.includes(a),
    addressType: () => 'UNICAST',
    selectSourceAddress: () => undefined,
    sendLocal: (p) => void sent.push(p),
    now: () => 0,
    randomU32: () => 4,
    icmpSend: (_p, t, c) => void icmp.push([t, c]),
  };
  return { ns, sent, icmp };
}

function state(hook: NfHookState['hook'], ns: NfNetns, inDev: string | null = 'eth0'): NfHookState {
  return { hook, inDev, outDev: null, netns: ns };
}

function find(ops: NfHookOps[], hook: NfHookOps['hook'], priority: number): NfHookOps {
  return ops.find((o) => o.hook === hook && o.priority === priority)!;
}

function seed(ipvs: Ipvs): void {
  const svc = ipvs.addService({ protocol: IPPROTO_TCP, addr: VIP, port: 18888, scheduler: 'rr' });
  ipvs.addDest(svc, { addr: RS2, port: 18888, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
  ipvs.addDest(svc, { addr: RS1, port: 18888, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
}

function tcpPacket(src: Ipv4Addr, sport: number, dst: Ipv4Addr, dport: number, flags: number, ttl = 64): PacketBuffer {
  return buildTcp({ src, dst, ttl, ident: 7, dontFragment: true }, { srcPort: sport, dstPort: dport, seq: 1000, ack: flags & 0x10 ? 1 : 0, flags, window: 64240, urgent: 0, options: [] }, new Uint8Array([1, 2, 3]));
}

function checkValid(p: PacketBuffer): void {
  const v = Ipv4Packet.checked(p.buf, p.network, p.end - p.network);
  expect(v.checksumValid()).toBe(true);
  if (v.protocol() === IPPROTO_TCP) expect(TcpSegment.checked(p.buf, v.payloadOffset(), v.payloadLength()).checksumValid(v.src(), v.dst())).toBe(true);
  else expect(UdpPacket.checked(p.buf, v.payloadOffset(), v.payloadLength()).checksumValid(v.src(), v.dst())).toBe(true);
}

describe('ipvs hooks (ip_vs_ops4) and Masq NAT', () => {
  it('registers where ip_vs_core.c does, relative to the netfilter priorities', () => {
    const ops = hookOps(new Ipvs({ clock: () => 0 }));
    expect(ops.map((o) => `${o.hook} ${o.priority}`)).toEqual(['INPUT 98', 'INPUT 99', 'OUTPUT -99', 'OUTPUT -98', 'FORWARD 99', 'FORWARD 100']);
    expect(NF_IP_PRI.NAT_SRC - 2).toBe(98);
    expect(NF_IP_PRI.NAT_DST + 2).toBe(-98);
    // After filter (0) at INPUT and FORWARD: iptables sees the VIP before IPVS rewrites it.
    for (const o of ops.filter((x) => x.hook !== 'OUTPUT')) expect(o.priority).toBeGreaterThan(NF_IP_PRI.FILTER);
    expect(ops.every((o) => o.owner === 'ipvs')).toBe(true);
  });

  it('DNATs a request to the scheduled real server, re-injects it at LOCAL_OUT, and SNATs the reply', () => {
    const trace = new TraceRecorder<IpvsTraceEvent>();
    const ipvs = new Ipvs({ clock: () => 0, sink: trace });
    seed(ipvs);
    const ops = hookOps(ipvs);
    const { ns, sent } = netns();
    const req = tcpPacket(POD, 40000, VIP, 18888, 0x02);
    const v = find(ops, 'INPUT', 99).fn(req, state('INPUT', ns));
    expect(v).toBe(NF_STOLEN);
    expect(sent).toHaveLength(1);
    const out = Ipv4Packet.checked(sent[0]!.buf, sent[0]!.network);
    expect([formatIpv4(out.src()), formatIpv4(out.dst()), out.ttl()]).toEqual(['10.42.4.15', '10.42.0.134', 63]);
    expect(TcpSegment.checked(sent[0]!.buf, out.payloadOffset(), out.payloadLength()).dstPort()).toBe(18888);
    checkValid(sent[0]!);
    // The re-injected packet carries ipvs_property: the LOCAL_OUT hooks let it pass.
    expect(find(ops, 'OUTPUT', -98).fn(sent[0]!, state('OUTPUT', ns, null))).toBe(NF_ACCEPT);
    expect(find(ops, 'OUTPUT', -99).fn(sent[0]!, state('OUTPUT', ns, null))).toBe(NF_ACCEPT);

    // Reply from the real server, being forwarded back to the pod.
    const reply = tcpPacket(RS1, 18888, POD, 40000, 0x12);
    expect(find(ops, 'FORWARD', 100).fn(reply, state('FORWARD', ns, 'flannel.1'))).toBe(NF_ACCEPT);
    const r = Ipv4Packet.checked(reply.buf, reply.network);
    expect([formatIpv4(r.src()), formatIpv4(r.dst())]).toEqual(['10.43.199.15', '10.42.4.15']);
    expect(TcpSegment.checked(reply.buf, r.payloadOffset(), r.payloadLength()).srcPort()).toBe(18888);
    checkValid(reply);

    // The second connection goes to the other backend (rr).
    const req2 = tcpPacket(POD, 40001, VIP, 18888, 0x02);
    find(ops, 'INPUT', 99).fn(req2, state('INPUT', ns));
    expect(formatIpv4(Ipv4Packet.checked(sent[1]!.buf, sent[1]!.network).dst())).toBe('10.42.3.171');

    const kinds = trace.events.map((e) => `${e.kind}:${e.step}`);
    expect(kinds.slice(0, 4)).toEqual(['ipvs.service:ip_vs_service_find', 'ipvs.schedule:rr_schedule', 'ipvs.conn:ip_vs_conn_new', 'ipvs.nat:ip_vs_nat_xmit']);
    const sched = trace.ofKind('ipvs.schedule')[0]!;
    expect(sched.why).toBe('rr: cursor head -> 10.42.0.134:18888 (entry 1 of 2)');
    expect(sched.node).toBe('192.168.4.88');
    expect(sched.dev).toBe('eth0');
    expect(trace.ofKind('ipvs.nat').map((e) => e.text)).toEqual([
      'DNAT 10.43.199.15:18888 -> 10.42.0.134:18888', 'SNAT 10.42.0.134:18888 -> 10.43.199.15:18888', 'DNAT 10.43.199.15:18888 -> 10.42.3.171:18888',
    ]);
  });

  it('a local real server is delivered in place (NF_ACCEPT, TTL kept)', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    seed(ipvs);
    const { ns, sent } = netns([VIP, RS1]);
    const req = tcpPacket(POD, 40000, VIP, 18888, 0x02);
    expect(find(hookOps(ipvs), 'INPUT', 99).fn(req, state('INPUT', ns))).toBe(NF_ACCEPT);
    expect(sent).toHaveLength(0);
    const v = Ipv4Packet.checked(req.buf, req.network);
    expect([formatIpv4(v.dst()), v.ttl()]).toEqual(['10.42.0.134', 64]);
    checkValid(req);
  });

  it('a UDP datagram without checksum gets a full one (udp_dnat_handler)', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    const svc = ipvs.addService({ protocol: IPPROTO_UDP, addr: ip('10.43.0.10'), port: 53, scheduler: 'rr' });
    ipvs.addDest(svc, { addr: ip('10.42.1.2'), port: 53, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
    const { ns, sent } = netns([ip('10.43.0.10')]);
    const q = buildUdp({ src: POD, dst: ip('10.43.0.10') }, { srcPort: 5353, dstPort: 53, checksum: false }, new Uint8Array(12));
    expect(find(hookOps(ipvs), 'INPUT', 99).fn(q, state('INPUT', ns))).toBe(NF_STOLEN);
    const v = Ipv4Packet.checked(sent[0]!.buf, sent[0]!.network);
    expect(UdpPacket.checked(sent[0]!.buf, v.payloadOffset(), v.payloadLength()).checksum()).not.toBe(0);
    checkValid(sent[0]!);
  });

  it('an ICMP error from the real server is rewritten to come from the VIP (ip_vs_out_icmp)', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    const svc = ipvs.addService({ protocol: IPPROTO_UDP, addr: ip('10.43.0.10'), port: 53, scheduler: 'rr' });
    ipvs.addDest(svc, { addr: ip('10.42.1.2'), port: 5353, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
    const ops = hookOps(ipvs);
    const { ns, sent } = netns([ip('10.43.0.10')]);
    const q = buildUdp({ src: POD, dst: ip('10.43.0.10'), ttl: 64 }, { srcPort: 40053, dstPort: 53 }, new Uint8Array(10));
    find(ops, 'INPUT', 99).fn(q, state('INPUT', ns));
    const atServer = sent[0]!.buf.slice(sent[0]!.network, sent[0]!.end);
    // The server has nothing on 5353: port unreachable quoting what it received.
    const err = buildIcmp({ src: ip('10.42.1.2'), dst: POD, ttl: 64 }, { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, quote: atServer });
    expect(find(ops, 'FORWARD', 100).fn(err, state('FORWARD', ns, 'cali1'))).toBe(NF_ACCEPT);
    const o = Ipv4Packet.checked(err.buf, err.network);
    expect([formatIpv4(o.src()), formatIpv4(o.dst()), o.checksumValid()]).toEqual(['10.43.0.10', '10.42.4.15', true]);
    const icmp = IcmpPacket.checked(err.buf, o.payloadOffset(), o.payloadLength());
    expect(icmp.checksumValid()).toBe(true);
    const inner = Ipv4Packet.checked(err.buf, o.payloadOffset() + 8, o.payloadLength() - 8);
    expect([formatIpv4(inner.src()), formatIpv4(inner.dst()), inner.checksumValid()]).toEqual(['10.42.4.15', '10.43.0.10', true]);
    expect(UdpPacket.checked(err.buf, inner.payloadOffset(), inner.payloadLength()).dstPort()).toBe(53);
    // An error about no IPVS entry passes untouched.
    const unrelated = buildUdp({ src: POD, dst: ip('10.42.1.2') }, { srcPort: 40054, dstPort: 5353 }, new Uint8Array(4));
    const other = buildIcmp({ src: ip('10.42.1.2'), dst: POD }, { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, quote: unrelated.buf.slice(unrelated.network, unrelated.end) });
    const before = other.data().slice();
    expect(find(ops, 'FORWARD', 100).fn(other, state('FORWARD', ns))).toBe(NF_ACCEPT);
    expect(other.data()).toEqual(before);
  });

  it('an ICMP error from the client about a reply goes on to the real server (ip_vs_in_icmp)', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    const svc = ipvs.addService({ protocol: IPPROTO_UDP, addr: ip('10.43.0.10'), port: 53, scheduler: 'rr' });
    ipvs.addDest(svc, { addr: ip('10.42.1.2'), port: 5353, fwd: IP_VS_CONN_F_MASQ, weight: 1 });
    const ops = hookOps(ipvs);
    const { ns, sent } = netns([ip('10.43.0.10')]);
    find(ops, 'INPUT', 99).fn(buildUdp({ src: POD, dst: ip('10.43.0.10') }, { srcPort: 40053, dstPort: 53 }, new Uint8Array(10)), state('INPUT', ns));
    const reply = buildUdp({ src: ip('10.42.1.2'), dst: POD }, { srcPort: 5353, dstPort: 40053 }, new Uint8Array(30));
    find(ops, 'FORWARD', 100).fn(reply, state('FORWARD', ns));
    // The client's socket is gone: it answers the VIP with port unreachable, quoting the reply.
    const err = buildIcmp({ src: POD, dst: ip('10.43.0.10'), ttl: 64 }, { kind: 'dest-unreachable', code: 3, nextHopMtu: 0, quote: reply.buf.slice(reply.network, reply.end) });
    expect(find(ops, 'INPUT', 99).fn(err, state('INPUT', ns))).toBe(NF_STOLEN);
    const o = Ipv4Packet.checked(sent[1]!.buf, sent[1]!.network);
    expect([formatIpv4(o.src()), formatIpv4(o.dst()), o.ttl(), o.checksumValid()]).toEqual(['10.42.4.15', '10.42.1.2', 63, true]);
    expect(IcmpPacket.checked(sent[1]!.buf, o.payloadOffset(), o.payloadLength()).checksumValid()).toBe(true);
    const inner = Ipv4Packet.checked(sent[1]!.buf, o.payloadOffset() + 8, o.payloadLength() - 8);
    expect([formatIpv4(inner.src()), formatIpv4(inner.dst()), inner.checksumValid()]).toEqual(['10.42.1.2', '10.42.4.15', true]);
    expect(UdpPacket.checked(sent[1]!.buf, inner.payloadOffset(), inner.payloadLength()).srcPort()).toBe(5353);
    // An echo request to the VIP is not IPVS's business.
    const ping = buildIcmp({ src: POD, dst: ip('10.43.0.10') }, { kind: 'echo-request', ident: 1, seq: 1, data: new Uint8Array(8) });
    expect(find(ops, 'INPUT', 99).fn(ping, state('INPUT', ns))).toBe(NF_ACCEPT);
  });

  it('no usable server: ICMP port unreachable and drop; TTL 1: ICMP time exceeded', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    seed(ipvs);
    const svc = ipvs.services()[0]!;
    const ops = hookOps(ipvs);
    const { ns, icmp } = netns();
    expect(find(ops, 'INPUT', 99).fn(tcpPacket(POD, 40000, VIP, 18888, 0x02, 1), state('INPUT', ns))).toBe(NF_DROP);
    expect(icmp).toEqual([[11, 0]]);
    for (const d of svc.dests) ipvs.editDest(svc, { addr: d.addr, port: d.port, fwd: IP_VS_CONN_F_MASQ, weight: 0 });
    expect(find(ops, 'INPUT', 99).fn(tcpPacket(POD, 40001, VIP, 18888, 0x02), state('INPUT', ns))).toBe(NF_DROP);
    expect(icmp).toEqual([[11, 0], [3, 3]]);
  });

  it('net.ipv4.vs.conntrack=1 hands the entry to conntrack; 0 untracks the packet', () => {
    const calls: string[] = [];
    const seam: IpvsConntrack = {
      isConfirmed: () => false,
      update: (_p, c: IpvsConn, outin) => void calls.push(`update ${outin ? 'outin' : 'inout'} ${formatIpv4(c.daddr)}:${c.dport}`),
      notrack: () => void calls.push('notrack'),
    };
    const ipvs = new Ipvs({ clock: () => 0 });
    seed(ipvs);
    const ops = hookOps(ipvs, seam);
    const { ns } = netns();
    find(ops, 'INPUT', 99).fn(tcpPacket(POD, 40000, VIP, 18888, 0x02), state('INPUT', ns));
    ipvs.sysctl.conntrack = 1;
    find(ops, 'INPUT', 99).fn(tcpPacket(POD, 40001, VIP, 18888, 0x02), state('INPUT', ns));
    find(ops, 'FORWARD', 100).fn(tcpPacket(RS2, 18888, POD, 40001, 0x12), state('FORWARD', ns));
    expect(calls).toEqual(['notrack', 'update outin 10.42.3.171:18888', 'update inout 10.42.3.171:18888']);
    // Without a seam, untracking clears packet.ct.
    const p = tcpPacket(POD, 40002, VIP, 18888, 0x02);
    p.ct = {};
    ipvs.sysctl.conntrack = 0;
    find(hookOps(ipvs), 'INPUT', 99).fn(p, state('INPUT', ns));
    expect(p.ct).toBeNull();
  });

  it('a node process reaching a ClusterIP is scheduled at LOCAL_OUT; -m ipvs sees its entry', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    seed(ipvs);
    const { ns, sent } = netns();
    const p = tcpPacket(VIP, 50000, VIP, 18888, 0x02);
    expect(xtIpvsConn(ipvs, p)).toBeUndefined();
    expect(find(hookOps(ipvs), 'OUTPUT', -98).fn(p, state('OUTPUT', ns, null))).toBe(NF_STOLEN);
    expect(formatIpv4(Ipv4Packet.checked(sent[0]!.buf, sent[0]!.network).dst())).toBe('10.42.0.134');
    // KUBE-IPVS-OUT-FILTER's `-m ipvs --vaddr VIP --vport PORT` at filter OUTPUT, after the re-inject.
    expect(hasIpvsProperty(sent[0]!)).toBe(true);
    const cp = xtIpvsConn(ipvs, sent[0]!)!;
    expect([formatIpv4(cp.vaddr), cp.vport, cp.protocol]).toEqual(['10.43.199.15', 18888, IPPROTO_TCP]);
  });

  it('does nothing before the first service (ipvs->enable)', () => {
    const ipvs = new Ipvs({ clock: () => 0 });
    const { ns } = netns();
    const p = tcpPacket(POD, 40000, VIP, 18888, 0x02);
    const before = p.data().slice();
    for (const o of hookOps(ipvs)) expect(o.fn(p, state(o.hook, ns))).toBe(NF_ACCEPT);
    expect(p.data()).toEqual(before);
  });
});
