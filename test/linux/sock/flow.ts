// Compact per-segment lines for asserting a TCP exchange against a real capture: direction,
// tcpdump's flag letters, sequence and ack relative to each side's ISN, window field, length.
import { Ipv4Packet } from '../../../src/wire/ipv4.js';
import { TcpSegment } from '../../../src/wire/tcp.js';
import { tcpFlagText } from '../../../src/linux/sock/trace.js';
import type { Captured } from './fake-ip.js';

export interface SegLine {
  readonly time: number;
  readonly line: string;
  readonly ipId: number;
  readonly seg: TcpSegment;
  readonly ip: Ipv4Packet;
}

/** Lines like `C>S [P.] 1:6 ack 1 win 63`; C is the side that sent the first SYN. */
export function tcpFlow(captured: readonly Captured[]): SegLine[] {
  const out: SegLine[] = [];
  let client = -1;
  const isn = new Map<number, number>();
  for (const c of captured) {
    const ip = Ipv4Packet.checked(c.bytes);
    if (ip.protocol() !== 6) continue;
    const seg = TcpSegment.checked(c.bytes, ip.payloadOffset(), ip.payloadLength());
    if (client < 0) client = ip.src();
    const src = ip.src();
    const dst = ip.dst();
    if (seg.syn() && !isn.has(src)) isn.set(src, seg.seq());
    const dir = src === client ? 'C>S' : 'S>C';
    const base = isn.get(src) ?? 0;
    const rel = (seg.seq() - base) >>> 0;
    const len = seg.payloadLength();
    const seqText = len > 0 ? `${rel}:${rel + len}` : `${rel}`;
    const ack = seg.ackFlag() ? ` ack ${(seg.ack() - (isn.get(dst) ?? 0)) >>> 0}` : '';
    out.push({ time: c.time, line: `${dir} [${tcpFlagText(seg.flags())}] ${seqText}${ack} win ${seg.window()}`, ipId: ip.ident(), seg, ip });
  }
  return out;
}
