/**
 * IPv4 fragmentation and reassembly as Linux does them: ip_do_fragment's slow path
 * (net/ipv4/ip_output.c: pieces of (MTU - header) & ~7 bytes, every header copied, options
 * that are not "copied" (RFC 791) turned into NOPs after the first fragment, as
 * ip_options_fragment) and ip_defrag (net/ipv4/ip_fragment.c, inet_fragment.c: a queue per
 * (src, dst, protocol, id); a fragment inside one already held is a duplicate and dropped, any
 * other overlap discards the whole queue; the reassembled header is the first fragment's with
 * DF set when the largest fragment had it; ECN combined per ip_frag_ecn_table).
 * Checked against a real kernel's fragments (test/wire/fragment.test.ts).
 */
import { PacketBuffer } from './packet-buffer.js';
import { WireError } from './error.js';
import { readIpv4 } from './ipv4-address.js';
import { internetChecksum, read16, write16 } from './checksum.js';
import { IPV4_FLAG_DF, IPV4_FLAG_MF, IPV4_OFFSET_MASK, Ipv4Packet } from './ipv4.js';

const IPOPT_END = 0;
const IPOPT_NOOP = 1;

/** ip_options_fragment: options without the copied bit become NOPs (in place). */
export function ipv4OptionsFragment(bytes: Uint8Array, start: number, end: number): void {
  let i = start;
  while (i < end) {
    const t = bytes[i]!;
    if (t === IPOPT_END) return;
    if (t === IPOPT_NOOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return;
    const len = bytes[i + 1]!;
    if (len < 2 || len > end - i) return;
    if ((t & 0x80) === 0) bytes.fill(IPOPT_NOOP, i, i + len);
    i += len;
  }
}

/**
 * Splits the IPv4 packet at `pkt.network` (or `pkt.head`) into fragments of at most `mtu`
 * bytes, in the order Linux sends them. A packet that fits is answered alone, untouched.
 * Whether a DF packet may be fragmented is the caller's call (Linux sends ICMP fragmentation
 * needed instead); fragments have DF clear unless `keepDf` (IPSKB_FRAG_PMTU: refragmenting a
 * datagram conntrack reassembled from DF fragments). Fragments are L3 packets (head at the IP
 * header) with `network` set, and `transport` for the first one.
 */
export function fragmentIpv4(pkt: PacketBuffer, mtu: number, opts?: { keepDf?: boolean; headroom?: number }): PacketBuffer[] {
  const headroom = opts?.headroom ?? PacketBuffer.DEFAULT_HEADROOM;
  const df = opts?.keepDf === true ? IPV4_FLAG_DF : 0;
  const net = pkt.network >= pkt.head ? pkt.network : pkt.head;
  const src = pkt.buf;
  const ip = Ipv4Packet.checked(src, net, pkt.end - net);
  const total = ip.totalLength();
  if (total <= mtu) return [pkt];
  const hlen = ip.headerLength();
  const room = mtu - hlen;
  if (room < 8) throw new RangeError(`MTU ${mtu} leaves no room for fragment data after a ${hlen}-byte header`);
  const header = src.slice(net, net + hlen);
  const notLast = ip.moreFragments();
  let offset = ip.fragmentOffset();
  let left = total - hlen;
  let from = net + hlen;
  const out: PacketBuffer[] = [];
  while (left > 0) {
    let len = left > room ? room : left;
    if (len < left) len &= ~7;
    const f = PacketBuffer.alloc(hlen + len, headroom);
    const b = f.buf;
    const o = f.head;
    b.set(header, o);
    b.set(src.subarray(from, from + len), o + hlen);
    write16(b, o + 2, hlen + len);
    left -= len;
    write16(b, o + 6, ((offset >>> 3) & IPV4_OFFSET_MASK) | df | (left > 0 || notLast ? IPV4_FLAG_MF : 0));
    write16(b, o + 10, 0);
    write16(b, o + 10, internetChecksum(b, o, hlen));
    f.network = o;
    if (offset === 0) f.transport = o + hlen;
    f.mark = pkt.mark;
    // After the first fragment of a datagram, later headers carry only copied options.
    if (offset === 0) ipv4OptionsFragment(header, 20, hlen);
    out.push(f);
    offset += len;
    from += len;
  }
  return out;
}

interface Piece {
  offset: number;
  end: number;
  pkt: PacketBuffer;
}

interface Queue {
  created: number;
  pieces: Piece[];
  /** Datagram payload length once the last fragment arrived, else the largest end seen. */
  len: number;
  lastIn: boolean;
  meat: number;
  maxSize: number;
  maxDfSize: number;
  /** ip_frag_ecn bits seen: 1 not-ECT, 2 ECT(1), 4 ECT(0), 8 CE. */
  ecn: number;
}

/** Why a fragment did not complete a datagram (for traces and counters). */
export type ReassemblyEvent = 'queued' | 'duplicate' | 'overlap' | 'bad-length' | 'ecn' | 'complete';

/** Linux's default net.ipv4.ipfrag_time: 30 s. */
export const IPFRAG_TIME_NS = 30_000_000_000;

/**
 * Reassembly queues (ip_defrag). Time is the caller's (simulated nanoseconds); `expire`
 * answers the queues that timed out with their first fragment if it came, which is what
 * Linux quotes in ICMP time exceeded code 1 (fragment reassembly time exceeded).
 */
export class Ipv4Reassembler {
  private readonly queues = new Map<string, Queue>();
  /** What the last `add` did. */
  last: ReassemblyEvent = 'queued';

  constructor(readonly timeoutNs = IPFRAG_TIME_NS) {}

  get size(): number {
    return this.queues.size;
  }

  /**
   * Takes one fragment (its IPv4 header at `network`, or at `head`); answers the whole
   * datagram when this one completes it (a new L3 packet, head at the IP header), else null.
   * A packet that is not a fragment is answered as is. Throws WireError for a bad header.
   */
  add(pkt: PacketBuffer, now: number): PacketBuffer | null {
    const net = pkt.network >= pkt.head ? pkt.network : pkt.head;
    const b = pkt.buf;
    const ip = Ipv4Packet.checked(b, net, pkt.end - net);
    const fo = read16(b, net + 6);
    if ((fo & (IPV4_FLAG_MF | IPV4_OFFSET_MASK)) === 0) {
      this.last = 'complete';
      return pkt;
    }
    const key = `${ip.src()}/${ip.dst()}/${ip.protocol()}/${ip.ident()}`;
    let q = this.queues.get(key);
    if (q && now - q.created >= this.timeoutNs) {
      this.queues.delete(key);
      q = undefined;
    }
    if (!q) {
      q = { created: now, pieces: [], len: 0, lastIn: false, meat: 0, maxSize: 0, maxDfSize: 0, ecn: 0 };
      this.queues.set(key, q);
    }
    const hlen = ip.headerLength();
    const offset = (fo & IPV4_OFFSET_MASK) * 8;
    let end = offset + ip.payloadLength();
    const more = (fo & IPV4_FLAG_MF) !== 0;
    // ip_frag_queue: a last fragment fixes the length; anything inconsistent with it kills the queue.
    if (!more) {
      if (end < q.len || (q.lastIn && end !== q.len)) return this.discard(key, 'bad-length');
      q.lastIn = true;
      q.len = end;
    } else {
      end &= ~7;
      if (end > q.len) {
        if (q.lastIn) return this.discard(key, 'bad-length');
        q.len = end;
      }
    }
    if (end === offset) return this.discard(key, 'bad-length');
    for (const p of q.pieces) {
      if (end <= p.offset || offset >= p.end) continue;
      if (offset >= p.offset && end <= p.end) {
        this.last = 'duplicate';
        return null;
      }
      return this.discard(key, 'overlap');
    }
    const tos = b[net + 1]! & 3;
    q.ecn |= tos === 0 ? 1 : tos === 1 ? 2 : tos === 2 ? 4 : 8;
    const fragsize = pkt.end - net;
    if (fragsize > q.maxSize) q.maxSize = fragsize;
    if ((fo & IPV4_FLAG_DF) !== 0 && fragsize > q.maxDfSize) q.maxDfSize = fragsize;
    // Keep a copy of header + the fragment's (possibly trimmed) data.
    const copy = PacketBuffer.from(b.subarray(net, net + hlen + (end - offset)), 0);
    copy.network = copy.head;
    q.pieces.push({ offset, end, pkt: copy });
    q.pieces.sort((x, y) => x.offset - y.offset);
    q.meat += end - offset;
    if (!q.lastIn || q.meat !== q.len || q.pieces[0]!.offset !== 0) {
      this.last = 'queued';
      return null;
    }
    return this.reassemble(key, q);
  }

  /** Drops queues older than the timeout; answers their first fragments (null when it never came). */
  expire(now: number): Array<PacketBuffer | null> {
    const out: Array<PacketBuffer | null> = [];
    for (const [key, q] of this.queues) {
      if (now - q.created < this.timeoutNs) continue;
      this.queues.delete(key);
      const first = q.pieces[0];
      out.push(first && first.offset === 0 ? first.pkt : null);
    }
    return out;
  }

  private discard(key: string, why: ReassemblyEvent): null {
    this.queues.delete(key);
    this.last = why;
    return null;
  }

  private reassemble(key: string, q: Queue): PacketBuffer | null {
    this.queues.delete(key);
    // ip_frag_ecn_table: not-ECT mixed with ECT or CE is invalid; CE with ECT gives CE.
    const ecn = q.ecn;
    if ((ecn & 1) !== 0 && ecn !== 1) {
      this.last = 'ecn';
      return null;
    }
    const first = q.pieces[0]!.pkt;
    const fb = first.buf;
    const fo = first.head;
    const hlen = (fb[fo]! & 15) * 4;
    const total = hlen + q.len;
    if (total > 0xffff) {
      this.last = 'bad-length';
      return null;
    }
    const out = PacketBuffer.alloc(total);
    const b = out.buf;
    const o = out.head;
    b.set(fb.subarray(fo, fo + hlen), o);
    for (const p of q.pieces) {
      const ph = (p.pkt.buf[p.pkt.head]! & 15) * 4;
      b.set(p.pkt.buf.subarray(p.pkt.head + ph, p.pkt.head + ph + (p.end - p.offset)), o + hlen + p.offset);
    }
    write16(b, o + 2, total);
    write16(b, o + 6, q.maxDfSize !== 0 && q.maxDfSize === q.maxSize ? IPV4_FLAG_DF : 0);
    if ((ecn & 8) !== 0) b[o + 1] = b[o + 1]! | 3;
    write16(b, o + 10, 0);
    write16(b, o + 10, internetChecksum(b, o, hlen));
    out.network = o;
    out.transport = o + hlen;
    this.last = 'complete';
    return out;
  }
}

/** The reassembly key of a fragment, as tcpdump and the kernel identify a datagram. */
export function ipv4FragmentKey(bytes: Uint8Array, offset: number): string {
  if (bytes.length - offset < 20) throw new WireError('ipv4.header', 'too short for a fragment key');
  return `${readIpv4(bytes, offset + 12)}/${readIpv4(bytes, offset + 16)}/${bytes[offset + 9]}/${read16(bytes, offset + 4)}`;
}
