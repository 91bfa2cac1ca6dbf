/**
 * IPv4 fragmentation (ip_do_fragment, slow path) and reassembly for local delivery
 * (ip_defrag with IP_DEFRAG_LOCAL_DELIVER): fragments carry (MTU - header) & ~7 bytes of
 * payload each, the same ID, MF on all but the last; reassembly keys on (src, dst, id, proto),
 * completes when the last fragment has arrived and every byte is covered, and gives up after
 * ipfrag_time (30 s) with ICMP time exceeded code 1 if the first fragment was seen.
 * IP options are not copied into later fragments (the model builds none).
 */
import { internetChecksum } from '../../wire/checksum.js';
import { PacketBuffer } from '../../wire/packet-buffer.js';
import type { Timer } from '../../sim/event-queue.js';
import type { Netns } from '../netns.js';
import { icmpSend } from './icmp.js';

export const IPFRAG_TIME_NS = 30e9;

/** Splits `p` (IPv4 at head, DF clear) into fragments that fit `mtu`. */
/**
 * Finishes a fragment or a reassembled packet built at `o`: the header checksum, the header
 * offsets, and what the skb carried (mark, conntrack, and the trace's packet number: the
 * pieces are the packet they came from).
 */
function sealFragment(f: PacketBuffer, o: number, ihl: number, from: PacketBuffer): void {
  const q = f.buf;
  q[o + 10] = 0;
  q[o + 11] = 0;
  const c = internetChecksum(q, o, ihl);
  q[o + 10] = c >>> 8;
  q[o + 11] = c & 255;
  f.network = o;
  f.transport = o + ihl;
  f.mark = from.mark;
  f.ct = from.ct;
  f.ctinfo = from.ctinfo;
  f.trace = from.trace;
}

export function ipFragment(p: PacketBuffer, mtu: number): PacketBuffer[] {
  const b = p.buf;
  const ip = p.head;
  const ihl = (b[ip]! & 15) * 4;
  const total = p.end - ip;
  const payload = total - ihl;
  const chunk = (mtu - ihl) & ~7;
  if (chunk <= 0) return [];
  const baseOff = ((b[ip + 6]! & 0x1f) << 8) | b[ip + 7]!;
  const baseMf = (b[ip + 6]! & 0x20) !== 0;
  const out: PacketBuffer[] = [];
  for (let at = 0; at < payload; at += chunk) {
    const len = Math.min(chunk, payload - at);
    const last = at + len >= payload;
    const f = PacketBuffer.alloc(ihl + len);
    const o = f.head;
    const q = f.buf;
    q.set(b.subarray(ip, ip + ihl), o);
    q.set(b.subarray(ip + ihl + at, ip + ihl + at + len), o + ihl);
    const tot = ihl + len;
    q[o + 2] = tot >>> 8;
    q[o + 3] = tot & 255;
    const off = baseOff + at / 8;
    const mf = !last || baseMf;
    q[o + 6] = (mf ? 0x20 : 0) | ((off >>> 8) & 0x1f);
    q[o + 7] = off & 255;
    sealFragment(f, o, ihl, p);
    out.push(f);
  }
  return out;
}

export interface FragQueue {
  parts: { off: number; data: Uint8Array }[];
  /** Total payload length, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  first: PacketBuffer | null;
  timer: Timer;
}

/** ip_defrag: answers the reassembled packet, or null while it is incomplete (the fragment is kept). */
export function ipDefrag(netns: Netns, p: PacketBuffer): PacketBuffer | null {
  const b = p.buf;
  const ip = p.head;
  const ihl = (b[ip]! & 15) * 4;
  const key = `${(b[ip + 12]! << 24 | b[ip + 13]! << 16 | b[ip + 14]! << 8 | b[ip + 15]!) >>> 0}>${(b[ip + 16]! << 24 | b[ip + 17]! << 16 | b[ip + 18]! << 8 | b[ip + 19]!) >>> 0}#${(b[ip + 4]! << 8) | b[ip + 5]!}/${b[ip + 9]}`;
  const off = (((b[ip + 6]! & 0x1f) << 8) | b[ip + 7]!) * 8;
  const mf = (b[ip + 6]! & 0x20) !== 0;
  const data = b.slice(ip + ihl, p.end);
  let q = netns.fragQueues.get(key);
  if (q === undefined) {
    const fq: FragQueue = {
      parts: [], total: -1, first: null,
      timer: netns.clock.schedule(IPFRAG_TIME_NS, () => {
        netns.fragQueues.delete(key);
        netns.trace?.record({ kind: 'linux.drop', time: netns.clock.now, node: netns.node, netns: netns.netns, dev: '', step: 'ip_expire', reason: 'FRAG_REASM_TIMEOUT' });
        if (fq.first) icmpSend(netns, fq.first, 11, 1, 0);
      }),
    };
    q = fq;
    netns.fragQueues.set(key, q);
  }
  if (!mf) q.total = off + data.length;
  if (off === 0) q.first = p;
  q.parts.push({ off, data });
  if (q.total < 0 || q.first === null) return null;
  // Every byte covered?
  const parts = [...q.parts].sort((x, y) => x.off - y.off);
  let covered = 0;
  for (const part of parts) {
    if (part.off > covered) return null;
    covered = Math.max(covered, part.off + part.data.length);
  }
  if (covered < q.total) return null;
  q.timer.cancelled = true;
  netns.fragQueues.delete(key);
  const first = q.first;
  const fb = first.buf;
  const fh = first.head;
  const fihl = (fb[fh]! & 15) * 4;
  const whole = PacketBuffer.alloc(fihl + q.total);
  const o = whole.head;
  const w = whole.buf;
  w.set(fb.subarray(fh, fh + fihl), o);
  for (const part of parts) w.set(part.data.subarray(0, Math.min(part.data.length, q.total - part.off)), o + fihl + part.off);
  const tot = fihl + q.total;
  w[o + 2] = tot >>> 8;
  w[o + 3] = tot & 255;
  w[o + 6] = w[o + 6]! & 0x40; // keep DF, clear MF and the offset
  w[o + 7] = 0;
  sealFragment(whole, o, fihl, first);
  return whole;
}
