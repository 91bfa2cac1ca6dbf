// Normalised one-line descriptions of Ethernet frames, the same for a model capture and a
// real tcpdump capture: ISNs become relative sequence numbers, TSvals and ports disappear,
// IP IDs become `id0` (zero) or `id+` (anything else). Direction is taken from the sender
// address (10.99.0.1 = out), so classic pcap files (no direction) compare too.
import { Ipv4Packet } from '../../../src/wire/ipv4.js';
import { TcpSegment, type TcpOption } from '../../../src/wire/tcp.js';
import { UdpPacket } from '../../../src/wire/udp.js';
import { IcmpPacket } from '../../../src/wire/icmp.js';
import { formatIpv4 } from '../../../src/wire/ipv4-address.js';
import { tcpFlagText } from '../../../src/linux/sock/trace.js';

export interface Frame {
  readonly time: number;
  readonly bytes: Uint8Array;
  readonly dir?: 'in' | 'out';
}

const CLIENT = 0x0a630001; // 10.99.0.1

export function optionText(o: TcpOption): string {
  switch (o.kind) {
    case 'mss':
      return `mss ${o.mss}`;
    case 'sack-permitted':
      return 'sackOK';
    case 'timestamps':
      return 'TS';
    case 'nop':
      return 'nop';
    case 'window-scale':
      return `wscale ${o.shift}`;
    case 'eol':
      return 'eol';
    case 'sack':
      return `sack ${o.blocks.length}`;
    case 'unknown':
      return `opt-${o.type}`;
  }
}

export function frameLines(frames: readonly Frame[]): string[] {
  const out: string[] = [];
  const isn = new Map<number, number>();
  for (const f of frames) {
    const b = f.bytes;
    if (b.length < 14) continue;
    const et = (b[12]! << 8) | b[13]!;
    if (et === 0x0806) {
      const op = (b[20]! << 8) | b[21]!;
      const spa = ((b[28]! << 24) | (b[29]! << 16) | (b[30]! << 8) | b[31]!) >>> 0;
      const tpa = ((b[38]! << 24) | (b[39]! << 16) | (b[40]! << 8) | b[41]!) >>> 0;
      const dir = spa === CLIENT ? 'out' : 'in';
      out.push(op === 1 ? `${dir} ARP request who-has ${formatIpv4(tpa)} tell ${formatIpv4(spa)}` : `${dir} ARP reply ${formatIpv4(spa)}`);
      continue;
    }
    if (et !== 0x0800) continue;
    const ip = Ipv4Packet.checked(b, 14, b.length - 14);
    const dir = ip.src() === CLIENT ? 'out' : 'in';
    const tail = `${ip.dontFragment() ? ' DF' : ''}${ip.ttl() !== 64 ? ` ttl ${ip.ttl()}` : ''} ${ip.ident() === 0 ? 'id0' : 'id+'}`;
    if (ip.moreFragments() || ip.fragmentOffset() > 0) {
      out.push(`${dir} FRAG proto ${ip.protocol()} off ${ip.fragmentOffset()} len ${ip.payloadLength()}${ip.moreFragments() ? ' MF' : ''}${tail}`);
      continue;
    }
    if (ip.protocol() === 6) {
      const seg = TcpSegment.checked(b, ip.payloadOffset(), ip.payloadLength());
      // ISNs per endpoint (address and port), so both ends on one address stay apart.
      const me = ip.src() * 65536 + seg.srcPort();
      const peer = ip.dst() * 65536 + seg.dstPort();
      if (seg.syn() && !isn.has(me)) isn.set(me, seg.seq());
      const rel = (seg.seq() - (isn.get(me) ?? 0)) >>> 0;
      const len = seg.payloadLength();
      const ack = seg.ackFlag() ? ` ack ${(seg.ack() - (isn.get(peer) ?? 0)) >>> 0}` : '';
      const opts = seg.options().map(optionText).join(',');
      out.push(`${dir} TCP ${dir === 'out' ? 'C>S' : 'S>C'} [${tcpFlagText(seg.flags())}] ${len > 0 ? `${rel}:${rel + len}` : rel}${ack} win ${seg.window()}${opts ? ` [${opts}]` : ''}${tail}`);
    } else if (ip.protocol() === 17) {
      const u = UdpPacket.checked(b, ip.payloadOffset(), ip.payloadLength());
      out.push(`${dir} UDP ${u.payloadLength()}${tail}`);
    } else if (ip.protocol() === 1) {
      const m = IcmpPacket.checked(b, ip.payloadOffset(), ip.payloadLength());
      if (m.isError()) out.push(`${dir} ICMP ${m.type()}/${m.code()} tos 0x${ip.tos().toString(16)} quote ${m.data().length}${tail}`);
      else out.push(`${dir} ICMP ${m.type()}/${m.code()} id ${m.ident()} seq ${m.seq()} len ${ip.payloadLength()}${tail}`);
    }
  }
  return out;
}
