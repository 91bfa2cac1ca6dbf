/**
 * UDP sockets (net/ipv4/udp.c): bind, connect, send/sendto, receive by callback, ICMP errors.
 *
 * - Sending (udp_sendmsg): route lookup toward the destination (the bound address, if any,
 *   as source); an unbound socket is autobound to an ephemeral port on INADDR_ANY. DF set
 *   when the datagram fits the route MTU (IP_PMTUDISC_WANT; larger ones are fragmented by
 *   the IP layer), TTL from ip_default_ttl, checksum always computed. IP ID: a connected
 *   socket counts from its own random start; an unconnected one uses the hashed generator.
 * - Receiving (__udp4_lib_rcv): a bad checksum is dropped silently; otherwise the best scored
 *   socket gets the datagram; with no socket the handler answers false and the IP stack sends
 *   ICMP port unreachable (icmp_send quoting the datagram), as the kernel does.
 * - ICMP errors (__udp4_lib_err): only a connected socket hears of a hard error (port
 *   unreachable -> ECONNREFUSED), as without IP_RECVERR; the error is pending until the next
 *   send (which throws it, as send(2) returns it) and is also given to `onError`.
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import { buildUdp } from '../../wire/build.js';
import { UdpPacket, UDP_HEADER_LEN } from '../../wire/udp.js';
import { Ipv4Packet } from '../../wire/ipv4.js';
import { WireError } from '../../wire/error.js';
import type { IcmpErrorInfo } from '../ip-layer.js';
import type { SocketLayer } from './stack.js';
import { SocketError, icmpErrno, type Errno } from './errors.js';
import { describeSock, type TableSock } from './table.js';

export interface UdpPeer {
  readonly addr: Ipv4Addr;
  readonly port: number;
}

export interface UdpBindOptions {
  readonly reuseAddr?: boolean;
}

/** Largest UDP payload over IPv4: 65535 - 20 - 8. */
export const UDP_MAX_PAYLOAD = 65507;

export class UdpSocket implements TableSock {
  localAddr = 0 as Ipv4Addr;
  localPort = 0;
  remoteAddr = 0 as Ipv4Addr;
  remotePort = 0;
  reuseAddr = false;
  explicitBind = false;
  readonly listening = false;
  /** SO_BROADCAST. */
  broadcast = false;
  /** sk_err: a pending hard error, reported by the next send. */
  pendingError: Errno | null = null;
  closed = false;
  /**
   * Datagrams received, as recvmsg(2) returns them: the sender, and the address and port the
   * datagram was sent to (what IP_PKTINFO's ipi_addr tells a socket bound to INADDR_ANY).
   */
  onMessage: ((data: Uint8Array, from: UdpPeer, to: UdpPeer) => void) | null = null;
  onError: ((errno: Errno) => void) | null = null;
  private ipId = 0;
  private hashed = false;
  /** The connected route's MTU (the socket's cached dst). */
  private pmtu = 1500;
  readonly seq: number;

  constructor(private readonly layer: SocketLayer) {
    this.seq = layer.nextSockSeq();
  }

  /** bind(2). Port 0 picks an ephemeral port (udp_lib_get_port). */
  bind(port = 0, addr: Ipv4Addr = 0 as Ipv4Addr, opts: UdpBindOptions = {}): this {
    if (this.closed) throw new SocketError('EINVAL', 'socket is closed');
    if (this.localPort !== 0) throw new SocketError('EINVAL', 'socket is already bound');
    if (addr !== 0 && !this.layer.ip.isLocalAddress(addr)) throw new SocketError('EADDRNOTAVAIL', `${formatIpv4(addr)} is not a local address`);
    this.reuseAddr = opts.reuseAddr ?? false;
    const table = this.layer.udpTable;
    if (port === 0) {
      const p = this.layer.ports.udpPort(this.layer.portRange(), (c) => !table.bindConflict(addr, c, this.reuseAddr));
      if (p === null) throw new SocketError('EADDRINUSE', 'no free ephemeral port');
      port = p;
    } else if (table.bindConflict(addr, port, this.reuseAddr)) {
      throw new SocketError('EADDRINUSE', `${formatIpv4(addr)}:${port} is in use`);
    }
    this.localAddr = addr;
    this.localPort = port;
    this.explicitBind = true;
    table.hashPort(this);
    this.hashed = true;
    return this;
  }

