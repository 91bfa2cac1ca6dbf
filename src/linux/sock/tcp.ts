/**
 * TCP sockets of one namespace: connect / listen / accept, the three-way handshake with the
 * SYN Linux sends, data, FIN teardown in both orders, TIME_WAIT, RSTs, retransmission.
 * What is mirrored, and from where:
 *
 * - SYN (tcp_connect, tcp_syn_options): MSS = route MTU - 40, SACK_PERM, timestamps,
 *   NOP, window scale, in that byte layout (wire linuxSynOptions); window 64240 at MTU 1500
 *   (tcp-output.ts); ISN as secure_tcp_seq: a keyed hash of the 4-tuple (key from the seeded
 *   stream) plus a 64 ns clock; TSval = the ms clock + a keyed-hash offset per 4-tuple
 *   (tcp_time_stamp with ts_off); IP ID from the socket's counter started at a random
 *   value (inet_id = get_random_u16() in tcp_v4_connect); DF.
 * - SYN-ACK (tcp_make_synack): the options the SYN allowed, in the same writer's order; sent
 *   by the request socket with IP ID 0. The full socket is made on the handshake's ACK
 *   (tcp_v4_syn_recv_sock) with a fresh random IP ID counter.
 * - RST to a segment no socket takes (tcp_v4_send_reset): if the segment had ACK, seq = its
 *   ack and only RST; otherwise seq 0, ack = seq + SYN + FIN + data length, RST|ACK; window 0,
 *   no options, IP ID 0, DF, TOS copied. Never in answer to a RST.
 * - ACKs: quickack at the start (tcp_incr_quickack: up to 16 immediate ACKs once data
 *   arrives), and afterwards an ACK is sent at once when more than one receive MSS is
 *   unacknowledged or data is out of order, else delayed by the ATO (40 ms) unless data
 *   leaves first and carries it. Sending data within the ATO of the last receipt enters
 *   "pingpong" (interactive) mode (tcp_event_data_sent, tcp_pingpong_thresh 1), which turns
 *   quickacks off; a FIN received in ESTABLISHED enters it too (tcp_fin), which is why Linux
 *   ACKs a peer's FIN after 40 ms. The delayed-ACK timer leaving pingpong mode when it fires
 *   is as tcp_delack_timer_handler.
 * - FIN: close in either order; simultaneous close goes through CLOSING. TIME_WAIT lasts
 *   60 s (TCP_TIMEWAIT_LEN) on the simulated clock, and a time-wait socket answers with
 *   IP ID 0 (ip_send_unicast_reply) as the kernel's inet_timewait_sock does.
 * - Retransmission: the SYN after 1 s, doubling, tcp_syn_retries (6) times, then ETIMEDOUT
 *   (127 s after connect); SYN-ACKs tcp_synack_retries (5) times; data with the RFC 6298
 *   estimator and Linux's 200 ms minimum RTO, doubling, tcp_retries2 (15) times, counted
 *   (the kernel converts that count into a time budget; same result for a dead peer with a
 *   fixed RTO). Only the oldest unacknowledged segment is resent per timeout (no fast
 *   retransmit, no SACK scoreboard); the congestion window is slow start from 10 segments
 *   and falls to 1 on a timeout.
 * - ICMP errors (tcp_v4_err): in SYN_SENT any destination unreachable or time exceeded
 *   quoting a sequence we sent aborts the connect with its errno (ECONNREFUSED,
 *   EHOSTUNREACH, ...); Linux sends no RST for it. In synchronized states the error is only
 *   remembered (sk_err_soft) and reported if the connection later times out;
 *   fragmentation-needed lowers the MSS (PMTU).
 * - Not modelled: SACK blocks, window growth (autotuning), TSO/GSO (segments are cut at the
 *   MSS: a real veth capture shows larger GSO segments for bulk data), urgent data,
 *   keepalive, SYN cookies, Fast Open, ECN, PAWS rejection.
 */
import { formatIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { buildTcp } from '../../wire/build.js';
import { linuxSynOptions, type TcpSegment, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpOption } from '../../wire/tcp.js';
import type { Timer } from '../../sim/event-queue.js';
import { NS_PER_MS } from '../../sim/clock.js';
import type { IcmpErrorInfo } from '../ip-layer.js';
import type { SocketLayer } from './stack.js';
import { SocketError, icmpErrno, type Errno } from './errors.js';
import { describeSock, type TableSock } from './table.js';
import { sendReset, TcpListener } from './tcp-ipv4.js';
import { tcpFlagText } from './trace.js';
import {
  after, before, seqAdd, seqDiff, type TcpState,
  TCP_ATO_MIN_MS, TCP_DELACK_MAX_MS, TCP_INIT_CWND, TCP_MAX_QUICKACKS, TCP_MSS_DEFAULT, TCP_RTO_MAX_MS, TCP_RTO_MIN_MS,
  TCP_TIMEOUT_INIT_MS, TCP_TIMEWAIT_LEN_MS, TCPOLEN_TSTAMP_ALIGNED,
} from './tcp-state.js';
import { advertisedWindow, establishedOptions, initialWindow, LINUX_RMEM, MIN_WINDOW_CLAMP, segmentTruesize, type TcpRmem } from './tcp-output.js';

/** Application callbacks (what a process blocked in connect/recv/accept would learn). */
export interface TcpHandlers {
  /** The handshake completed (connect returned 0 / accept returned this socket). */
  onConnect?(s: TcpSocket): void;
  /** In-order bytes, as recv(2) returns them. */
  onData?(s: TcpSocket, data: Uint8Array): void;
  /** The peer sent FIN (recv returns 0). */
  onEnd?(s: TcpSocket): void;
  /** The socket is gone: `errno` null for an orderly close. */
  onClose?(s: TcpSocket, errno: Errno | null): void;
  /** connect failed or the connection was reset / timed out. */
  onError?(s: TcpSocket, errno: Errno): void;
}

export interface TcpConnectOptions {
  /** bind() before connect: source address (must be local). */
  readonly localAddr?: Ipv4Addr;
  /** bind() before connect: source port (0 = ephemeral, chosen at connect). */
  readonly localPort?: number;
  readonly reuseAddr?: boolean;
}

export interface TcpListenOptions {
  /** The address to bind (default INADDR_ANY). */
  readonly addr?: Ipv4Addr;
  readonly reuseAddr?: boolean;
  /**
   * listen(2)'s backlog, capped at net.core.somaxconn (4096). Default 4096, what Go
   * programs pass; nginx uses 511, python's socket.listen() 128.
   */
  readonly backlog?: number;
}

/** A segment in flight, kept until acknowledged. */
interface TxSeg {
  seq: number;
  /** Sequence after it (SYN and FIN count one). */
  end: number;
  flags: number;
  data: Uint8Array;
  /** Simulated ns when first sent; RTT is sampled only from segments never resent (Karn). */
  sentAt: number;
  resent: boolean;
}

/** A received segment with the IPv4 fields TCP needs (what tcp_v4_rcv reads from the skb). */
export interface ParsedSeg {
  saddr: Ipv4Addr;
  daddr: Ipv4Addr;
  tos: number;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  payload: Uint8Array;
  seg: TcpSegment;
}

const EMPTY = new Uint8Array(0);

function ms(n: number): number {
  return n * NS_PER_MS;
}

/** ipv4_default_advmss: MTU - 40, at most 65535 - 40 (so 65495 on lo's MTU 65536). */
export function advMssFor(mtu: number): number {
  return Math.min(Math.max(mtu - 40, 256), 65535 - 40);
}

function readRmem(layer: SocketLayer): TcpRmem {
  return {
    rmemDefault: layer.sysctlInt('net.ipv4.tcp_rmem', LINUX_RMEM.rmemDefault, 1),
    rmemMax: layer.sysctlInt('net.ipv4.tcp_rmem', LINUX_RMEM.rmemMax, 2),
    coreRmemMax: layer.sysctlInt('net.core.rmem_max', LINUX_RMEM.coreRmemMax),
  };
}

export class TcpSocket implements TableSock {
  state: TcpState = 'CLOSE';
  localAddr = 0 as Ipv4Addr;
  localPort = 0;
  remoteAddr = 0 as Ipv4Addr;
  remotePort = 0;
  reuseAddr = false;
  explicitBind = false;
  readonly listening = false;
  handlers: TcpHandlers;

  // Send sequence space.
  iss = 0;
  sndUna = 0;
  sndNxt = 0;
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  // Receive sequence space.
  irs = 0;
  rcvNxt = 0;
  rcvWnd = 0;
  rcvWup = 0;
  rcvSsthresh = 0;
  /** sk_rcvbuf (tcp_rmem[1]), its window fraction scaling_ratio / 256, window_clamp. */
  rcvbuf = LINUX_RMEM.rmemDefault;
  /** net.ipv4.tcp_rmem[2], which bounds __tcp_grow_window's search. */
  rmemMax = LINUX_RMEM.rmemMax;
  scalingRatio = 128;
  windowClamp = 0;
  /** sk_rmem_alloc: truesize of data delivered but not yet read by the application. */
  rmemAlloc = 0;
  // Negotiated options.
  advMss = 1460;
  /** Peer's MSS clamp (its MSS option, or 536). */
  peerMss = TCP_MSS_DEFAULT;
  pmtu = 1500;
  tsOk = false;
  sackOk = false;
  wscaleOk = false;
  sndWscale = 0;
  rcvWscale = 0;
  tsOffset = 0;
  tsRecent = 0;
  // Congestion and timers.
  cwnd = TCP_INIT_CWND;
  ssthresh = 0x7fffffff;
  srttMs = 0;
  rttvarMs = 0;
  rtoMs = TCP_TIMEOUT_INIT_MS;
  retransmits = 0;
  softError: Errno | null = null;
  // Delayed ACK engine (inet_connection_sock icsk_ack).
  private quick = 0;
  private ato = 0;
  private pingpong = 0;
  private lrcvtime = 0;
  private ackPending = false;
  private rcvMss = TCP_MSS_DEFAULT;
  /** snd_sml: end of the last sub-MSS segment sent (Minshall's Nagle). */
  sndSml = 0;
  // Queues.
  private readonly rtx: TxSeg[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Sequence numbers where a write() ended: the segment that covers one carries PSH (tcp_push). */
  private writeEnds: number[] = [];
  private readonly ooo = new Map<number, { data: Uint8Array; fin: boolean }>();
  /** SACK blocks for the out-of-order queue (rx_opt.selective_acks), newest first. */
  private sackBlocks: Array<[number, number]> = [];
  /** A D-SACK block to report with the next ACK (rx_opt.duplicate_sack). */
  private dsack: [number, number] | null = null;
  private finQueued = false;
  private finSent = false;
  private rcvShutdown = false;
  /**
   * The socket was closed and our FIN acknowledged by a segment without FIN: the kernel has
   * replaced it with a time-wait socket in substate FIN_WAIT2 (tcp_time_wait(sk,
   * TCP_FIN_WAIT2, tmo)). When the ACK came with the peer's FIN, the full socket answers it.
   */
  private twSock = false;
  /** The peer's FIN has been received (RCV_SHUTDOWN from the peer's side). */
  peerFin = false;
  private ipId = 0;
  private rtoTimer: Timer | null = null;
  private delackTimer: Timer | null = null;
  private stateTimer: Timer | null = null;
  private portHashed = false;
  private estHashed = false;
  private closedReported = false;
  /** The listener a SYN_RECV child came from. */
  parent: TcpListener | null = null;
  /** Bytes delivered to the receive queue that the application has not read yet. */
  unreadBytes = 0;
  readonly seq: number;

  private constructor(
    private readonly layer: SocketLayer,
    handlers: TcpHandlers,
  ) {
    this.handlers = handlers;
    this.seq = layer.nextSockSeq();
  }

  /** `ss` Recv-Q: bytes not yet read (rcv_nxt - copied_seq); 0 in TIME_WAIT and SYN_RECV. */
  get recvQ(): number {
    return this.state === 'TIME_WAIT' || this.state === 'SYN_RECV' ? 0 : this.unreadBytes;
  }

  /** `ss` Send-Q: write_seq - snd_una (SYN and FIN count one). */
  get sendQ(): number {
    return this.state === 'TIME_WAIT' || this.state === 'SYN_RECV' ? 0 : seqDiff(this.sndNxt, this.sndUna) + this.pendingBytes;
  }

  // ----------------------------------------------------------------------------------------
  // Application API

  /** socket + (bind) + connect: sends the SYN now. Throws routing / binding errors at once. */
  static connect(layer: SocketLayer, addr: Ipv4Addr, port: number, handlers: TcpHandlers, opts: TcpConnectOptions): TcpSocket {
    const s = new TcpSocket(layer, handlers);
    s.reuseAddr = opts.reuseAddr ?? false;
    const table = layer.tcpTable;
    const bindAddr = opts.localAddr ?? (0 as Ipv4Addr);
    if (bindAddr !== 0 && !layer.ip.isLocalAddress(bindAddr)) throw new SocketError('EADDRNOTAVAIL', `${formatIpv4(bindAddr)} is not a local address`);
    if (opts.localPort) {
      if (table.bindConflict(bindAddr, opts.localPort, s.reuseAddr)) throw new SocketError('EADDRINUSE', `${formatIpv4(bindAddr)}:${opts.localPort} is in use`);
      s.explicitBind = true;
    }
    const rt = layer.ip.routeOutput(addr, bindAddr !== 0 ? { src: bindAddr } : {});
    if (typeof rt === 'string') throw new SocketError(rt, `no route to ${formatIpv4(addr)}`);
    if (rt.type === 'broadcast') throw new SocketError('ENETUNREACH', 'TCP to a broadcast address');
    s.localAddr = bindAddr !== 0 ? bindAddr : rt.src;
    s.remoteAddr = addr;
    s.remotePort = port;
    let lport = opts.localPort ?? 0;
    if (lport === 0) {
      const p = layer.ports.connectPort(layer.portRange(), s.localAddr, addr, port, (c) => {
        for (const o of table.owners(c)) if (o.explicitBind || o.listening) return false;
        return table.established(s.localAddr, c, addr, port) === undefined;
      });
      if (p === null) throw new SocketError('EADDRNOTAVAIL', 'no free ephemeral port');
      lport = p;
    } else if (table.established(s.localAddr, lport, addr, port)) {
      throw new SocketError('EADDRNOTAVAIL', '4-tuple in use');
    }
    s.localPort = lport;
    s.pmtu = rt.mtu;
    s.advMss = advMssFor(rt.mtu);
    s.hashPort();
    s.hashEst();
    // tcp_v4_connect: ISN, timestamp offset, IP ID counter.
    s.iss = layer.tcpIsn(s.localAddr, addr, lport, port);
    s.tsOffset = layer.tcpTsOffset(s.localAddr, addr, lport, port);
    s.ipId = layer.rng.u32() & 0xffff;
    // tcp_connect_init.
    const rmem = readRmem(layer);
    s.tsOk = layer.sysctlInt('net.ipv4.tcp_timestamps', 1) !== 0;
    s.sackOk = layer.sysctlInt('net.ipv4.tcp_sack', 1) !== 0;
    s.wscaleOk = layer.sysctlInt('net.ipv4.tcp_window_scaling', 1) !== 0;
    const iw = initialWindow(rmem, s.advMss, s.wscaleOk);
    s.rcvWnd = iw.rcvWnd;
    s.rcvbuf = rmem.rmemDefault;
    s.rmemMax = rmem.rmemMax;
    s.windowClamp = Math.floor((s.rcvbuf * s.scalingRatio) / 256);
    s.rcvSsthresh = Math.min(iw.rcvWnd, s.windowClamp);
    s.rcvWscale = iw.wscale;
    s.rcvMss = Math.max(Math.min(s.advMss, iw.rcvWnd >> 1, TCP_MSS_DEFAULT), 88);
    s.sndUna = s.iss;
    s.sndNxt = s.iss;
    s.sndSml = s.iss;
    s.setState('SYN_SENT', 'connect()');
    s.sendSyn(false);
    return s;
  }

  /** Replaces the callbacks (for accepted sockets whose handlers come later). */
  setHandlers(h: TcpHandlers): void {
    this.handlers = h;
  }

  /** Bytes queued by write() not yet sent. */
  get unsentBytes(): number {
    return this.pendingBytes;
  }

  /** Bytes sent and not yet acknowledged. */
  get inFlightBytes(): number {
    return seqDiff(this.sndNxt, this.sndUna);
  }

  /** write(2): queues and sends what the windows allow. */
  write(data: Uint8Array): void {
    if (this.finQueued || !(this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT' || this.state === 'SYN_SENT' || this.state === 'SYN_RECV')) {
      throw new SocketError('EPIPE', `write in state ${this.state}`);
    }
    if (data.length === 0) return;
    this.pending.push(data.slice());
    this.pendingBytes += data.length;
    this.writeEnds.push(seqAdd(this.sndNxt, this.pendingBytes));
    if (this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT') this.push();
  }

  /** shutdown(SHUT_WR): FIN after the queued data. */
  end(): void {
    if (this.finQueued) return;
    if (this.state === 'SYN_SENT' || this.state === 'CLOSE' || this.state === 'LISTEN') {
      this.abortLocal(null, 'shutdown before established');
      return;
    }
    this.finQueued = true;
    if (this.state === 'ESTABLISHED' || this.state === 'SYN_RECV') this.setState('FIN_WAIT1', 'shutdown(SHUT_WR)');
    else if (this.state === 'CLOSE_WAIT') this.setState('LAST_ACK', 'shutdown(SHUT_WR)');
    this.push();
  }

  /** close(2): like end(), and later data from the peer is answered with RST (tcp_rcv_state_process). */
  close(): void {
    this.rcvShutdown = true;
    this.end();
    if (this.state === 'FIN_WAIT2') {
      this.twSock = true; // tcp_close in FIN_WAIT2: tcp_time_wait at once
      this.startFinWait2Timer();
    }
  }

  /** close(2) with SO_LINGER 0 (or unread data): RST now (tcp_send_active_reset). */
  destroy(): void {
    if (this.state === 'CLOSE' || this.state === 'TIME_WAIT') {
      this.finish(null);
      return;
    }
    if (this.state !== 'SYN_SENT' && this.state !== 'LISTEN') this.sendActiveReset('close() with SO_LINGER 0');
    this.abortLocal(null, 'destroy()');
  }

  toString(): string {
    return describeSock(this);
  }

  // ----------------------------------------------------------------------------------------
  // Output

  private tsNow(): number {
    return (Math.floor(this.layer.now / NS_PER_MS) + this.tsOffset) >>> 0;
  }

  /** Send MSS: the peer's clamp and our path MTU, less the timestamp option (tcp_current_mss). */
  get mss(): number {
    return Math.min(this.peerMss, this.pmtu - 40) - (this.tsOk ? TCPOLEN_TSTAMP_ALIGNED : 0);
  }

  private nextIpId(): number {
    const id = this.ipId;
    this.ipId = (this.ipId + 1) & 0xffff;
    return id;
  }

  /** Builds and sends one segment; `ident` null = the socket's counter. */
  private xmit(seq: number, flags: number, data: Uint8Array, options: TcpOption[], window: number, ident: number | null = null): void {
    const pkt = buildTcp(
      { src: this.localAddr, dst: this.remoteAddr, ttl: this.layer.ttl(), ident: ident ?? this.nextIpId(), dontFragment: true },
      { srcPort: this.localPort, dstPort: this.remotePort, seq, ack: flags & TCP_ACK ? this.rcvNxt : 0, flags, window, urgent: 0, options },
      data,
    );
    if (flags & TCP_ACK) this.ackSent();
    this.layer.ip.ipOutput(pkt);
  }

  /** tcp_space: the window the free part of the receive buffer is worth. */
  private tcpSpace(): number {
    return Math.floor(((this.rcvbuf - this.rmemAlloc) * this.scalingRatio) / 256);
  }

  /** The window field of a non-SYN segment (tcp_select_window). */
  private windowField(): number {
    const curWin = Math.max(seqDiff(seqAdd(this.rcvWup, this.rcvWnd), this.rcvNxt), 0);
    const w = advertisedWindow(this.rcvSsthresh, this.tcpSpace(), this.rcvWscale, curWin, this.rcvWnd, this.rcvMss);
    this.rcvWnd = w.rcvWnd;
    this.rcvWup = this.rcvNxt;
    return w.field;
  }

  /**
   * NOP NOP TS, then NOP NOP SACK with a D-SACK block first and the out-of-order blocks most
   * recent first, at most 3 with timestamps, 4 without (tcp_established_options).
   */
  private opts(): TcpOption[] {
    const o = establishedOptions(this.tsOk, this.tsNow(), this.tsRecent);
    if (!this.sackOk || (this.sackBlocks.length === 0 && this.dsack === null)) return o;
    const blocks: Array<[number, number]> = this.dsack ? [this.dsack, ...this.sackBlocks] : [...this.sackBlocks];
    this.dsack = null; // a D-SACK is reported once
    o.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: blocks.slice(0, this.tsOk ? 3 : 4) });
    return o;
  }

  /** Bytes the SACK option adds to the next segment (NOP NOP kind len + 8 per block). */
  private sackOptLen(): number {
    if (!this.sackOk) return 0;
    const n = this.sackBlocks.length + (this.dsack ? 1 : 0);
    return n === 0 ? 0 : 4 + 8 * Math.min(n, this.tsOk ? 3 : 4);
  }

  /** tcp_sack_new_ofo_skb: record [seq, end) as received out of order, newest block first. */
  private sackNewOfo(seq: number, end: number): void {
    for (let i = 0; i < this.sackBlocks.length; i++) {
      const b = this.sackBlocks[i]!;
      if (!after(seq, b[1]) && !after(b[0], end)) {
        // tcp_sack_extend, then move it to the front and coalesce (tcp_sack_maybe_coalesce).
        let merged: [number, number] = [before(seq, b[0]) ? seq : b[0], after(end, b[1]) ? end : b[1]];
        this.sackBlocks.splice(i, 1);
        for (let j = 0; j < this.sackBlocks.length; ) {
          const c = this.sackBlocks[j]!;
          if (!after(merged[0], c[1]) && !after(c[0], merged[1])) {
            merged = [before(c[0], merged[0]) ? c[0] : merged[0], after(c[1], merged[1]) ? c[1] : merged[1]];
            this.sackBlocks.splice(j, 1);
          } else j++;
        }
        this.sackBlocks.unshift(merged);
        return;
      }
    }
    this.sackBlocks.unshift([seq, end]);
    if (this.sackBlocks.length > 4) this.sackBlocks.length = 4;
  }

  /** tcp_sack_remove: blocks rcv_nxt has reached are dropped. */
  private sackRemove(): void {
    this.sackBlocks = this.sackBlocks.filter((b) => before(this.rcvNxt, b[0]));
  }

  /** tcp_dsack_set: report a duplicate range in the next ACK (net.ipv4.tcp_dsack = 1). */
  private dsackSet(seq: number, end: number): void {
    if (this.sackOk) this.dsack = [seq, end];
  }

  /** SYN (client) or SYN-ACK (request socket), first transmission or a retransmission. */
  private sendSyn(retrans: boolean): void {
    const synack = this.state === 'SYN_RECV';
    const flags = synack ? TCP_SYN | TCP_ACK : TCP_SYN;
    const options = linuxSynOptions({
      mss: this.advMss,
      sackPermitted: this.sackOk,
      timestamps: this.tsOk ? { tsval: this.tsNow(), tsecr: synack ? this.tsRecent : 0 } : null,
      windowScale: this.wscaleOk ? this.rcvWscale : null,
    });
    if (!retrans) {
      this.rtx.push({ seq: this.iss, end: seqAdd(this.iss, 1), flags, data: EMPTY, sentAt: this.layer.now, resent: false });
      this.sndNxt = seqAdd(this.iss, 1);
    }
    if (this.layer.trace) this.layer.emit({ kind: 'tcp.syn', step: synack ? 'tcp_make_synack' : 'tcp_connect', proto: 'tcp', tuple: describeSock(this), dir: 'sent', flags: tcpFlagText(flags), seq: this.iss, ack: synack ? this.rcvNxt : 0, why: retrans ? `retransmission ${this.retransmits}` : synack ? 'answering SYN' : 'connect()' });
    // A request socket sends with IP ID 0 (ip_build_and_send_pkt with DF).
    this.xmit(this.iss, flags, EMPTY, options, Math.min(this.rcvWnd, 65535), synack ? 0 : null);
    this.armRto();
  }

  /**
   * tcp_send_ack. Time-wait sockets answer with IP ID 0 (ip_send_unicast_reply). A socket
   * closed by close() becomes a time-wait socket already in FIN_WAIT2 (tcp_rcv_state_process
   * calls tcp_time_wait(sk, TCP_FIN_WAIT2, tmo) once our FIN is acknowledged), so it too.
   */
  private sendAck(): void {
    const tw = this.state === 'TIME_WAIT' || (this.state === 'FIN_WAIT2' && this.twSock);
    this.xmit(this.sndNxt, TCP_ACK, EMPTY, this.opts(), this.windowField(), tw ? 0 : null);
  }

  /** tcp_send_active_reset: RST|ACK at snd_nxt with the socket's options. */
  private sendActiveReset(why: string): void {
    if (this.layer.trace) this.layer.emit({ kind: 'tcp.rst', step: 'tcp_send_active_reset', proto: 'tcp', tuple: describeSock(this), dir: 'sent', flags: 'R.', seq: this.sndNxt, ack: this.rcvNxt, why });
    this.xmit(this.sndNxt, TCP_RST | TCP_ACK, EMPTY, this.opts(), this.windowField());
  }

  /** tcp_event_ack_sent: the ACK went out, so no delayed ACK is due, one quickack is used. */
  private ackSent(): void {
    this.ackPending = false;
    if (this.delackTimer) {
      this.delackTimer.cancelled = true;
      this.delackTimer = null;
    }
    if (this.quick > 0) {
      this.quick--;
      if (this.quick === 0) this.ato = TCP_ATO_MIN_MS;
    }
  }

  /** tcp_write_xmit: sends queued data and the FIN as windows and Nagle allow. */
  private push(): void {
    if (!(this.state === 'ESTABLISHED' || this.state === 'CLOSE_WAIT' || this.state === 'FIN_WAIT1' || this.state === 'LAST_ACK' || this.state === 'CLOSING')) return;
    let sent = false;
    while (this.pendingBytes > 0) {
      const inFlight = seqDiff(this.sndNxt, this.sndUna);
      const wndRoom = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
      // tcp_cwnd_test counts packets in flight, tcp_snd_wnd_test bytes.
      if (this.rtx.length >= Math.floor(this.cwnd)) break;
      // SACK blocks on this segment take option space from the payload (tcp_current_mss).
      const len = Math.min(this.mss - this.sackOptLen(), this.pendingBytes);
      if (wndRoom < len) break;
      // Nagle with Minshall's rule (tcp_nagle_check): hold a short segment while an earlier
      // short one is unacknowledged.
      if (len < this.mss && inFlight > 0 && after(this.sndSml, this.sndUna) && !this.finQueued) break;
      const data = this.takePending(len);
      const last = this.pendingBytes === 0;
      const segEnd = seqAdd(this.sndNxt, len);
      let psh = false;
      while (this.writeEnds.length > 0 && !after(this.writeEnds[0]!, segEnd)) {
        this.writeEnds.shift();
        psh = true;
      }
      let flags = TCP_ACK | (psh ? TCP_PSH : 0);
      const withFin = last && this.finQueued && !this.finSent;
      if (withFin) flags |= TCP_FIN;
      const seq = this.sndNxt;
      const end = seqAdd(seq, data.length + (withFin ? 1 : 0));
      this.rtx.push({ seq, end, flags, data, sentAt: this.layer.now, resent: false });
      this.sndNxt = end;
      if (withFin) this.finSent = true;
      if (data.length < this.mss) this.sndSml = end;
      this.xmit(seq, flags, data, this.opts(), this.windowField());
      this.dataSent();
      sent = true;
    }
    if (this.pendingBytes === 0 && this.finQueued && !this.finSent) {
      const seq = this.sndNxt;
      this.rtx.push({ seq, end: seqAdd(seq, 1), flags: TCP_FIN | TCP_ACK, data: EMPTY, sentAt: this.layer.now, resent: false });
      this.sndNxt = seqAdd(seq, 1);
      this.finSent = true;
      this.xmit(seq, TCP_FIN | TCP_ACK, EMPTY, this.opts(), this.windowField());
      sent = true;
    }
    if (sent) this.armRto(false);
  }

  private takePending(len: number): Uint8Array {
    const out = new Uint8Array(len);
    let off = 0;
    while (off < len) {
      const head = this.pending[0]!;
      const n = Math.min(head.length, len - off);
      out.set(head.subarray(0, n), off);
      off += n;
      if (n === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(n);
    }
    this.pendingBytes -= len;
    return out;
  }

  /** tcp_event_data_sent: a reply within the ATO of the last receipt counts toward pingpong. */
  private dataSent(): void {
    const now = this.layer.now;
    if (this.ato > 0 && now - this.lrcvtime < ms(this.ato)) this.pingpong = Math.min(this.pingpong + 1, 255);
  }

  // ----------------------------------------------------------------------------------------
  // Timers

  /** Starts the retransmission timer if data is in flight (restart = reset it). */
  private armRto(restart = true): void {
    if (this.rtx.length === 0) {
      if (this.rtoTimer) this.rtoTimer.cancelled = true;
      this.rtoTimer = null;
      return;
    }
    if (this.rtoTimer && !restart) return;
    if (this.rtoTimer) this.rtoTimer.cancelled = true;
    const rto = Math.min(this.rtoMs * 2 ** this.backoff(), TCP_RTO_MAX_MS);
    this.rtoTimer = this.layer.ip.clock.schedule(ms(rto), () => {
      this.rtoTimer = null;
      this.onRto();
    });
  }

  /**
   * icsk_backoff: the RTO doubles per retransmission, except that a connecting socket's first
   * net.ipv4.tcp_syn_linear_timeouts (4 in Linux 6.18) keep the initial RTO, so its SYN goes
   * again at 1, 2, 3, 4, 5 s, then 7, 11, 19, 35, 67 s.
   */
  private backoff(): number {
    if (this.state !== 'SYN_SENT') return this.retransmits;
    return Math.max(0, this.retransmits - this.layer.sysctlInt('net.ipv4.tcp_syn_linear_timeouts', 4));
  }

  /** tcp_retransmit_timer / tcp_write_timeout. */
  private onRto(): void {
    const head = this.rtx[0];
    if (!head) return;
    const syn = this.state === 'SYN_SENT' || this.state === 'SYN_RECV';
    // tcp_write_timeout: a connecting socket gets tcp_syn_retries + tcp_syn_linear_timeouts
    // retransmissions (10: it gives up 131 s after its SYN).
    const limit = this.state === 'SYN_SENT'
      ? this.layer.sysctlInt('net.ipv4.tcp_syn_retries', 6) + this.layer.sysctlInt('net.ipv4.tcp_syn_linear_timeouts', 4)
      : this.state === 'SYN_RECV'
        ? this.layer.sysctlInt('net.ipv4.tcp_synack_retries', 5)
        : this.layer.sysctlInt('net.ipv4.tcp_retries2', 15);
    if (this.retransmits >= limit) {
      const errno = this.softError ?? 'ETIMEDOUT';
      if (this.layer.trace) this.layer.emit({ kind: 'tcp.timeout', step: 'tcp_write_timeout', proto: 'tcp', tuple: describeSock(this), dir: 'sent', flags: tcpFlagText(head.flags), seq: head.seq, ack: this.rcvNxt, why: `${this.retransmits} retransmissions unanswered` });
      if (this.state === 'SYN_RECV' && this.parent) {
        this.abortLocal(null, 'SYN-ACK retries exhausted');
        return;
      }
      this.abortLocal(errno, 'retransmissions exhausted');
      return;
    }
    this.retransmits++;
    head.resent = true;
    // On a timeout Linux collapses the window (tcp_enter_loss): cwnd 1, ssthresh half.
    this.ssthresh = Math.max(Math.floor(this.cwnd / 2), 2);
    this.cwnd = 1;
    if (syn) {
      this.sendSyn(true);
      return;
    }
    if (this.layer.trace) this.layer.emit({ kind: 'tcp.retransmit', step: 'tcp_retransmit_skb', proto: 'tcp', tuple: describeSock(this), dir: 'sent', flags: tcpFlagText(head.flags), seq: head.seq, ack: this.rcvNxt, why: `RTO ${Math.min(this.rtoMs * 2 ** (this.retransmits - 1), TCP_RTO_MAX_MS)} ms` });
    this.xmit(head.seq, head.flags, head.data, this.opts(), this.windowField());
    this.armRto();
  }

  /** RFC 6298 with Linux's floor: rto = srtt + max(4 * rttvar, 200 ms). */
  private rttSample(m: number): void {
    if (this.srttMs === 0) {
      this.srttMs = m;
      this.rttvarMs = m / 2;
    } else {
      this.rttvarMs = 0.75 * this.rttvarMs + 0.25 * Math.abs(this.srttMs - m);
      this.srttMs = 0.875 * this.srttMs + 0.125 * m;
    }
    this.rtoMs = Math.min(Math.max(this.srttMs + Math.max(4 * this.rttvarMs, TCP_RTO_MIN_MS), TCP_RTO_MIN_MS), TCP_RTO_MAX_MS);
  }

  /** tcp_send_delayed_ack. */
  private scheduleDelack(): void {
    this.ackPending = true;
    if (this.delackTimer) return;
    let ato = this.ato;
    if (ato > TCP_ATO_MIN_MS) {
      let maxAto = 500;
      if (this.pingpong > 0) maxAto = TCP_DELACK_MAX_MS;
      if (this.srttMs > 0) maxAto = Math.min(maxAto, Math.max(this.srttMs, TCP_ATO_MIN_MS));
      ato = Math.min(ato, maxAto);
    }
    ato = Math.min(ato, TCP_DELACK_MAX_MS);
    this.delackTimer = this.layer.ip.clock.schedule(ms(ato), () => {
      this.delackTimer = null;
      if (!this.ackPending || this.state === 'CLOSE') return;
      if (this.pingpong === 0) this.ato = Math.min(this.ato * 2, this.rtoMs);
      else {
        this.pingpong = 0;
        this.ato = TCP_ATO_MIN_MS;
      }
      this.sendAck();
    });
  }

  private startFinWait2Timer(): void {
    if (this.stateTimer) return;
    const t = this.layer.sysctlInt('net.ipv4.tcp_fin_timeout', 60) * 1000;
    this.stateTimer = this.layer.ip.clock.schedule(ms(t), () => {
      this.stateTimer = null;
      if (this.state === 'FIN_WAIT2') this.finish(null, 'tcp_fin_timeout');
    });
  }

  private enterTimeWait(why: string): void {
    this.setState('TIME_WAIT', why);
    this.cancelTimers();
    this.rtx.length = 0;
    this.stateTimer = this.layer.ip.clock.schedule(ms(TCP_TIMEWAIT_LEN_MS), () => {
      this.stateTimer = null;
      this.finish(null, 'TIME_WAIT expired');
    });
    this.reportClose(null);
  }

  private cancelTimers(): void {
    for (const t of [this.rtoTimer, this.delackTimer, this.stateTimer]) if (t) t.cancelled = true;
    this.rtoTimer = this.delackTimer = this.stateTimer = null;
  }

  // ----------------------------------------------------------------------------------------
  // State and teardown

  setState(to: TcpState, why: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    if (this.layer.trace) this.layer.emit({ kind: 'tcp.state', step: 'tcp_set_state', proto: 'tcp', tuple: describeSock(this), from, to, why });
  }

  private hashPort(): void {
    if (!this.portHashed) this.layer.tcpTable.hashPort(this);
    this.portHashed = true;
  }

  private hashEst(): void {
    if (!this.estHashed) this.layer.tcpTable.hashEstablished(this);
    this.estHashed = true;
  }

  /** Gone from every table (tcp_done / inet_twsk_kill). */
  private finish(errno: Errno | null, why = 'closed'): void {
    this.cancelTimers();
    this.setState('CLOSE', why);
    if (this.estHashed) this.layer.tcpTable.unhashEstablished(this);
    if (this.portHashed) this.layer.tcpTable.unhashPort(this);
    this.estHashed = this.portHashed = false;
    this.rtx.length = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.writeEnds = [];
    this.reportClose(errno);
  }

  private reportClose(errno: Errno | null): void {
    if (this.closedReported || this.parent) return;
    this.closedReported = true;
    this.layer.wake(() => this.handlers.onClose?.(this, errno));
  }

  /** Tears the connection down locally; `errno` is reported to the application. */
  private abortLocal(errno: Errno | null, why: string): void {
    if (errno && !this.parent) {
      if (this.layer.trace) this.layer.emit({ kind: 'sock.error', step: 'tcp_done', proto: 'tcp', tuple: describeSock(this), errno, why });
      this.layer.wake(() => this.handlers.onError?.(this, errno));
    }
    this.finish(errno, why);
  }

  // ----------------------------------------------------------------------------------------
  // Input

  /** @internal a segment for this socket's 4-tuple. */
  rcv(s: ParsedSeg): void {
    switch (this.state) {
      case 'SYN_SENT':
        this.rcvSynSent(s);
        return;
      case 'SYN_RECV':
        this.rcvSynRecv(s);
        return;
      case 'TIME_WAIT':
        this.rcvTimeWait(s);
        return;
      case 'CLOSE':
      case 'LISTEN':
        return;
      default:
        this.rcvSynchronized(s);
    }
  }

  /** Takes the options of a SYN or SYN-ACK (tcp_parse_options). */
  private takeSynOptions(s: ParsedSeg, ownWscaleOk: boolean): void {
    const mss = s.seg.mss();
    this.peerMss = mss > 0 ? mss : TCP_MSS_DEFAULT;
    const ws = s.seg.windowScale();
    this.wscaleOk = ownWscaleOk && ws >= 0;
    this.sndWscale = this.wscaleOk ? Math.min(ws, 14) : 0;
    if (!this.wscaleOk) this.rcvWscale = 0;
    const tsval = s.seg.tsval();
    this.tsOk = this.tsOk && tsval >= 0;
    if (this.tsOk) this.tsRecent = tsval;
    this.sackOk = this.sackOk && s.seg.sackPermitted();
  }

  /** tcp_rcv_synsent_state_process. */
  private rcvSynSent(s: ParsedSeg): void {
    const ackf = (s.flags & TCP_ACK) !== 0;
    if (ackf && (!after(s.ack, this.iss) || after(s.ack, this.sndNxt))) {
      if (!(s.flags & TCP_RST)) sendReset(this.layer, s, 'SYN_SENT: unacceptable ACK');
      return;
    }
    if (s.flags & TCP_RST) {
      if (!ackf) return;
      if (this.layer.trace) this.layer.emit({ kind: 'tcp.rst', step: 'tcp_reset', proto: 'tcp', tuple: describeSock(this), dir: 'received', flags: tcpFlagText(s.flags), seq: s.seq, ack: s.ack, why: 'connection refused' });
      this.abortLocal('ECONNREFUSED', 'RST in SYN_SENT');
      return;
    }
    if (!(s.flags & TCP_SYN)) return;
    this.irs = s.seq;
    this.rcvNxt = seqAdd(s.seq, 1);
    this.rcvWup = this.rcvNxt;
    this.takeSynOptions(s, this.wscaleOk);
    if (this.layer.trace) this.layer.emit({ kind: 'tcp.syn', step: 'tcp_rcv_synsent_state_process', proto: 'tcp', tuple: describeSock(this), dir: 'received', flags: tcpFlagText(s.flags), seq: s.seq, ack: s.ack, why: ackf ? 'SYN-ACK' : 'simultaneous open' });
    if (!ackf) {
      // Simultaneous open: answer SYN-ACK from the same ISN.
      this.setState('SYN_RECV', 'SYN in SYN_SENT');
      this.rtx.length = 0;
      this.sendSyn(false);
      return;
    }
    this.sndWnd = s.window; // not scaled in a SYN
    this.sndWl1 = s.seq;
    this.sndWl2 = s.ack;
    this.ackUpTo(s.ack);
    this.lrcvtime = this.layer.now;
    this.initBufferSpace();
    this.setState('ESTABLISHED', 'SYN-ACK received');
    this.sendAck();
    this.layer.wake(() => this.handlers.onConnect?.(this));
    this.push();
  }

  /** A SYN_RECV socket (request socket, or simultaneous open): tcp_check_req. */
  private rcvSynRecv(s: ParsedSeg): void {
    if (s.flags & TCP_RST) {
      if (s.seq === this.rcvNxt) this.abortLocal(this.parent ? null : 'ECONNREFUSED', 'RST in SYN_RECV');
      return;
    }
    if ((s.flags & TCP_SYN) && !(s.flags & TCP_ACK)) {
      if (s.seq === this.irs) this.sendSyn(true); // retransmitted SYN: resend the SYN-ACK
      return;
    }
    if (!(s.flags & TCP_ACK)) return;
    if (s.ack !== this.sndNxt) {
      sendReset(this.layer, s, 'SYN_RECV: ACK does not match the SYN-ACK');
      return;
    }
    this.sndWnd = s.window * 2 ** this.sndWscale;
    this.sndWl1 = s.seq;
    this.sndWl2 = s.ack;
    this.ackUpTo(s.ack);
    this.lrcvtime = this.layer.now;
    const parent = this.parent;
    if (parent) {
      // tcp_v4_syn_recv_sock: the full socket gets its own IP ID counter.
      this.ipId = this.layer.rng.u32() & 0xffff;
      this.parent = null;
      this.handlers = {};
    }
    this.initBufferSpace();
    this.setState('ESTABLISHED', 'handshake ACK');
    if (parent) parent.accepted(this);
    else this.layer.wake(() => this.handlers.onConnect?.(this));
    if (s.payload.length > 0 || s.flags & TCP_FIN) this.rcvSynchronized(s);
  }

  /** tcp_timewait_state_process. */
  private rcvTimeWait(s: ParsedSeg): void {
    if (s.flags & TCP_RST) {
      this.finish(null, 'RST in TIME_WAIT');
      return;
    }
    const tsval = s.seg.tsval();
    const newerTs = this.tsOk && tsval >= 0 && ((this.tsRecent - tsval) | 0) < 0;
    if ((s.flags & TCP_SYN) && !(s.flags & TCP_ACK) && (after(s.seq, this.rcvNxt) || newerTs)) {
      // A new connection from the same port: the time-wait socket gives way (TCP_TW_SYN).
      this.finish(null, 'SYN reuses the 4-tuple');
      const l = this.layer.tcpTable.listener(s.daddr, s.dport);
      if (l instanceof TcpListener) l.rcv(s);
      else sendReset(this.layer, s, 'no listener');
      return;
    }
    if (s.flags & TCP_FIN && seqAdd(s.seq, s.payload.length + 1) === this.rcvNxt) {
      // The peer resent its FIN: ACK again and restart the 60 s (inet_twsk_reschedule).
      if (this.stateTimer) this.stateTimer.cancelled = true;
      this.stateTimer = this.layer.ip.clock.schedule(ms(TCP_TIMEWAIT_LEN_MS), () => {
        this.stateTimer = null;
        this.finish(null, 'TIME_WAIT expired');
      });
    }
    this.sendAck();
  }

  /** tcp_rcv_state_process / tcp_rcv_established for the synchronized states. */
  private rcvSynchronized(s: ParsedSeg): void {
    const len = s.payload.length;
    const fin = (s.flags & TCP_FIN) !== 0;
    const endSeq = seqAdd(s.seq, len + (fin ? 1 : 0) + (s.flags & TCP_SYN ? 1 : 0));
    // tcp_sequence: the segment must overlap the receive window.
    const rwin = Math.max(seqDiff(seqAdd(this.rcvWup, this.rcvWnd), this.rcvNxt), 0);
    if (before(endSeq, this.rcvWup) || after(s.seq, seqAdd(this.rcvNxt, rwin))) {
      if (!(s.flags & TCP_RST)) this.sendDupAck();
      return;
    }
    if (s.flags & TCP_RST) {
      if (s.seq === this.rcvNxt) {
        if (this.layer.trace) this.layer.emit({ kind: 'tcp.rst', step: 'tcp_reset', proto: 'tcp', tuple: describeSock(this), dir: 'received', flags: tcpFlagText(s.flags), seq: s.seq, ack: s.ack, why: 'connection reset by peer' });
        const errno: Errno = this.state === 'CLOSE_WAIT' ? 'EPIPE' : 'ECONNRESET'; // tcp_reset
        this.abortLocal(errno, 'RST received');
      } else {
        this.sendChallengeAck('RST in window but not at rcv_nxt');
      }
      return;
    }
    if (s.flags & TCP_SYN) {
      this.sendChallengeAck('SYN on a synchronized connection');
      return;
    }
    if (!(s.flags & TCP_ACK)) return;
    if (this.tsOk) {
      const tsval = s.seg.tsval();
      if (tsval >= 0 && !after(s.seq, this.rcvNxt)) this.tsRecent = tsval;
    }
    // tcp_ack.
    if (after(s.ack, this.sndNxt)) {
      this.sendChallengeAck('ACK for data not sent');
      return;
    }
    const nwin = s.window * 2 ** this.sndWscale;
    if (after(s.ack, this.sndUna) || after(s.seq, this.sndWl1) || (s.seq === this.sndWl1 && (nwin > this.sndWnd || nwin === 0))) {
      this.sndWnd = nwin;
      this.sndWl1 = s.seq;
      this.sndWl2 = s.ack;
    }
    if (after(s.ack, this.sndUna)) {
      this.ackUpTo(s.ack);
      if (this.finSent && s.ack === this.sndNxt) {
        if (this.state === 'FIN_WAIT1') {
          this.setState('FIN_WAIT2', 'our FIN acknowledged');
          if (this.rcvShutdown) {
            this.startFinWait2Timer();
            if (!fin) this.twSock = true;
          }
        } else if (this.state === 'CLOSING') {
          this.enterTimeWait('our FIN acknowledged in CLOSING');
          return;
        } else if (this.state === 'LAST_ACK') {
          this.finish(null, 'our FIN acknowledged in LAST_ACK');
          return;
        }
      }
    }
    // Data after close(): RFC 1122 reset (tcp_rcv_state_process, LINUX_MIB_TCPABORTONDATA).
    if (this.rcvShutdown && (this.state === 'FIN_WAIT1' || this.state === 'FIN_WAIT2') && len > 0 && after(seqAdd(s.seq, len), this.rcvNxt)) {
      this.rcvNxt = seqAdd(s.seq, len + (fin ? 1 : 0));
      sendReset(this.layer, s, 'data after close()');
      this.abortLocal(null, 'data after close()');
      return;
    }
    const receiving = this.state === 'ESTABLISHED' || this.state === 'FIN_WAIT1' || this.state === 'FIN_WAIT2';
    if (receiving && (len > 0 || fin)) this.dataQueue(s, fin);
    else if ((len > 0 || fin) && !after(endSeq, this.rcvNxt)) this.sendDupAck(); // a retransmission: ACK it at once
    this.push();
  }

  /** tcp_data_queue + tcp_fin + __tcp_ack_snd_check. */
  private dataQueue(s: ParsedSeg, fin: boolean): void {
    let seq = s.seq;
    let data = s.payload;
    const delivered: Uint8Array[] = [];
    /** Charges already made for `delivered` entries, by index (the in-order segment's). */
    const charged = new Map<number, number>();
    let gotFin = false;
    if (before(seq, this.rcvNxt)) {
      const skip = seqDiff(this.rcvNxt, seq);
      if (skip >= data.length && !(fin && skip === data.length)) {
        // A retransmission of what we have: D-SACK it and ACK at once (tcp_data_queue out_of_window).
        if (data.length > 0) this.dsackSet(seq, seqAdd(seq, data.length));
        this.enterQuickack();
        this.sendAck();
        return;
      }
      // Partly new: the old part is a duplicate (tcp_dsack_set(seq, rcv_nxt)).
      this.dsackSet(seq, this.rcvNxt);
      data = data.subarray(Math.min(skip, data.length));
      seq = this.rcvNxt;
    }
    if (seq !== this.rcvNxt) {
      // Out of order: keep it, SACK it, send a duplicate ACK now (tcp_data_queue_ofo).
      const end = seqAdd(seq, data.length);
      if (this.ooo.has(seq)) this.dsackSet(seq, end);
      else this.ooo.set(seq, { data: data.slice(), fin });
      if (this.sackOk && data.length > 0) this.sackNewOfo(seq, end);
      this.sendDupAck();
      return;
    }
    if (data.length > 0) {
      // tcp_queue_rcv charges the segment to the receive queue (sk_rmem_alloc) first; then
      // tcp_event_data_recv, for in-order data only (queue_and_out), sees that space gone.
      const charge = segmentTruesize(data.length);
      this.rmemAlloc += charge;
      charged.set(delivered.length, charge);
      this.eventDataRecv(s.payload.length);
      delivered.push(data.slice());
      this.rcvNxt = seqAdd(this.rcvNxt, data.length);
    }
    if (fin) gotFin = true;
    // Drain the out-of-order queue.
    while (!gotFin && this.ooo.size > 0) {
      let progressed = false;
      for (const [oseq, o] of this.ooo) {
        const oend = seqAdd(oseq, o.data.length);
        if (after(oseq, this.rcvNxt)) continue;
        this.ooo.delete(oseq);
        progressed = true;
        if (after(oend, this.rcvNxt)) {
          const part = o.data.subarray(seqDiff(this.rcvNxt, oseq));
          delivered.push(part.slice());
          this.rcvNxt = oend;
        }
        if (o.fin && oend === this.rcvNxt) gotFin = true;
        break;
      }
      if (!progressed) break;
    }
    if (this.sackBlocks.length > 0) this.sackRemove();
    const total = delivered.reduce((n, d) => n + d.length, 0);
    if (total > 0 && this.layer.trace) this.layer.emit({ kind: 'sock.deliver', step: 'tcp_queue_rcv', proto: 'tcp', tuple: describeSock(this), bytes: total });
    for (const [i, d] of delivered.entries()) {
      // Charged to the receive queue until the application reads it (sk_rmem_alloc).
      let charge = charged.get(i);
      if (charge === undefined) {
        charge = segmentTruesize(d.length);
        this.rmemAlloc += charge;
      }
      this.unreadBytes += d.length;
      this.layer.wake(() => {
        this.rmemAlloc -= charge;
        this.unreadBytes -= d.length;
        this.handlers.onData?.(this, d);
      });
    }
    if (gotFin) {
      this.rcvNxt = seqAdd(this.rcvNxt, 1);
      this.peerFin = true;
      this.ooo.clear();
      this.sackBlocks = [];
      this.layer.wake(() => this.handlers.onEnd?.(this));
      switch (this.state) {
        case 'ESTABLISHED':
          this.setState('CLOSE_WAIT', 'FIN received');
          this.pingpong = Math.max(this.pingpong, 1); // inet_csk_enter_pingpong_mode
          break;
        case 'FIN_WAIT1':
          // Simultaneous close (our FIN not yet acknowledged).
          this.setState('CLOSING', 'FIN received in FIN_WAIT1');
          this.sendAck();
          return;
        case 'FIN_WAIT2':
          this.sendAckBeforeTimeWait();
          return;
        default:
          break;
      }
    }
    this.ackSndCheck();
  }

  /** FIN in FIN_WAIT2: ACK it, then TIME_WAIT (tcp_fin: tcp_send_ack; tcp_time_wait). */
  private sendAckBeforeTimeWait(): void {
    this.sendAck();
    this.enterTimeWait('FIN received in FIN_WAIT2');
  }

  /** __tcp_ack_snd_check. */
  private ackSndCheck(): void {
    const unacked = seqDiff(this.rcvNxt, this.rcvWup);
    const quickMode = this.quick > 0 && this.pingpong === 0;
    if (unacked > this.rcvMss || quickMode || this.ooo.size > 0) {
      this.sendAck();
      return;
    }
    this.scheduleDelack();
  }

  /** tcp_event_data_recv: tcp_measure_rcv_mss, the ATO estimator, tcp_grow_window. */
  private eventDataRecv(len: number): void {
    const now = this.layer.now;
    const truesize = segmentTruesize(len);
    if (len >= this.rcvMss) {
      if (len !== this.rcvMss) {
        const ratio = Math.max(Math.floor((len * 256) / truesize), 1);
        if (ratio !== this.scalingRatio) {
          this.scalingRatio = ratio;
          this.setWindowClamp(Math.floor((this.rcvbuf * ratio) / 256));
          if (this.windowClamp < this.rcvSsthresh) this.rcvSsthresh = this.windowClamp;
        }
      }
      this.rcvMss = Math.min(len, this.advMss);
    }
    if (this.ato === 0) {
      this.incrQuickack();
      this.ato = TCP_ATO_MIN_MS;
    } else {
      const m = (now - this.lrcvtime) / NS_PER_MS;
      if (m <= TCP_ATO_MIN_MS / 2) this.ato = (this.ato >> 1) + TCP_ATO_MIN_MS / 2;
      else if (m < this.ato) this.ato = Math.min((this.ato >> 1) + m, this.rtoMs);
      else if (m > this.rtoMs) this.incrQuickack();
    }
    this.lrcvtime = now;
    if (len >= 128) {
      // tcp_grow_window: up to what the clamp and the free space allow, by 2 * advmss when
      // the segment's truesize, as window, fits its length; else by __tcp_grow_window's
      // 2 * rcv_mss when a halving of both finds it fitting, else not at all; at least 2 * len.
      const room = Math.min(this.windowClamp, this.tcpSpace()) - this.rcvSsthresh;
      if (room > 0) {
        const win = (space: number): number => Math.floor((space * this.scalingRatio) / 256);
        let incr = 0;
        if (win(truesize) <= len) incr = 2 * this.advMss;
        else {
          let t = win(truesize) >> 1;
          let window = win(this.rmemMax) >> 1;
          while (this.rcvSsthresh <= window) {
            if (t <= len) {
              incr = 2 * this.rcvMss;
              break;
            }
            t >>= 1;
            window >>= 1;
          }
        }
        if (incr) {
          this.rcvSsthresh += Math.min(room, Math.max(incr, 2 * len));
          this.quick |= 1;
        }
      }
    }
  }

  /**
   * tcp_init_buffer_space, as the connection is established: the window clamp is the full
   * space less one segment (tcp_app_win 31: "force reservation of one segment"), and
   * rcv_ssthresh no more than it. So an MTU-1500 socket's clamp is 65536 - 1448 = 64088, below
   * its initial 64240, and small segments do not grow its window (still `win 63`).
   */
  private initBufferSpace(): void {
    const maxwin = Math.floor((this.rcvbuf * this.scalingRatio) / 256);
    const appWin = this.layer.sysctlInt('net.ipv4.tcp_app_win', 31);
    if (this.windowClamp >= maxwin) {
      this.windowClamp = maxwin;
      if (appWin && maxwin > 4 * this.advMss) this.windowClamp = Math.max(maxwin - Math.floor(maxwin / 2 ** appWin), 4 * this.advMss);
    }
    if (appWin && this.windowClamp > 2 * this.advMss && this.windowClamp + this.advMss > maxwin) this.windowClamp = Math.max(2 * this.advMss, maxwin - this.advMss);
    this.rcvSsthresh = Math.min(this.rcvSsthresh, this.windowClamp);
  }

  /** tcp_set_window_clamp. */
  private setWindowClamp(val: number): void {
    const old = this.windowClamp;
    this.windowClamp = Math.max(MIN_WINDOW_CLAMP, val);
    if (this.windowClamp < old) this.rcvSsthresh = Math.min(this.rcvSsthresh, this.windowClamp);
    else this.rcvSsthresh = Math.max(Math.min(this.rcvWnd, this.windowClamp), this.rcvSsthresh);
  }

  /** tcp_incr_quickack(TCP_MAX_QUICKACKS). */
  private incrQuickack(): void {
    let q = Math.floor(this.rcvWnd / (2 * this.rcvMss));
    if (q === 0) q = 2;
    q = Math.min(q, TCP_MAX_QUICKACKS);
    if (q > this.quick) this.quick = q;
  }

  /** tcp_enter_quickack_mode: also leaves pingpong. */
  private enterQuickack(): void {
    this.incrQuickack();
    this.pingpong = 0;
    this.ato = TCP_ATO_MIN_MS;
  }

  private sendDupAck(): void {
    this.enterQuickack();
    this.sendAck();
  }

  private sendChallengeAck(why: string): void {
    if (this.layer.trace) this.layer.emit({ kind: 'tcp.state', step: 'tcp_send_challenge_ack', proto: 'tcp', tuple: describeSock(this), from: this.state, to: this.state, why });
    this.sendAck();
  }

  /** Removes what `ack` covers from the retransmit queue; samples RTT; grows cwnd. */
  private ackUpTo(ack: number): void {
    let acked = 0;
    while (this.rtx.length > 0 && !after(this.rtx[0]!.end, ack)) {
      const seg = this.rtx.shift()!;
      if (!seg.resent) this.rttSample((this.layer.now - seg.sentAt) / NS_PER_MS);
      acked++;
    }
    // A partially acknowledged head: trim it.
    const head = this.rtx[0];
    if (head && after(ack, head.seq)) {
      const cut = seqDiff(ack, head.seq);
      head.data = head.data.subarray(Math.min(cut, head.data.length));
      head.seq = ack;
      head.flags &= ~TCP_SYN;
    }
    this.sndUna = ack;
    if (acked > 0) {
      this.retransmits = 0;
      if (this.cwnd < this.ssthresh) this.cwnd += acked;
      else this.cwnd += acked / this.cwnd;
    }
    this.armRto();
  }

  /** @internal ICMP error for this socket (tcp_v4_err); `seq` is the quoted sequence number. */
  icmpError(info: IcmpErrorInfo, seq: number): void {
    if (this.state === 'TIME_WAIT' || this.state === 'CLOSE') return;
    if (!(this.state === 'SYN_RECV' && this.parent) && (before(seq, this.sndUna) || after(seq, this.sndNxt))) return;
    if (info.type === 3 && info.code === 4) {
      // Fragmentation needed: lower the path MTU and resend what no longer fits
      // (tcp_v4_mtu_reduced -> tcp_simple_retransmit).
      if (info.mtu >= 68 && info.mtu < this.pmtu) {
        this.pmtu = info.mtu;
        this.resegmentAndResend();
      }
      return;
    }
    const e = icmpErrno(info.type, info.code);
    if (!e) return;
    if (this.state === 'SYN_SENT' || this.state === 'SYN_RECV') {
      if (this.state === 'SYN_RECV' && this.parent) {
        // tcp_req_err: the request is dropped, the listener lives on.
        this.abortLocal(null, `ICMP type ${info.type} code ${info.code}`);
        return;
      }
      this.abortLocal(e.errno, `ICMP type ${info.type} code ${info.code} from ${formatIpv4(info.from)}`);
      return;
    }
    this.softError = e.errno;
  }

  /** Cuts every queued segment to the current MSS and retransmits them in order. */
  private resegmentAndResend(): void {
    const mss = this.mss;
    const out: TxSeg[] = [];
    for (const seg of this.rtx) {
      if (seg.data.length <= mss) {
        out.push(seg);
        continue;
      }
      const fin = seg.flags & TCP_FIN;
      const psh = seg.flags & TCP_PSH;
      for (let off = 0; off < seg.data.length; off += mss) {
        const data = seg.data.subarray(off, Math.min(off + mss, seg.data.length));
        const last = off + mss >= seg.data.length;
        const seq = seqAdd(seg.seq, off);
        out.push({ seq, end: seqAdd(seq, data.length + (last && fin ? 1 : 0)), flags: TCP_ACK | (last ? fin | psh : 0), data, sentAt: this.layer.now, resent: true });
      }
    }
    this.rtx.length = 0;
    this.rtx.push(...out);
    for (const seg of this.rtx) {
      if (seg.data.length === 0 && !(seg.flags & TCP_FIN)) continue;
      seg.resent = true;
      if (this.layer.trace) this.layer.emit({ kind: 'tcp.retransmit', step: 'tcp_simple_retransmit', proto: 'tcp', tuple: describeSock(this), dir: 'sent', flags: tcpFlagText(seg.flags), seq: seg.seq, ack: this.rcvNxt, why: `path MTU ${this.pmtu}` });
      this.xmit(seg.seq, seg.flags, seg.data, this.opts(), this.windowField());
    }
    this.armRto();
  }

  /** @internal a SYN_RECV child made by a listener for an incoming SYN. */
  static child(layer: SocketLayer, parent: TcpListener, s: ParsedSeg): TcpSocket | null {
    const rt = layer.ip.routeOutput(s.saddr, { src: s.daddr });
    if (typeof rt === 'string') return null;
    const c = new TcpSocket(layer, {});
    c.parent = parent;
    c.reuseAddr = parent.reuseAddr; // inet_csk_clone_lock copies sk_reuse
    c.localAddr = s.daddr;
    c.localPort = s.dport;
    c.remoteAddr = s.saddr;
    c.remotePort = s.sport;
    c.pmtu = rt.mtu;
    c.advMss = advMssFor(rt.mtu);
    c.iss = layer.tcpIsn(s.daddr, s.saddr, s.dport, s.sport);
    c.tsOffset = layer.tcpTsOffset(s.daddr, s.saddr, s.dport, s.sport);
    c.irs = s.seq;
    c.rcvNxt = seqAdd(s.seq, 1);
    c.rcvWup = c.rcvNxt;
    c.tsOk = layer.sysctlInt('net.ipv4.tcp_timestamps', 1) !== 0;
    c.sackOk = layer.sysctlInt('net.ipv4.tcp_sack', 1) !== 0;
    const wsOk = layer.sysctlInt('net.ipv4.tcp_window_scaling', 1) !== 0;
    c.takeSynOptions(s, wsOk);
    // tcp_openreq_init_rwin: the window is sized for the MSS less the timestamp option.
    const rmem = readRmem(layer);
    const iw = initialWindow(rmem, c.advMss - (c.tsOk ? TCPOLEN_TSTAMP_ALIGNED : 0), c.wscaleOk);
    c.rcvWnd = iw.rcvWnd;
    c.rcvbuf = rmem.rmemDefault;
    c.rmemMax = rmem.rmemMax;
    c.windowClamp = Math.floor((c.rcvbuf * c.scalingRatio) / 256);
    c.rcvSsthresh = Math.min(iw.rcvWnd, c.windowClamp);
    c.rcvWscale = c.wscaleOk ? iw.wscale : 0;
    c.rcvMss = Math.max(Math.min(c.advMss, iw.rcvWnd >> 1, TCP_MSS_DEFAULT), 88);
    c.sndWnd = s.window;
    c.sndUna = c.iss;
    c.sndNxt = c.iss;
    c.sndSml = c.iss;
    c.state = 'SYN_RECV';
    if (layer.trace) layer.emit({ kind: 'tcp.state', step: 'tcp_conn_request', proto: 'tcp', tuple: describeSock(c), from: 'LISTEN', to: 'SYN_RECV', why: 'SYN to a listener' });
    c.hashPort();
    c.hashEst();
    c.sendSyn(false);
    return c;
  }
}
