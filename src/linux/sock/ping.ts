/**
 * ICMP echo from a socket, as `ping` (iputils) sends it, and echo replies back to it.
 *
 * - Identifier: a ping socket (SOCK_DGRAM, IPPROTO_ICMP, what iputils uses when
 *   net.ipv4.ping_group_range allows) gets it from the kernel (ping_get_port: a rover 1, 2,
 *   3 ...); a raw socket sends what the program chose (iputils: rand() & 0xffff): pass `ident`.
 * - Payload (iputils ping_common.c setup + ping4_send_probe): 56 data bytes by default,
 *   filled with 0x00, 0x01, ... 0x37, then the first 16 overwritten with the send time as a
 *   struct timeval of a 64-bit host (tv_sec, tv_usec; 8 bytes each, little-endian), so
 *   bytes 16.. read 10 11 12 ... 37. Sequence numbers start at 1.
 * - IPv4: DF set when it fits the route MTU (IP_PMTUDISC_WANT; ping -s 2000 goes out as
 *   fragments), TTL ip_default_ttl, IP ID from the hashed generator
 *   (an unconnected socket).
 * - The kernel's own echo replies (icmp_echo) are the IP stack's; this handler gets the
 *   replies (ping_rcv) and the ICMP errors that quote one of our requests (ping_err; iputils
 *   sets IP_RECVERR and prints them, e.g. "Destination Host Unreachable").
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import { buildIcmp } from '../../wire/build.js';
import { Ipv4Packet } from '../../wire/ipv4.js';
import { IcmpPacket, ICMP_ECHO, ICMP_ECHOREPLY } from '../../wire/icmp.js';
import { WireError } from '../../wire/error.js';
import type { IcmpErrorInfo } from '../ip-layer.js';
import type { SocketLayer } from './stack.js';
import { SocketError } from './errors.js';
import type { TableSock } from './table.js';

export interface PingOptions {
  /** A raw socket's chosen identifier; omitted = a ping socket's kernel-assigned one. */
  readonly ident?: number;
  /** Data bytes after the ICMP header (ping -s); default 56. */
  readonly dataLength?: number;
  /** Wall-clock seconds since 1970 at simulated time 0, for the payload's timeval. */
  readonly epochSeconds?: number;
}

export interface EchoReply {
  readonly from: Ipv4Addr;
  readonly ident: number;
  readonly seq: number;
  readonly ttl: number;
  readonly data: Uint8Array;
  /** Simulated ns between our request of this seq and the reply, when we sent it. */
  readonly rttNs: number | null;
}

export interface EchoError {
  readonly from: Ipv4Addr;
  readonly type: number;
  readonly code: number;
  readonly seq: number;
}

/**
 * iputils' echo payload: the pattern 0x00.. with a 16-byte struct timeval over its start.
 * `timeNs` is simulated time; `epochSeconds` the wall clock at simulated time 0.
 */
export function iputilsPayload(timeNs: number, dataLength = 56, epochSeconds = 0): Uint8Array {
  const d = new Uint8Array(dataLength);
  for (let i = 0; i < dataLength; i++) d[i] = i & 0xff;
  if (dataLength >= 16) {
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    dv.setBigUint64(0, BigInt(epochSeconds + Math.floor(timeNs / 1e9)), true);
    dv.setBigUint64(8, BigInt(Math.floor((timeNs % 1e9) / 1000)), true);
  }
  return d;
}

export class PingSocket implements TableSock {
  localAddr = 0 as Ipv4Addr;
  /** The echo identifier (a ping socket's "port"). */
  localPort: number;
  readonly remoteAddr = 0 as Ipv4Addr;
  readonly remotePort = 0;
  readonly reuseAddr = false;
  readonly explicitBind = true;
  readonly listening = false;
  closed = false;
  onReply: ((r: EchoReply) => void) | null = null;
  onError: ((e: EchoError) => void) | null = null;
  private nextSeq = 1;
  private readonly sentAt = new Map<number, number>();
  private readonly dataLength: number;
  private readonly epochSeconds: number;

  constructor(
    private readonly layer: SocketLayer,
    opts: PingOptions,
  ) {
    this.dataLength = opts.dataLength ?? 56;
    this.epochSeconds = opts.epochSeconds ?? 0;
    const table = layer.pingTable;
    if (opts.ident !== undefined) this.localPort = opts.ident & 0xffff;
    else {
      const id = layer.ports.pingIdent((c) => !table.portInUse(c));
      if (id === null) throw new SocketError('EAGAIN', 'no free ping identifier');
      this.localPort = id;
    }
    table.hashPort(this);
  }