  /**
   * connect(2) (ip4_datagram_connect): fixes the peer, chooses the source address from the
   * route when unbound, autobinds a port, and starts the per-socket IP ID counter.
   */
  connect(addr: Ipv4Addr, port: number): this {
    if (this.closed) throw new SocketError('EINVAL', 'socket is closed');
    const rt = this.layer.ip.routeOutput(addr, this.localAddr !== 0 ? { src: this.localAddr } : {});
    if (typeof rt === 'string') throw new SocketError(rt, `no route to ${formatIpv4(addr)}`);
    if (rt.type === 'broadcast' && !this.broadcast) throw new SocketError('EACCES', 'broadcast needs SO_BROADCAST');
    this.autobind();
    const table = this.layer.udpTable;
    table.unhashPort(this);
    if (this.localAddr === 0) this.localAddr = rt.src;
    this.pmtu = rt.mtu;
    this.remoteAddr = addr;
    this.remotePort = port;
    table.hashPort(this);
    this.ipId = this.layer.rng.u32() & 0xffff;
    return this;
  }

  /** send(2) on a connected socket. */
  send(data: Uint8Array): void {
    if (this.remoteAddr === 0) throw new SocketError('ENOTCONN', 'socket is not connected');
    this.sendto(data, this.remoteAddr, this.remotePort);
  }

