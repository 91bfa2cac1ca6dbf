import { PacketBuffer } from '../wire/packet-buffer.js';
import type { PacketCtx } from './module.js';
import { REJECT_TYPES } from './targets/reject.js';
import { IPPROTO_ICMP, IPPROTO_TCP, fixChecksums, put16, put32, u16, u32 } from './packet.js';

/** sysctl net.ipv4.ip_default_ttl. */
const DEFAULT_TTL = 64;

/**
 * Builds what ipt_REJECT sends, as net/ipv4/netfilter/nf_reject_ipv4.c: an ICMP destination
 * unreachable (icmp_send: TOS | 0xc0, TTL 64, no DF, quoting the offending IPv4 header and as
 * much payload as fits in 576 bytes) or a TCP RST (DF, ID 0, ports swapped, seq/ack from the
 * segment). Answers undefined where the kernel sends nothing (fragments, a RST answering a
 * RST, ICMP errors about ICMP errors, broadcast/multicast destinations).
 */
export function buildReject(c: PacketCtx, how: string): PacketBuffer | undefined {
  const p = c.packet;
  const b = p.buf;
  const ip = c.ip;
  if (ip.fragOffset !== 0) return undefined;
  const ns = c.state.netns;
  const t = ns.addressType(ip.dst);
  if (t === 'BROADCAST' || t === 'MULTICAST') return undefined;
  if (how === 'tcp-reset') {
    if (ip.proto !== IPPROTO_TCP || ip.l4Len < 20) return undefined;
    const th = ip.l4;
    const flags = b[th + 13]!;
    if (flags & 0x04) return undefined;
    const out = PacketBuffer.alloc(40);
    const o = out.head;
    const ob = out.buf;
    out.network = o;
    out.transport = o + 20;
    ob[o] = 0x45;
    put16(ob, o + 2, 40);
    put16(ob, o + 6, 0x4000);
    ob[o + 8] = DEFAULT_TTL;
    ob[o + 9] = IPPROTO_TCP;
    put32(ob, o + 12, ip.dst);
    put32(ob, o + 16, ip.src);
    const tt = o + 20;
    put16(ob, tt, u16(b, th + 2));
    put16(ob, tt + 2, u16(b, th));
    const doff = (b[th + 12]! >> 4) * 4;
    if (flags & 0x10) {
      put32(ob, tt + 4, u32(b, th + 8));
      ob[tt + 13] = 0x04;
    } else {
      const segLen = ip.totalLength - ip.ihl - doff;
      put32(ob, tt + 8, (u32(b, th + 4) + (flags & 0x02 ? 1 : 0) + (flags & 0x01 ? 1 : 0) + segLen) >>> 0);
      ob[tt + 13] = 0x14;
    }
    ob[tt + 12] = 0x50;
    fixChecksums(out);
    return out;
  }
  const code = REJECT_TYPES.find(([n]) => n === how)?.[2] ?? 3;
  if (ip.proto === IPPROTO_ICMP && ip.l4Len >= 1 && [3, 4, 5, 11, 12].includes(b[ip.l4]!)) return undefined;
  const quoted = Math.min(ip.totalLength, p.end - p.network, 576 - 28);
  const out = PacketBuffer.alloc(28 + quoted);
  const o = out.head;
  const ob = out.buf;
  out.network = o;
  out.transport = o + 20;
  ob[o] = 0x45;
  ob[o + 1] = (ip.tos & 0x1e) | 0xc0;
  put16(ob, o + 2, 28 + quoted);
  put16(ob, o + 4, ns.randomU32() & 0xffff);
  ob[o + 8] = DEFAULT_TTL;
  ob[o + 9] = IPPROTO_ICMP;
  // __icmp_send: the source is the offending packet's destination when that is ours,
  // else the address the reply route picks (the device the packet came in on).
  let src = ip.dst as number;
  if (!ns.isLocalAddress(ip.dst)) {
    const dev = c.state.inDev;
    src = (dev !== null ? ns.selectSourceAddress(dev, ip.src) : undefined) ?? ip.src;
  }
  put32(ob, o + 12, src);
  put32(ob, o + 16, ip.src);
  ob[o + 20] = 3;
  ob[o + 21] = code;
  ob.set(b.subarray(p.network, p.network + quoted), o + 28);
  fixChecksums(out);
  return out;
}
