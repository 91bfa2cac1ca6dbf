// Reading an exchange's captured frames in tests: the TCP segments each interface saw (inner
// ones for flannel's VXLAN on UDP 8472), and the bytes of one direction of a connection as
// one interface carried them. Parsed by offsets here on purpose (not with src/wire), so the
// tests check the model's frames with an independent reader.
import type { ExchangeResult } from '../../../src/scenario/trace/exchange.js';

export interface TcpSegment {
  readonly index: number;
  readonly node: string;
  readonly netns: string;
  readonly dev: string;
  readonly direction: 'in' | 'out';
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
  /** TCP flags byte (SYN 0x02, ACK 0x10, FIN 0x01, RST 0x04). */
  readonly flags: number;
  readonly payload: Uint8Array;
  /** Carried inside flannel's VXLAN. */
  readonly vxlan: boolean;
}

const ip4 = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const u16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;

function parse(b: Uint8Array, off: number): { kind: 'tcp'; src: string; sport: number; dst: string; dport: number; flags: number; payload: Uint8Array } | { kind: 'vxlan'; inner: number } | null {
  if (b.length < off + 34 || u16(b, off + 12) !== 0x0800) return null;
  const ip = off + 14;
  const ihl = (b[ip]! & 0x0f) * 4;
  const total = u16(b, ip + 2);
  const proto = b[ip + 9];
  const l4 = ip + ihl;
  if (proto === 17 && u16(b, l4 + 2) === 8472) return { kind: 'vxlan', inner: l4 + 8 + 8 };
  if (proto !== 6) return null;
  const doff = (b[l4 + 12]! >> 4) * 4;
  return { kind: 'tcp', src: ip4(b, ip + 12), sport: u16(b, l4), dst: ip4(b, ip + 16), dport: u16(b, l4 + 2), flags: b[l4 + 13]!, payload: b.subarray(l4 + doff, ip + total) };
}

/** Every TCP segment on every interface, in capture order (VXLAN-carried ones decapsulated). */
export function tcpSegments(r: ExchangeResult): TcpSegment[] {
  const out: TcpSegment[] = [];
  r.steps.forEach((s, index) => {
    if (s.type !== 'frame') return;
    let p = parse(s.bytes, 0);
    let vxlan = false;
    if (p?.kind === 'vxlan') {
      p = parse(s.bytes, p.inner);
      vxlan = true;
    }
    if (p?.kind !== 'tcp') return;
    out.push({ index, node: s.node, netns: s.netns, dev: s.dev, direction: s.direction as 'in' | 'out', src: p.src, sport: p.sport, dst: p.dst, dport: p.dport, flags: p.flags, payload: p.payload, vxlan });
  });
  return out;
}

/** The payload bytes of the segments `keep` selects, concatenated, as latin1 text. */
export function streamText(segs: readonly TcpSegment[], keep: (s: TcpSegment) => boolean): string {
  return segs.filter(keep).map((s) => Buffer.from(s.payload).toString('latin1')).join('');
}

/** The SYNs (without ACK) seen on one namespace's interfaces, in order. */
export function syns(segs: readonly TcpSegment[], netns: string, direction: 'in' | 'out'): TcpSegment[] {
  return segs.filter((s) => s.netns === netns && s.direction === direction && (s.flags & 0x12) === 0x02);
}

/** The header lines of an HTTP message (between the start line and the empty line). */
export function headerLines(message: string): string[] {
  const head = message.split('\r\n\r\n')[0] ?? '';
  return head.split('\r\n').slice(1);
}
