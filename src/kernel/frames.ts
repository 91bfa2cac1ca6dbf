// Frames as comparable text: one line per frame with every header field that a real system
// sets deterministically, and placeholders for what it sets at random (IP IDs, TCP ISNs and
// timestamps, ephemeral ports, VXLAN source ports). Checksums are left out: on a veth the
// kernel hands tcpdump CHECKSUM_PARTIAL frames whose checksum is not yet filled in.
import { formatIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import { formatMac } from '../wire/mac-address.js';

/**
 * Names ports that a real system picks at random, in order of first appearance: a port is
 * fixed when it is below 1024 or in `fixed` (the ports servers listen on, Service ports).
 */
export class PortNames {
  private readonly names = new Map<number, string>();
  constructor(private readonly fixed: ReadonlySet<number>) {}
  /** The name given so far, without naming a new port (`E?` for one frames never showed). */
  peek(p: number): string {
    if (p < 1024 || this.fixed.has(p)) return String(p);
    return this.names.get(p) ?? 'E?';
  }
  name(p: number): string {
    if (p < 1024 || this.fixed.has(p)) return String(p);
    let n = this.names.get(p);
    if (!n) this.names.set(p, (n = `E${this.names.size + 1}`));
    return n;
  }
}

/** TCP sequence spaces: each SYN's ISN gets a name (C1, S1, ...) and seq/ack print relative to it. */
class SeqSpaces {
  private readonly isns: { isn: number; name: string }[] = [];
  syn(seq: number, server: boolean): void {
    if (this.isns.some((x) => x.isn === seq)) return;
    this.isns.push({ isn: seq, name: `${server ? 'S' : 'C'}${this.isns.filter((x) => x.name[0] === (server ? 'S' : 'C')).length + 1}` });
  }
  rel(v: number): string {
    let best: { d: number; name: string } | null = null;
    for (const x of this.isns) {
      const d = (v - x.isn) >>> 0;
      if (d < 1 << 24 && (!best || d < best.d)) best = { d, name: x.name };
    }
    return best ? `${best.name}+${best.d}` : '?';
  }
}

export interface FrameContext {
  readonly ports: PortNames;
  readonly seqs: SeqSpaces;
  /** UDP destination ports that carry VXLAN (flannel's 8472, IANA 4789). */
  readonly vxlanPorts: ReadonlySet<number>;
}

export function frameContext(fixedPorts: Iterable<number>, vxlanPorts: Iterable<number> = [8472, 4789]): FrameContext {
  const vx = new Set(vxlanPorts);
  return { ports: new PortNames(new Set([...fixedPorts, ...vx])), seqs: new SeqSpaces(), vxlanPorts: vx };
}

const u16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const u32 = (b: Uint8Array, o: number): number => (u16(b, o) * 65536 + u16(b, o + 2)) >>> 0;
const mac = (b: Uint8Array, o: number): string => formatMac(u16(b, o) * 2 ** 32 + u32(b, o + 2));
const ip4 = (b: Uint8Array, o: number): string => formatIpv4(u32(b, o) as Ipv4Addr);

/** One Ethernet frame as a line (VXLAN payloads are followed into the inner frame). */
export function describeFrame(b: Uint8Array, ctx: FrameContext): string {
  if (b.length < 14) return `short frame (${b.length} bytes)`;
  const head = `${mac(b, 6)} > ${mac(b, 0)}`;
  const type = u16(b, 12);
  if (type === 0x0806) return `${head} ${describeArp(b.subarray(14))}`;
  if (type === 0x0800) return `${head} ${describeIp(b.subarray(14), ctx, false)}`;
  return `${head} ethertype 0x${type.toString(16).padStart(4, '0')} len ${b.length}`;
}

function describeArp(a: Uint8Array): string {
  if (a.length < 28) return `ARP short (${a.length})`;
  const op = u16(a, 6);
  if (op === 1) return `ARP who-has ${ip4(a, 24)} tell ${ip4(a, 14)} (sha ${mac(a, 8)} tha ${mac(a, 18)})`;
  if (op === 2) return `ARP ${ip4(a, 14)} is-at ${mac(a, 8)} (to ${ip4(a, 24)} ${mac(a, 18)})`;
  return `ARP op ${op}`;
}

function describeIp(p: Uint8Array, ctx: FrameContext, inner: boolean): string {
  if (p.length < 20) return `IP short (${p.length})`;
  const ihl = ((p[0] ?? 0) & 0xf) * 4;
  const tos = p[1] ?? 0;
  const total = u16(p, 2);
  const id = u16(p, 4);
  const frag = u16(p, 6);
  const ttl = p[8] ?? 0;
  const proto = p[9] ?? 0;
  const flags = `${frag & 0x4000 ? ' DF' : ''}${frag & 0x2000 ? ' MF' : ''}${frag & 0x1fff ? ` off ${(frag & 0x1fff) * 8}` : ''}`;
  // A DF packet of an unconnected socket has ID 0 (ip_select_ident); other IDs are random.
  const head = `IP ${ip4(p, 12)} > ${ip4(p, 16)} tos 0x${tos.toString(16)} ttl ${ttl} id ${id === 0 ? '0' : '*'}${flags} len ${total}${ihl > 20 ? ` ihl ${ihl}` : ''}`;
  if (frag & 0x1fff) return `${head} proto ${proto} fragment`;
  const l4 = p.subarray(ihl, inner ? p.length : Math.max(ihl, total));
  switch (proto) {
    case 6:
      return `${head} ${describeTcp(l4, ctx, inner)}`;
    case 17:
      return `${head} ${describeUdp(l4, ctx, inner)}`;
    case 1:
      return `${head} ${describeIcmp(l4, ctx)}`;
    default:
      return `${head} proto ${proto}`;
  }
}

function describeTcp(t: Uint8Array, ctx: FrameContext, inner: boolean): string {
  if (t.length < (inner ? 8 : 20)) return `TCP short (${t.length})`;
  const sport = ctx.ports.name(u16(t, 0));
  const dport = ctx.ports.name(u16(t, 2));
  const seq = u32(t, 4);
  if (inner && t.length < 20) return `TCP ${sport} > ${dport} seq ${ctx.seqs.rel(seq)}`;
  const ack = u32(t, 8);
  const off = ((t[12] ?? 0) >> 4) * 4;
  const fl = t[13] ?? 0;
  const names = ['F', 'S', 'R', 'P', '.', 'U', 'E', 'C'];
  const flags = names.filter((_, i) => fl & (1 << [0, 1, 2, 3, 4, 5, 6, 7][i]!)).join('');
  if (fl & 0x02) ctx.seqs.syn(seq, (fl & 0x10) !== 0);
  const opts: string[] = [];
  for (let o = 20; o < off && o < t.length; ) {
    const kind = t[o] ?? 0;
    if (kind === 0) {
      opts.push('eol');
      break;
    }
    if (kind === 1) {
      opts.push('nop');
      o++;
      continue;
    }
    const len = t[o + 1] ?? 2;
    if (kind === 2) opts.push(`mss ${u16(t, o + 2)}`);
    else if (kind === 3) opts.push(`wscale ${t[o + 2] ?? 0}`);
    else if (kind === 4) opts.push('sackOK');
    else if (kind === 8) opts.push(`TS${u32(t, o + 6) === 0 ? ' ecr 0' : ''}`);
    else opts.push(`opt${kind}/${len}`);
    o += Math.max(2, len);
  }
  const payload = Math.max(0, t.length - off);
  return `TCP ${sport} > ${dport} [${flags}] seq ${ctx.seqs.rel(seq)}${fl & 0x10 ? ` ack ${ctx.seqs.rel(ack)}` : ''} win ${u16(t, 14)}${opts.length ? ` <${opts.join(',')}>` : ''} len ${payload}`;
}

function describeUdp(u: Uint8Array, ctx: FrameContext, inner: boolean): string {
  if (u.length < 8) return `UDP short (${u.length})`;
  const sp = u16(u, 0);
  const dp = u16(u, 2);
  if (!inner && ctx.vxlanPorts.has(dp) && u.length >= 16) {
    // The source port is a hash of the inner flow (udp_flow_src_port): random per boot.
    const vni = (u[12]! << 16) | (u[13]! << 8) | u[14]!;
    return `UDP * > ${dp} len ${u16(u, 4)} VXLAN vni ${vni} flags 0x${(u[8] ?? 0).toString(16)} | ${describeFrame(u.subarray(16), ctx)}`;
  }
  return `UDP ${ctx.ports.name(sp)} > ${ctx.ports.name(dp)} len ${u16(u, 4)}`;
}

function describeIcmp(c: Uint8Array, ctx: FrameContext): string {
  if (c.length < 8) return `ICMP short (${c.length})`;
  const type = c[0] ?? 0;
  const code = c[1] ?? 0;
  if (type === 0 || type === 8) return `ICMP echo ${type === 8 ? 'request' : 'reply'} id * seq ${u16(c, 6)} len ${c.length - 8}`;
  const extra = type === 3 && code === 4 ? ` mtu ${u16(c, 6)}` : '';
  return `ICMP type ${type} code ${code}${extra} [${describeIp(c.subarray(8), ctx, true)}]`;
}

export interface LabelledFrame {
  readonly label: string;
  readonly direction: 'in' | 'out';
  readonly bytes: Uint8Array;
}

/**
 * Frames (in time order) as text per interface and direction (`LABEL in`, `LABEL out`): the
 * order within one direction is the sender's, the interleaving of the two is timing (a
 * server's FIN and the client's ACK of its data race on a real system). `skip` drops
 * stand-in interfaces.
 */
export function framesByInterface(frames: readonly LabelledFrame[], ctx: FrameContext, skip: (label: string) => boolean = () => false): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const f of frames) {
    if (skip(f.label)) continue;
    const line = describeFrame(f.bytes, ctx);
    const key = `${f.label} ${f.direction}`;
    const l = out.get(key);
    if (l) l.push(line);
    else out.set(key, [line]);
  }
  return out;
}
