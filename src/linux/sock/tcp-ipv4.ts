/**
 * The TCP entry points of a namespace and its listeners, as net/ipv4/tcp_ipv4.c: tcp_v4_rcv
 * (parse, checksum, established lookup, then listener lookup, else reset), tcp_v4_err (ICMP
 * errors to the socket of the quoted segment), tcp_v4_send_reset, and listening sockets
 * (inet_csk_listen_start, tcp_v4_conn_request). The per-connection state machine is tcp.ts.
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import { buildTcp } from '../../wire/build.js';
import { Ipv4Packet } from '../../wire/ipv4.js';
import { WireError } from '../../wire/error.js';
import { TcpSegment, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../wire/tcp.js';
import type { IcmpErrorInfo } from '../ip-layer.js';
import type { SocketLayer } from './stack.js';
import { SocketError } from './errors.js';
import { describeSock, type TableSock } from './table.js';
import { tcpFlagText } from './trace.js';
import { seqAdd } from './tcp-state.js';
import { TcpSocket, type ParsedSeg, type TcpHandlers, type TcpListenOptions } from './tcp.js';

/** A listening socket (inet_csk_listen_start). */
export class TcpListener implements TableSock {
  localAddr: Ipv4Addr;
  localPort = 0;
  readonly remoteAddr = 0 as Ipv4Addr;
  readonly remotePort = 0;
  reuseAddr: boolean;
  readonly explicitBind = true;
  listening = true;
  /** Connections completed (accepted), in order. */
  readonly accepted_: TcpSocket[] = [];
  /** sk_max_ack_backlog. */
  backlog = 4096;
  /** Completed connections the application has not accepted yet (sk_ack_backlog). */
  acceptQueue = 0;
  readonly seq: number;

  private constructor(
    private readonly layer: SocketLayer,
    addr: Ipv4Addr,
    reuse: boolean,
    private readonly onConnection: (s: TcpSocket) => TcpHandlers | void,
  ) {
    this.localAddr = addr;
    this.reuseAddr = reuse;
    this.seq = layer.nextSockSeq();
  }

  /** `ss` Recv-Q / Send-Q of a listener: accept queue length and backlog. */
  get recvQ(): number {
    return this.acceptQueue;
  }

  get sendQ(): number {
    return this.backlog;
  }

  static listen(layer: SocketLayer, port: number, onConnection: (s: TcpSocket) => TcpHandlers | void, opts: TcpListenOptions): TcpListener {
    const addr = opts.addr ?? (0 as Ipv4Addr);
    if (addr !== 0 && !layer.ip.isLocalAddress(addr)) throw new SocketError('EADDRNOTAVAIL', `${formatIpv4(addr)} is not a local address`);
    const l = new TcpListener(layer, addr, opts.reuseAddr ?? false, onConnection);
    l.backlog = Math.min(opts.backlog ?? 4096, layer.sysctlInt('net.core.somaxconn', 4096));
    const table = layer.tcpTable;
    if (port === 0) {
      const p = layer.ports.bindPort(layer.portRange(), l.reuseAddr, (c) => !table.bindConflict(addr, c, l.reuseAddr));
      if (p === null) throw new SocketError('EADDRINUSE', 'no free port');
      port = p;
    } else if (table.bindConflict(addr, port, l.reuseAddr)) {
      throw new SocketError('EADDRINUSE', `${formatIpv4(addr)}:${port} is in use`);
    }
    l.localPort = port;
    // Listeners conflict with sockets that share the port unless all reuse it.
    table.hashPort(l);
    return l;
  }

  close(): void {
    if (!this.listening) return;
    this.listening = false;
    this.layer.tcpTable.unhashPort(this);
  }

  toString(): string {
    return describeSock(this);
  }

  /** @internal a segment that matched this listener (tcp_v4_do_rcv, LISTEN state). */
  rcv(s: ParsedSeg): void {
    if (s.flags & TCP_RST) return;
    if (s.flags & TCP_ACK) {
      sendReset(this.layer, s, 'ACK to a listener without a request');
      return;
    }
    if (!(s.flags & TCP_SYN)) return;
    if (this.layer.trace) this.layer.emit({ kind: 'tcp.syn', step: 'tcp_v4_conn_request', proto: 'tcp', tuple: describeSock(this), dir: 'received', flags: tcpFlagText(s.flags), seq: s.seq, ack: 0, why: 'SYN to a listener' });
    TcpSocket.child(this.layer, this, s);
  }

  /** @internal the handshake of a child completed: accept() returns it. */
  accepted(c: TcpSocket): void {
    this.accepted_.push(c);
    this.acceptQueue++;
    this.layer.wake(() => {
      this.acceptQueue--;
      const h = this.onConnection(c);
      if (h) c.setHandlers(h);
      c.handlers.onConnect?.(c);
    });
  }
}

