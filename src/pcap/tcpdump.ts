/**
 * One-line frame summaries in the words of `tcpdump -nn` (print-arp.c, print-ip.c,
 * print-tcp.c, print-udp.c, print-icmp.c, print-vxlan.c), for trace output. TCP sequence
 * numbers are made relative per conversation the way tcpdump does it, so one printer should
 * see a whole capture in order.
 */
import dnsPacket from 'dns-packet';
import { parseArp } from '../wire/arp.js';
import { WireError } from '../wire/error.js';
import { EthernetFrame } from '../wire/ethernet.js';
import { IcmpPacket } from '../wire/icmp.js';
import { formatIpv4 } from '../wire/ipv4-address.js';
import { Ipv4Packet } from '../wire/ipv4.js';
import { formatMac } from '../wire/mac-address.js';
import { TcpSegment, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../wire/tcp.js';
import { UdpPacket } from '../wire/udp.js';
import { VxlanPacket } from '../wire/vxlan.js';

const RCODES: Record<string, string> = { NOERROR: '', FORMERR: ' FormErr', SERVFAIL: ' ServFail', NXDOMAIN: ' NXDomain', NOTIMP: ' NotImp', REFUSED: ' Refused' };

/**
 * print-domain.c's one-line DNS (no -v): query `ID+ [Nau] TYPE? name.`, response
 * `ID[ rcode][*][-][|] an/ns/ar` followed by the answers. null when it does not parse.
 */
function dnsSummary(b: Uint8Array): string | null {
  let m: dnsPacket.Packet & { flag_qr?: boolean; flag_aa?: boolean; flag_tc?: boolean; flag_rd?: boolean; flag_ra?: boolean; flag_cd?: boolean; rcode?: string };
  try {
    m = dnsPacket.decode(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) as typeof m;
  } catch {
    return null;
  }
  const qd = m.questions?.length ?? 0;
  const an = m.answers?.length ?? 0;
  const ns = m.authorities?.length ?? 0;
  const ar = m.additionals?.length ?? 0;
  const name = (n: string): string => (n === '' ? '.' : `${n}.`);
  let out = `${m.id ?? 0}`;
  if (m.flag_qr) {
    out += `${RCODES[m.rcode ?? 'NOERROR'] ?? ` ${m.rcode}`}${m.flag_aa ? '*' : ''}${m.flag_ra ? '' : '-'}${m.flag_tc ? '|' : ''}`;
    if (qd !== 1) out += ` [${qd}q]`;
    out += ` ${an}/${ns}/${ar}`;
    const rr = (m.answers ?? []).map((a) => {
      const d = (a as { data?: unknown }).data;
      switch (a.type) {
        case 'A':
        case 'AAAA':
          return ` ${a.type} ${String(d)}`;
        case 'CNAME':
        case 'PTR':
        case 'NS':
          return ` ${a.type} ${name(String(d))}`;
        default:
          return ` ${a.type}`;
      }
    });
    out += rr.join(',');
  } else {
    out += `${m.flag_rd ? '+' : ''}${m.flag_cd ? '%' : ''}`;
    if (qd !== 1) out += ` [${qd}q]`;
    if (an) out += ` [${an}a]`;
    if (ns) out += ` [${ns}n]`;
    if (ar) out += ` [${ar}au]`;
    const q = m.questions?.[0];
    if (q) out += ` ${q.type}? ${name(q.name)}`;
  }
  return out;
}

const FLAG_LETTERS: [number, string][] = [[TCP_FIN, 'F'], [TCP_SYN, 'S'], [TCP_RST, 'R'], [TCP_PSH, 'P'], [TCP_ACK, '.'], [TCP_URG, 'U'], [TCP_ECE, 'E'], [TCP_CWR, 'W']];
const VXLAN_PORTS = new Set([4789, 8472]);
const HTTP_PORTS = new Set([80, 8080]);
const HTTP_START = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|TRACE|CONNECT|PATCH|HTTP\/\d\.\d) /;

/** The first line of an HTTP message (up to CR/LF), or null when the data is not one. */
function httpFirstLine(b: Uint8Array): string | null {
  const text = Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, 512)).toString('latin1');
  if (!HTTP_START.test(text)) return null;
  const end = text.search(/\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}

