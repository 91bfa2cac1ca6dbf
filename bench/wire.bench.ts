// Wire-layer hot paths, per packet: building and parsing an Ethernet/IPv4/TCP frame, VXLAN
// encapsulation/decapsulation, a DNAT rewrite with incremental checksums, a routed hop's
// TTL/MAC rewrite. Each task handles BATCH packets per call so the timer does not dominate;
// the table reports time and rate per packet, with the bytes checksummed per packet beside it.
import { Bench } from 'tinybench';
import {
  buildTcpFrame, EthernetFrame, Ipv4Packet, natDnat, parseEthernet, parseIpv4, parseIpv4Header, parseMac, parseTcp,
  TcpSegment, vxlanDecapsulate, vxlanEncapsulate, TCP_ACK, TCP_PSH,
} from '../src/wire/index.js';
import type { Ipv4Addr, PacketBuffer, VxlanOuter } from '../src/wire/index.js';

const BATCH = 1000;

const eth = { dst: parseMac('aa:aa:aa:00:00:02'), src: parseMac('aa:aa:aa:00:00:01') };
const ip = { src: parseIpv4('10.42.0.2'), dst: parseIpv4('10.43.199.15'), ident: 0x302f, dontFragment: true, ttl: 64 };
const tcp = {
  srcPort: 40000, dstPort: 18888, seq: 1, ack: 1, flags: TCP_ACK | TCP_PSH, window: 502, urgent: 0,
  options: [{ kind: 'nop' as const }, { kind: 'nop' as const }, { kind: 'timestamps' as const, tsval: 1, tsecr: 2 }],
};
const outer: VxlanOuter = {
  eth: { dst: parseMac('e6:d8:6c:c3:af:74'), src: parseMac('7a:36:c7:54:f6:49') },
  ip: { src: parseIpv4('192.168.4.86'), dst: parseIpv4('192.168.4.87'), ident: 0x737b },
  srcPort: 52971,
  vni: 1,
};
const small = new Uint8Array(100);
const mtu = new Uint8Array(1398); // inner IP packet of 1450 bytes: a full flannel.1 MTU segment
const backend = parseIpv4('10.42.3.171');
const service = parseIpv4('10.43.199.15');

let sink = 0; // keeps results alive so the JIT cannot drop the work

function frame(payload: Uint8Array): PacketBuffer {
  return buildTcpFrame(eth, ip, tcp, payload);
}

interface Case {
  name: string;
  /** Bytes run through a checksum per packet (a cost counter beside the time). */
  csumBytes: number;
  fn: () => void;
}

function cases(): Case[] {
  const parsed = frame(small);
  const pb = parsed.buf;
  const at = parsed.head;
  const len = parsed.length;
  const encSmall = frame(small);
  const encBig = frame(mtu);
  const nat = frame(small);
  nat.network = nat.mac + 14;
  nat.transport = nat.network + 20;
  const hop = frame(small);
  return [
    { name: 'build eth/ipv4/tcp (100 B data)', csumBytes: 20 + 32 + 100 + 12, fn: () => {
      for (let i = 0; i < BATCH; i++) sink += frame(small).length;
    } },
    { name: 'view-parse eth/ipv4/tcp (checked + 5-tuple)', csumBytes: 0, fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const e = EthernetFrame.checked(pb, at, len);
        const v4 = Ipv4Packet.checked(pb, e.payloadOffset(), len - 14);
        const t = TcpSegment.checked(pb, v4.payloadOffset(), v4.payloadLength());
        sink += (v4.src() ^ v4.dst() ^ v4.protocol() ^ t.srcPort() ^ t.dstPort()) & 1;
      }
    } },
    { name: 'view-parse + verify IP and TCP checksums', csumBytes: 20 + 32 + 100 + 12, fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const v4 = Ipv4Packet.checked(pb, at + 14, len - 14);
        const t = TcpSegment.checked(pb, v4.payloadOffset(), v4.payloadLength());
        sink += (v4.checksumValid() && t.checksumValid(v4.src(), v4.dst()) ? 1 : 0);
      }
    } },
    { name: 'repr-parse eth/ipv4/tcp (allocating)', csumBytes: 0, fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const e = parseEthernet(pb, at, len);
        const v4 = parseIpv4Header(pb, at + 14, len - 14);
        const t = parseTcp(pb, at + 34, v4.payloadLength);
        sink += e.ethertype + t.srcPort;
      }
    } },
    { name: 'vxlan encap+decap (inner 166 B)', csumBytes: 20 + 8 + 8 + encSmall.length, fn: () => {
      for (let i = 0; i < BATCH; i++) {
        vxlanEncapsulate(encSmall, outer);
        sink += vxlanDecapsulate(encSmall).vni;
      }
    } },
    { name: 'vxlan encap+decap (inner 1464 B)', csumBytes: 20 + 8 + 8 + encBig.length, fn: () => {
      for (let i = 0; i < BATCH; i++) {
        vxlanEncapsulate(encBig, outer);
        sink += vxlanDecapsulate(encBig).vni;
      }
    } },
    { name: 'DNAT rewrite (addr+port, RFC 1624)', csumBytes: 0, fn: () => {
      for (let i = 0; i < BATCH; i++) natDnat(nat, (i & 1 ? service : backend) as Ipv4Addr, i & 1 ? 18888 : 8080);
      sink += nat.buf[nat.network + 10]!;
    } },
    { name: 'routed hop (TTL-1 incremental, MAC rewrite)', csumBytes: 0, fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const e = EthernetFrame.checked(hop.buf, hop.head, hop.length);
        const v4 = Ipv4Packet.checked(hop.buf, e.payloadOffset(), hop.length - 14);
        if (v4.ttl() <= 1) v4.setTtl(65);
        v4.decrementTtl();
        e.setDst(eth.src);
        e.setSrc(eth.dst);
      }
      sink += hop.buf[hop.head + 22]!;
    } },
  ];
}

export async function run(): Promise<void> {
  const bench = new Bench({ name: 'wire', time: 1000, warmupTime: 200 });
  const list = cases();
  for (const c of list) bench.add(c.name, c.fn);
  await bench.run();
  const rows = bench.tasks.map((t, i) => {
    const r = t.result;
    if (r.state !== 'completed') return { task: t.name, state: r.state };
    // The median sample is reported: on a shared machine the mean carries other jobs' preemptions.
    const nsPerPkt = (r.latency.p50 * 1e6) / BATCH;
    return {
      task: t.name,
      'ns/packet (median)': nsPerPkt.toFixed(1),
      'ns/packet (mean)': ((r.period * 1e6) / BATCH).toFixed(1),
      'packets/s (median)': Math.round(1e9 / nsPerPkt).toLocaleString('en-US'),
      'rme %': r.latency.rme.toFixed(2),
      'csum bytes/packet': list[i]!.csumBytes,
      samples: r.latency.samplesCount,
    };
  });
  console.table(rows);
  if (sink === 0.5) console.log(sink);
}