/** tcp_v4_send_reset for a segment no socket wants. */
export function sendReset(layer: SocketLayer, s: ParsedSeg, why: string): void {
  if (s.flags & TCP_RST) return;
  let seq = 0;
  let ack = 0;
  let flags = TCP_RST;
  if (s.flags & TCP_ACK) seq = s.ack;
  else {
    ack = seqAdd(s.seq, s.payload.length + (s.flags & TCP_SYN ? 1 : 0) + (s.flags & TCP_FIN ? 1 : 0));
    flags |= TCP_ACK;
  }
  const tuple = `${formatIpv4(s.daddr)}:${s.dport}->${formatIpv4(s.saddr)}:${s.sport}`;
  if (layer.trace) layer.emit({ kind: 'tcp.rst', step: 'tcp_v4_send_reset', proto: 'tcp', tuple, dir: 'sent', flags: tcpFlagText(flags), seq, ack, why });
  const pkt = buildTcp(
    { src: s.daddr, dst: s.saddr, ttl: layer.ttl(), ident: 0, dontFragment: true, dscp: s.tos >> 2, ecn: s.tos & 3 },
    { srcPort: s.dport, dstPort: s.sport, seq, ack, flags, window: 0, urgent: 0, options: [] },
  );
  layer.ip.ipOutput(pkt);
}

/** tcp_v4_rcv: parse, checksum, socket lookup, dispatch. Always answers true (TCP replies itself). */
export function tcpRcv(layer: SocketLayer, pkt: PacketBuffer): boolean {
  let s: ParsedSeg;
  try {
    const ip = Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network);
    const t = pkt.transport >= 0 ? pkt.transport : ip.payloadOffset();
    const seg = TcpSegment.checked(pkt.buf, t, ip.offset + ip.totalLength() - t);
    if (!seg.checksumValid(ip.src(), ip.dst())) return true; // TCP_MIB_CSUMERRORS: dropped
    s = {
      saddr: ip.src(), daddr: ip.dst(), tos: ip.tos(), sport: seg.srcPort(), dport: seg.dstPort(),
      seq: seg.seq(), ack: seg.ack(), flags: seg.flags(), window: seg.window(), payload: seg.payload(), seg,
    };
  } catch (e) {
    if (e instanceof WireError) return true;
    throw e;
  }
  const table = layer.tcpTable;
  const tuple = `${formatIpv4(s.daddr)}:${s.dport}->${formatIpv4(s.saddr)}:${s.sport}`;
  const est = table.established(s.daddr, s.dport, s.saddr, s.sport);
  if (est instanceof TcpSocket) {
    if (layer.trace) layer.emit({ kind: 'sock.lookup', step: '__inet_lookup_established', proto: 'tcp', tuple, how: est.state === 'TIME_WAIT' ? 'time-wait' : 'established', socket: describeSock(est), verdict: est.state });
    est.rcv(s);
    return true;
  }
  const l = table.listener(s.daddr, s.dport);
  if (l instanceof TcpListener) {
    if (layer.trace) layer.emit({ kind: 'sock.lookup', step: '__inet_lookup_listener', proto: 'tcp', tuple, how: 'listener', socket: describeSock(l), verdict: 'LISTEN' });
    l.rcv(s);
    return true;
  }
  if (layer.trace) layer.emit({ kind: 'sock.lookup', step: '__inet_lookup_skb', proto: 'tcp', tuple, how: 'none', socket: null, verdict: 'no-socket' });
  sendReset(layer, s, 'no socket');
  return true;
}

/** tcp_v4_err: find the socket of the quoted segment and hand it the error. */
export function tcpErr(layer: SocketLayer, info: IcmpErrorInfo): void {
  const q = info.quoted;
  const b = info.packet.buf;
  if (q + 20 > b.length) return;
  const ihl = (b[q]! & 15) * 4;
  if (q + ihl + 8 > b.length) return;
  const qsrc = ((b[q + 12]! << 24) | (b[q + 13]! << 16) | (b[q + 14]! << 8) | b[q + 15]!) >>> 0;
  const qdst = ((b[q + 16]! << 24) | (b[q + 17]! << 16) | (b[q + 18]! << 8) | b[q + 19]!) >>> 0;
  const t = q + ihl;
  const sport = (b[t]! << 8) | b[t + 1]!;
  const dport = (b[t + 2]! << 8) | b[t + 3]!;
  const seq = ((b[t + 4]! << 24) | (b[t + 5]! << 16) | (b[t + 6]! << 8) | b[t + 7]!) >>> 0;
  const sk = layer.tcpTable.established(qsrc, sport, qdst, dport);
  if (!(sk instanceof TcpSocket)) return;
  sk.icmpError(info, seq);
}

