/**
 * The socket layer of one network namespace: the TCP, UDP and ping socket tables, the
 * ephemeral port allocator and IP ID generator they share, and the protocol handlers it
 * registers with the namespace's IPv4 stack (inet_add_protocol for TCP, UDP and ICMP echo
 * replies). Applications use `udp()`, `tcpConnect()`, `tcpListen()` and `ping()`.
 */
import type { Random } from '../../sim/random.js';
import type { TraceSink } from '../../sim/trace.js';
import type { Ipv4Addr } from '../../wire/ipv4-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, type IpLayer } from '../ip-layer.js';
import { IpIdentGenerator, mix } from './ip-ident.js';
import { EphemeralPorts, parsePortRange, type PortRange } from './ports.js';
import { SocketTable } from './table.js';
import type { SockTraceEvent } from './trace.js';
import { UdpSocket, udpErr, udpRcv } from './udp.js';
import { TcpSocket, type TcpHandlers, type TcpConnectOptions, type TcpListenOptions } from './tcp.js';
import { TcpListener, tcpErr, tcpRcv } from './tcp-ipv4.js';
import { PingSocket, type PingOptions, pingRcv, pingErr } from './ping.js';

/** Distributes `Omit` over a union, so each event kind keeps its own fields. */
type DistOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type SockEventInput = DistOmit<SockTraceEvent, 'time' | 'node' | 'netns'>;

export class SocketLayer {
  readonly udpTable = new SocketTable<UdpSocket>('udp');
  readonly tcpTable = new SocketTable<TcpSocket | TcpListener>('tcp');
  readonly pingTable = new SocketTable<PingSocket>('icmp');
  readonly rng: Random;
  readonly ports: EphemeralPorts;
  readonly ident: IpIdentGenerator;
  /** The namespace's sink as it is now: a trace can start after the socket layer exists. */
  get trace(): TraceSink<SockTraceEvent> | null {
    return this.ip.trace as TraceSink<SockTraceEvent> | null;
  }
  /** net_secret / ts_secret: keys of the ISN and timestamp-offset hashes. */
  private readonly seqKey: number;
  private readonly tsKey: number;
  private readonly sysctlCache = new Map<string, { at: number; v: number }>();
  private sockSeq = 0;

  constructor(readonly ip: IpLayer) {
    this.rng = ip.rng.fork('sock');
    this.ports = new EphemeralPorts(this.rng.fork('ports'));
    this.ident = new IpIdentGenerator(this.rng.fork('ip-ident'), () => ip.clock.now);
    this.seqKey = this.rng.u32();
    this.tsKey = this.rng.u32();
    ip.registerProtocol(IPPROTO_TCP, {
      handler: (pkt: PacketBuffer) => tcpRcv(this, pkt),
      errHandler: (info) => tcpErr(this, info),
    });
    ip.registerProtocol(IPPROTO_UDP, {
      handler: (pkt: PacketBuffer) => udpRcv(this, pkt),
      errHandler: (info) => udpErr(this, info),
    });
    ip.registerProtocol(IPPROTO_ICMP, {
      handler: (pkt: PacketBuffer) => pingRcv(this, pkt),
      errHandler: (info) => pingErr(this, info),
    });
  }

  /** socket(AF_INET, SOCK_DGRAM, 0). */
  udp(): UdpSocket {
    return new UdpSocket(this);
  }

  /** socket(AF_INET, SOCK_STREAM) + connect(); the handshake runs on the simulated clock. */
  tcpConnect(addr: Ipv4Addr, port: number, handlers: TcpHandlers, opts: TcpConnectOptions = {}): TcpSocket {
    return TcpSocket.connect(this, addr, port, handlers, opts);
  }

  /** socket + bind + listen; `onConnection` runs for each accepted connection. */
  tcpListen(port: number, onConnection: (s: TcpSocket) => TcpHandlers | void, opts: TcpListenOptions = {}): TcpListener {
    return TcpListener.listen(this, port, onConnection, opts);
  }

  /** socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP): a ping socket (or raw-style with `ident`). */
  ping(opts: PingOptions = {}): PingSocket {
    return new PingSocket(this, opts);
  }

  /**
   * secure_tcp_seq (RFC 6528): a keyed hash of the 4-tuple plus the clock in 64 ns ticks, so
   * a reused 4-tuple starts above the old connection's sequence space.
   */
  tcpIsn(saddr: number, daddr: number, sport: number, dport: number): number {
    return (mix(saddr ^ this.seqKey, daddr, ((sport << 16) | dport) >>> 0) + Math.floor(this.now / 64)) >>> 0;
  }

  /**
   * The timestamp offset of a connection: a keyed hash (secure_tcp_ts_off). Linux 6.18 gives
   * two connections between the same addresses different offsets, so the ports are hashed too.
   */
  tcpTsOffset(saddr: number, daddr: number, sport: number, dport: number): number {
    return mix(daddr ^ this.tsKey, saddr, ((dport << 16) | sport) >>> 0);
  }

  /** Creation order of sockets, for listings (`ss`). */
  nextSockSeq(): number {
    return this.sockSeq++;
  }

  get now(): number {
    return this.ip.clock.now;
  }

  portRange(): PortRange {
    return parsePortRange(this.ip.sysctl('net.ipv4.ip_local_port_range'));
  }

  /**
   * A numeric sysctl, or `dflt` when unset or not a number. Values are read again at each new
   * simulated instant (a `sysctl -w` is an event of its own), so the per-packet reads the
   * kernel does (ip_default_ttl) stay cheap.
   */
  sysctlInt(name: string, dflt: number, field = 0): number {
    const key = field === 0 ? name : `${name}#${field}`;
    const now = this.ip.clock.now;
    const c = this.sysctlCache.get(key);
    if (c !== undefined && c.at === now) return c.v;
    const raw = this.ip.sysctl(name);
    let v = dflt;
    if (raw !== undefined) {
      const n = Number(raw.trim().split(/\s+/)[field]);
      if (Number.isFinite(n)) v = n;
    }
    this.sysctlCache.set(key, { at: now, v });
    return v;
  }

  ttl(): number {
    return this.sysctlInt('net.ipv4.ip_default_ttl', 64);
  }

  /** Records a trace event stamped with time and place. Callers test `this.trace` first. */
  emit(e: SockEventInput): void {
    this.trace?.record({ ...e, time: this.ip.clock.now, node: this.ip.node, netns: this.ip.netns } as SockTraceEvent);
  }

  /** Runs an application callback after the current kernel work, as a woken process would. */
  wake(fn: () => void): void {
    this.ip.clock.schedule(0, fn);
  }
}