  get ident(): number {
    return this.localPort;
  }

  /** Sends one echo request (ping4_send_probe); answers the sequence number used. */
  send(dst: Ipv4Addr, seq: number = this.nextSeq, data?: Uint8Array): number {
    if (this.closed) throw new SocketError('EINVAL', 'socket is closed');
    const rt = this.layer.ip.routeOutput(dst, this.localAddr !== 0 ? { src: this.localAddr } : {});
    if (typeof rt === 'string') throw new SocketError(rt, `no route to ${formatIpv4(dst)}`);
    if (rt.type === 'broadcast') throw new SocketError('EACCES', 'broadcast ping needs -b');
    const src = this.localAddr !== 0 ? this.localAddr : rt.src;
    const payload = data ?? iputilsPayload(this.layer.now, this.dataLength, this.epochSeconds);
    const pkt = buildIcmp(
      { src, dst, ttl: this.layer.ttl(), ident: this.layer.ident.next(dst, src, 1), dontFragment: 28 + payload.length <= rt.mtu },
      { kind: 'echo-request', ident: this.ident, seq: seq & 0xffff, data: payload },
    );
    this.sentAt.set(seq & 0xffff, this.layer.now);
    this.nextSeq = ((seq & 0xffff) + 1) & 0xffff;
    const r = this.layer.ip.ipOutput(pkt);
    if (r !== 'sent') throw new SocketError(r, `cannot send to ${formatIpv4(dst)}`);
    return seq & 0xffff;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.pingTable.unhashPort(this);
  }

  /** @internal */
  deliver(r: Omit<EchoReply, 'rttNs'>): void {
    const t = this.sentAt.get(r.seq);
    const reply: EchoReply = { ...r, rttNs: t === undefined ? null : this.layer.now - t };
    const cb = this.onReply;
    if (cb) this.layer.wake(() => {
      if (!this.closed) cb(reply);
    });
  }

  /** @internal */
  error(e: EchoError): void {
    const cb = this.onError;
    if (cb) this.layer.wake(() => {
      if (!this.closed) cb(e);
    });
  }
}

/** ping_rcv: an echo reply addressed to this namespace. */
export function pingRcv(layer: SocketLayer, pkt: PacketBuffer): boolean {
  let ip: Ipv4Packet;
  let icmp: IcmpPacket;
  try {
    ip = Ipv4Packet.checked(pkt.buf, pkt.network, pkt.end - pkt.network);
    const t = pkt.transport >= 0 ? pkt.transport : ip.payloadOffset();
    icmp = IcmpPacket.checked(pkt.buf, t, ip.offset + ip.totalLength() - t);
  } catch (e) {
    if (e instanceof WireError) return true;
    throw e;
  }
  if (icmp.type() !== ICMP_ECHOREPLY || !icmp.checksumValid()) return true;
  for (const sk of layer.pingTable.owners(icmp.ident())) {
    if (sk.localAddr !== 0 && sk.localAddr !== ip.dst()) continue;
    if (layer.trace) layer.emit({ kind: 'sock.lookup', step: 'ping_rcv', proto: 'icmp', tuple: `${formatIpv4(ip.dst())}:${icmp.ident()}->${formatIpv4(ip.src())}`, how: 'bound', socket: `ident ${sk.ident}`, verdict: 'deliver' });
    sk.deliver({ from: ip.src(), ident: icmp.ident(), seq: icmp.seq(), ttl: ip.ttl(), data: icmp.data().slice() });
  }
  return true;
}

/** ping_err: an ICMP error quoting one of our echo requests. */
export function pingErr(layer: SocketLayer, info: IcmpErrorInfo): void {
  const q = info.quoted;
  const b = info.packet.buf;
  if (q + 20 > b.length) return;
  const ihl = (b[q]! & 15) * 4;
  const t = q + ihl;
  if (t + 8 > b.length || b[t] !== ICMP_ECHO) return;
  const ident = (b[t + 4]! << 8) | b[t + 5]!;
  const seq = (b[t + 6]! << 8) | b[t + 7]!;
  for (const sk of layer.pingTable.owners(ident)) sk.error({ from: info.from, type: info.type, code: info.code, seq });
}