/** tcpdump's per-conversation relative sequence state (tcp_seq_hash). */
interface SeqBase {
  /** ISN of the direction the entry was made in (addresses in `fwd` order), and of the other. */
  fwd: string;
  seq: number;
  ack: number;
}

export class TcpdumpPrinter {
  private readonly conv = new Map<string, SeqBase>();

  /** The summary of an Ethernet frame, e.g. `IP 10.42.4.15.49848 > 10.42.3.171.18888: Flags [S], ...`. */
  frame(bytes: Uint8Array): string {
    try {
      const eth = EthernetFrame.checked(bytes);
      const type = eth.ethertype();
      const off = eth.payloadOffset();
      if (type === 0x0806) return this.arp(bytes.subarray(off));
      if (type === 0x0800) return this.ipv4(bytes, off, bytes.length - off);
      return `ethertype 0x${type.toString(16).padStart(4, '0')}, length ${bytes.length}`;
    } catch (e) {
      if (e instanceof WireError) return `[|${e.field}]`;
      throw e;
    }
  }

  private arp(b: Uint8Array): string {
    const a = parseArp(b);
    if (a.op === 1) return `ARP, Request who-has ${formatIpv4(a.targetIp)} tell ${formatIpv4(a.senderIp)}, length ${b.length}`;
    if (a.op === 2) return `ARP, Reply ${formatIpv4(a.senderIp)} is-at ${formatMac(a.senderMac)}, length ${b.length}`;
    return `ARP, op ${a.op}, length ${b.length}`;
  }

  private ipv4(bytes: Uint8Array, off: number, len: number): string {
    const ip = Ipv4Packet.checked(bytes, off, len);
    const src = formatIpv4(ip.src());
    const dst = formatIpv4(ip.dst());
    const p = ip.payloadOffset();
    const plen = ip.totalLength() - ip.headerLength();
    if (ip.fragmentOffset() !== 0) return `IP ${src} > ${dst}: ip-proto-${ip.protocol()}`;
    switch (ip.protocol()) {
      case 6:
        return this.tcp(bytes, p, plen, src, dst);
      case 17:
        return this.udp(bytes, p, plen, src, dst);
      case 1:
        return `IP ${src} > ${dst}: ${this.icmp(bytes, p, plen)}`;
      default:
        return `IP ${src} > ${dst}: ip-proto-${ip.protocol()} ${plen}`;
    }
  }

  private tcp(bytes: Uint8Array, off: number, len: number, src: string, dst: string): string {
    const t = TcpSegment.checked(bytes, off, len);
    const sp = t.srcPort();
    const dp = t.dstPort();
    const flags = t.flags();
    let seq = t.seq();
    let ack = t.ack();
    const dataLen = len - t.headerLength();
    const a = `${src}.${sp}`;
    const b = `${dst}.${dp}`;
    if (flags & TCP_ACK) {
      const key = a < b ? `${a}|${b}` : `${b}|${a}`;
      const base = this.conv.get(key);
      if (!base) this.conv.set(key, { fwd: a, seq, ack: (ack - 1) >>> 0 });
      else if (base.fwd === a) {
        seq = (seq - base.seq) >>> 0;
        ack = (ack - base.ack) >>> 0;
      } else {
        seq = (seq - base.ack) >>> 0;
        ack = (ack - base.seq) >>> 0;
      }
    }
    let out = `IP ${a} > ${b}: Flags [${FLAG_LETTERS.filter(([f]) => flags & f).map(([, l]) => l).join('') || 'none'}]`;
    if (dataLen > 0) out += `, seq ${seq}:${(seq + dataLen) >>> 0}`;
    else if (flags & (TCP_SYN | TCP_FIN | TCP_RST)) out += `, seq ${seq}`;
    if (flags & TCP_ACK) out += `, ack ${ack}`;
    out += `, win ${t.window()}`;
    if (flags & TCP_URG) out += `, urg ${t.urgent()}`;
    const opts = t.options();
    if (opts.length) {
      out += `, options [${opts
        .map((o) => {
          switch (o.kind) {
            case 'mss':
              return `mss ${o.mss}`;
            case 'sack-permitted':
              return 'sackOK';
            case 'timestamps':
              return `TS val ${o.tsval} ecr ${o.tsecr}`;
            case 'nop':
              return 'nop';
            case 'window-scale':
              return `wscale ${o.shift}`;
            case 'eol':
              return 'eol';
            case 'sack':
              return `sack ${o.blocks.length} ${o.blocks.map(([l, r]) => `{${l}:${r}}`).join('')}`;
            default:
              return `unknown-${o.type}`;
          }
        })
        .join(',')}]`;
    }
    out += `, length ${dataLen}`;
    // print-http.c: the first line of a request or response on the HTTP ports.
    if (dataLen > 0 && (HTTP_PORTS.has(sp) || HTTP_PORTS.has(dp))) {
      const first = httpFirstLine(bytes.subarray(off + t.headerLength(), off + len));
      if (first !== null) out += `: HTTP: ${first}`;
    }
    return out;
  }