  /**
   * sendto(2). Throws a pending ICMP error first (and clears it), as the kernel does. `src`
   * is IP_PKTINFO's ipi_spec_dst: the source address for this datagram on a socket bound to
   * INADDR_ANY (how DNS servers answer from the address they were asked on); it must be local.
   * Without it the source comes from the route, as for a plain sendto.
   */
  sendto(data: Uint8Array, addr: Ipv4Addr, port: number, opts: { src?: Ipv4Addr } = {}): void {
    if (this.closed) throw new SocketError('EINVAL', 'socket is closed');
    if (this.pendingError) {
      const e = this.pendingError;
      this.pendingError = null;
      throw new SocketError(e, 'error reported by ICMP');
    }
    if (data.length > UDP_MAX_PAYLOAD) throw new SocketError('EMSGSIZE', `${data.length} bytes exceed ${UDP_MAX_PAYLOAD}`);
    const connected = this.remoteAddr !== 0 && addr === this.remoteAddr && port === this.remotePort;
    const pktSrc = opts.src !== undefined && opts.src !== 0 && this.localAddr === 0 ? opts.src : 0;
    if (pktSrc !== 0 && !this.layer.ip.isLocalAddress(pktSrc as Ipv4Addr)) throw new SocketError('EINVAL', `${formatIpv4(pktSrc)} is not a local address`);
    let src = pktSrc !== 0 ? (pktSrc as Ipv4Addr) : this.localAddr;
    let mtu = this.pmtu;
    if (!connected || src === 0 || pktSrc !== 0) {
      const rt = this.layer.ip.routeOutput(addr, src !== 0 ? { src } : {});
      if (typeof rt === 'string') throw new SocketError(rt, `no route to ${formatIpv4(addr)}`);
      if (rt.type === 'broadcast' && !this.broadcast) throw new SocketError('EACCES', 'broadcast needs SO_BROADCAST');
      if (src === 0) src = rt.src;
      mtu = rt.mtu;
    }
    this.autobind();
    const ident = connected ? this.nextIpId() : this.layer.ident.next(addr, src, 17);
    const pkt = buildUdp(
      // __ip_make_skb with IP_PMTUDISC_WANT: DF only when the datagram fits the path MTU;
      // a larger one leaves as fragments without DF.
      { src, dst: addr, ttl: this.layer.ttl(), ident, dontFragment: 28 + data.length <= mtu },
      { srcPort: this.localPort, dstPort: port },
      data,
    );
    const r = this.layer.ip.ipOutput(pkt);
    if (r !== 'sent') throw new SocketError(r, `cannot send to ${formatIpv4(addr)}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.hashed) this.layer.udpTable.unhashPort(this);
    this.hashed = false;
  }

  toString(): string {
    return describeSock(this);
  }

  /** inet_autobind: an unbound socket takes an ephemeral port on INADDR_ANY. */
  private autobind(): void {
    if (this.localPort !== 0) return;
    const table = this.layer.udpTable;
    const p = this.layer.ports.udpPort(this.layer.portRange(), (c) => !table.bindConflict(0 as Ipv4Addr, c, false));
    if (p === null) throw new SocketError('EAGAIN', 'no free ephemeral port');
    this.localPort = p;
    table.hashPort(this);
    this.hashed = true;
  }

  private nextIpId(): number {
    const id = this.ipId;
    this.ipId = (this.ipId + 1) & 0xffff;
    return id;
  }

  /** @internal the IP stack delivered a datagram to this socket. */
  deliver(data: Uint8Array, from: UdpPeer, to: UdpPeer): void {
    const cb = this.onMessage;
    if (cb) this.layer.wake(() => {
      if (!this.closed) cb(data, from, to);
    });
  }

  /** @internal a hard ICMP error for this connected socket. */
  error(errno: Errno): void {
    this.pendingError = errno;
    const cb = this.onError;
    if (cb) this.layer.wake(() => {
      if (!this.closed) cb(errno);
    });
  }
}

/** udp_rcv for a packet addressed to this namespace; false means "no socket" (port unreachable). */
export function udpRcv(layer: SocketLayer, pkt: PacketBuffer): boolean {
  let ip: Ipv4Packet;
  let udp: UdpPacket;
  try {
    ip = Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network);
    const t = pkt.transport >= 0 ? pkt.transport : ip.payloadOffset();
    udp = UdpPacket.checked(pkt.buf, t, ip.offset + ip.totalLength() - t);
  } catch (e) {
    if (e instanceof WireError) return true; // malformed: dropped, no ICMP (UDP_MIB_INERRORS)
    throw e;
  }
  const saddr = ip.src();
  const daddr = ip.dst();
  if (!udp.checksumValid(saddr, daddr)) return true; // csum error: dropped silently
  const sk = layer.udpTable.scored(saddr, udp.srcPort(), daddr, udp.dstPort());
  const tuple = `${formatIpv4(daddr)}:${udp.dstPort()}->${formatIpv4(saddr)}:${udp.srcPort()}`;
  if (layer.trace) layer.emit({ kind: 'sock.lookup', step: 'udp_rcv', proto: 'udp', tuple, how: sk ? 'bound' : 'none', socket: sk ? describeSock(sk) : null, verdict: sk ? 'deliver' : 'no-socket' });
  if (!sk) return false;
  const data = pkt.buf.slice(udp.payloadOffset(), udp.offset + udp.length());
  if (layer.trace) layer.emit({ kind: 'sock.deliver', step: 'udp_queue_rcv_skb', proto: 'udp', tuple: describeSock(sk), bytes: data.length });
  sk.deliver(data, { addr: saddr, port: udp.srcPort() }, { addr: daddr, port: udp.dstPort() });
  return true;
}

/** __udp4_lib_err: an ICMP error quoting one of our datagrams. */
export function udpErr(layer: SocketLayer, info: IcmpErrorInfo): void {
  const q = info.quoted;
  const b = info.packet.buf;
  if (q + 20 + 4 > b.length) return;
  const ihl = (b[q]! & 15) * 4;
  if (q + ihl + 4 > b.length) return;
  const qsrc = ((b[q + 12]! << 24) | (b[q + 13]! << 16) | (b[q + 14]! << 8) | b[q + 15]!) >>> 0;
  const qdst = ((b[q + 16]! << 24) | (b[q + 17]! << 16) | (b[q + 18]! << 8) | b[q + 19]!) >>> 0;
  const sport = (b[q + ihl]! << 8) | b[q + ihl + 1]!;
  const dport = (b[q + ihl + 2]! << 8) | b[q + ihl + 3]!;
  // The quoted datagram is ours: its source is our local end.
  const sk = layer.udpTable.scored(qdst, dport, qsrc, sport);
  const e = icmpErrno(info.type, info.code);
  if (!sk || !e) return;
  if (!e.fatal || sk.remoteAddr === 0) return;
  if (layer.trace) layer.emit({ kind: 'sock.error', step: '__udp4_lib_err', proto: 'udp', tuple: describeSock(sk), errno: e.errno, why: `ICMP type ${info.type} code ${info.code} from ${formatIpv4(info.from)}` });
  sk.error(e.errno);
}

export { UDP_HEADER_LEN };