  private udp(bytes: Uint8Array, off: number, len: number, src: string, dst: string): string {
    const u = UdpPacket.checked(bytes, off, len);
    const sp = u.srcPort();
    const dp = u.dstPort();
    const head = `IP ${src}.${sp} > ${dst}.${dp}: `;
    const plen = u.length() - 8;
    if (VXLAN_PORTS.has(dp) && plen >= 8) {
      const v = VxlanPacket.checked(bytes, u.payloadOffset(), plen);
      const inner = bytes.subarray(v.payloadOffset(), u.payloadOffset() + plen);
      // tcpdump prints the inner frame on its own line.
      return `${head}VXLAN, flags [${v.flags() & 0x08 ? 'I' : '.'}] (0x${v.flags().toString(16).padStart(2, '0')}), vni ${v.vni()}\n${this.frame(inner)}`;
    }
    if ((sp === 53 || dp === 53) && plen >= 12) {
      const dns = dnsSummary(bytes.subarray(u.payloadOffset(), u.payloadOffset() + plen));
      if (dns !== null) return `${head}${dns} (${plen})`;
    }
    return `${head}UDP, length ${plen}`;
  }

  private icmp(bytes: Uint8Array, off: number, len: number): string {
    const c = IcmpPacket.checked(bytes, off, len);
    const type = c.type();
    const code = c.code();
    if (type === 8 || type === 0) return `ICMP echo ${type === 8 ? 'request' : 'reply'}, id ${c.ident()}, seq ${c.seq()}, length ${len}`;
    if (type === 11) return `ICMP time exceeded in-${code === 0 ? 'transit' : 'reassembly'}, length ${len}`;
    if (type === 3) {
      // The quoted packet names what was unreachable, as print-icmp.c does.
      const q = Ipv4Packet.checked(bytes, c.dataOffset(), len - 8 < 20 ? 20 : Math.min(len - 8, bytes.length - c.dataOffset()));
      const qdst = formatIpv4(q.dst());
      const qp = q.payloadOffset();
      const port = bytes.length >= qp + 4 ? (bytes[qp + 2]! << 8) | bytes[qp + 3]! : 0;
      const proto = q.protocol() === 6 ? 'tcp' : q.protocol() === 17 ? 'udp' : `proto ${q.protocol()}`;
      const what: Record<number, string> = {
        0: `net ${qdst} unreachable`,
        1: `host ${qdst} unreachable`,
        2: `${qdst} protocol ${q.protocol()} unreachable`,
        3: `${qdst} ${proto} port ${port} unreachable`,
        4: `${qdst} unreachable - need to frag (mtu ${c.nextHopMtu()})`,
        9: `net ${qdst} unreachable - admin prohibited`,
        10: `host ${qdst} unreachable - admin prohibited`,
        13: `host ${qdst} unreachable - admin prohibited filter`,
      };
      return `ICMP ${what[code] ?? `${qdst} unreachable - code ${code}`}, length ${len}`;
    }
    return `ICMP type-#${type}, length ${len}`;
  }
}
