// An in-memory IPv4 layer for socket tests (a fake, not a mock): namespaces with addresses on
// one shared segment; every packet is real bytes, is captured, and arrives after a fixed
// latency on the simulated clock. It answers echo requests and sends ICMP errors the way the
// real stack does (icmp_echo, icmp_send), so the socket layer can be tested end to end
// without the rest of src/linux.
import { EventQueue } from '../../../src/sim/event-queue.js';
import { Random } from '../../../src/sim/random.js';
import { TraceRecorder, type TraceEventBase } from '../../../src/sim/trace.js';
import type { Ipv4Addr } from '../../../src/wire/ipv4-address.js';
import { PacketBuffer } from '../../../src/wire/packet-buffer.js';
import { Ipv4Packet } from '../../../src/wire/ipv4.js';
import { buildIcmp } from '../../../src/wire/build.js';
import { IcmpPacket, linuxIcmpErrorQuote, ICMP_ECHO, ICMP_ECHOREPLY } from '../../../src/wire/icmp.js';
import type { IpLayer, NetProtocol, RouteError, RouteInfo, RouteOutputOptions } from '../../../src/linux/ip-layer.js';
import { SocketLayer } from '../../../src/linux/sock/stack.js';

export interface Captured {
  /** Simulated ns when it left the sender. */
  readonly time: number;
  readonly from: string;
  readonly bytes: Uint8Array;
}

export class FakeNet {
  readonly clock = new EventQueue();
  readonly captured: Captured[] = [];
  readonly trace = new TraceRecorder<TraceEventBase>();
  readonly hosts: FakeIp[] = [];
  /** One-way delay of every packet. */
  latencyNs = 100_000;
  /** Drops a packet when it answers true (after capture: the capture is at the sender). */
  drop: ((bytes: Uint8Array, index: number) => boolean) | null = null;
  /** Destinations that answer ICMP host unreachable from this router address instead of delivering. */
  readonly unreachable = new Map<number, Ipv4Addr>();
  /** Extra delay of packet `index` (reordering), and whether it is delivered twice. */
  jitter: ((index: number) => number) | null = null;
  duplicate: ((index: number) => boolean) | null = null;
  /** A router at `from` with a smaller next-hop MTU: bigger DF packets get ICMP 3/4. */
  pathMtu: { mtu: number; from: Ipv4Addr } | null = null;
  private sent = 0;

  constructor(readonly seed = 1) {}

  host(name: string, addr: Ipv4Addr, mtu = 1500): FakeIp {
    const h = new FakeIp(this, name, addr, mtu, new Random(`${this.seed}/${name}`));
    this.hosts.push(h);
    return h;
  }

  /** @internal */
  transmit(from: FakeIp, pkt: PacketBuffer): void {
    const bytes = pkt.data().slice();
    this.captured.push({ time: this.clock.now, from: from.name, bytes });
    const index = this.sent++;
    if (this.drop?.(bytes, index)) return;
    const ip = Ipv4Packet.checked(bytes);
    if (this.pathMtu && ip.totalLength() > this.pathMtu.mtu && ip.dontFragment()) {
      const { mtu, from: r } = this.pathMtu;
      this.clock.schedule(this.latencyNs, () => from.icmpSendFrom(r, PacketBuffer.from(bytes), 3, 4, mtu));
      return;
    }
    const router = this.unreachable.get(ip.dst());
    if (router !== undefined) {
      this.clock.schedule(this.latencyNs, () => from.icmpSendFrom(router, PacketBuffer.from(bytes), 3, 1));
      return;
    }
    const to = this.hosts.find((h) => h.addr === ip.dst());
    if (!to) return;
    const delay = this.latencyNs + (this.jitter?.(index) ?? 0);
    this.clock.schedule(delay, () => to.receive(bytes));
    if (this.duplicate?.(index)) this.clock.schedule(delay + 1000, () => to.receive(bytes.slice()));
  }
}

export class FakeIp implements IpLayer {
  readonly netns: string;
  readonly clock: EventQueue;
  readonly trace: TraceRecorder<TraceEventBase>;
  readonly protocols = new Map<number, NetProtocol>();
  readonly sysctls = new Map<string, string>();
  readonly sock: SocketLayer;
  private icmpId = 0x4000;

  constructor(
    readonly net: FakeNet,
    readonly node: string,
    readonly addr: Ipv4Addr,
    readonly mtu: number,
    readonly rng: Random,
  ) {
    this.netns = node;
    this.clock = net.clock;
    this.trace = net.trace;
    this.sock = new SocketLayer(this);
  }

  get name(): string {
    return this.node;
  }

  routeOutput(dst: Ipv4Addr, opts?: RouteOutputOptions): RouteInfo | RouteError {
    if (opts?.src && opts.src !== this.addr) return 'EINVAL';
    const local = dst === this.addr;
    return { type: local ? 'local' : 'unicast', dev: { ifindex: 2, name: 'eth0', mtu: this.mtu }, src: this.addr, nexthop: dst, mtu: this.mtu };
  }

  isLocalAddress(a: Ipv4Addr): boolean {
    return a === this.addr;
  }

  ipOutput(packet: PacketBuffer): 'sent' | RouteError {
    const ip = Ipv4Packet.checked(packet.data());
    if (!ip.checksumValid()) throw new Error('socket layer sent a bad IPv4 header checksum');
    this.net.transmit(this, packet);
    return 'sent';
  }

  icmpSend(offending: PacketBuffer, type: number, code: number, info = 0): void {
    const o = Ipv4Packet.checked(offending.data());
    this.icmpSendFrom(o.dst(), offending, type, code, info);
  }

  /** icmp_send as a router or host at `src` would: TOS 0xc0, DF clear, quote up to 576 bytes. */
  icmpSendFrom(src: Ipv4Addr, offending: PacketBuffer, type: number, code: number, info = 0): void {
    const bytes = offending.data();
    const o = Ipv4Packet.checked(bytes);
    const quote = linuxIcmpErrorQuote(bytes, this.mtu)!;
    const pkt = buildIcmp(
      { src, dst: o.src(), ident: this.icmpId++ & 0xffff, dscp: 0x30, ttl: 64 },
      type === 3 ? { kind: 'dest-unreachable', code, nextHopMtu: info, quote: quote.slice() } : { kind: 'time-exceeded', code, quote: quote.slice() },
    );
    const target = this.net.hosts.find((h) => h.addr === o.src());
    this.net.captured.push({ time: this.clock.now, from: this.name, bytes: pkt.data().slice() });
    if (target) this.clock.schedule(this.net.latencyNs, () => target.receive(pkt.data().slice()));
  }

  registerProtocol(proto: number, p: NetProtocol): void {
    this.protocols.set(proto, p);
  }

  sysctl(name: string): string | undefined {
    return this.sysctls.get(name);
  }

  /** ip_local_deliver_finish for the fake: dispatch by protocol, as the real stack does. */
  receive(bytes: Uint8Array): void {
    const pkt = PacketBuffer.from(bytes);
    const ip = Ipv4Packet.checked(pkt.buf, pkt.head, pkt.length);
    pkt.network = pkt.head;
    pkt.transport = ip.payloadOffset();
    const dev = { ifindex: 2, name: 'eth0', mtu: this.mtu };
    if (ip.protocol() === 1) {
      const icmp = IcmpPacket.checked(pkt.buf, pkt.transport, ip.payloadLength());
      if (icmp.type() === ICMP_ECHO) {
        // icmp_echo: same id/seq/data, from the address pinged; DF clear.
        const reply = buildIcmp(
          { src: ip.dst(), dst: ip.src(), ident: this.icmpId++ & 0xffff, ttl: 64, dscp: ip.dscp() },
          { kind: 'echo-reply', ident: icmp.ident(), seq: icmp.seq(), data: icmp.data().slice() },
        );
        this.net.transmit(this, reply);
        return;
      }
      if (icmp.isError()) {
        const quoted = icmp.dataOffset();
        const qproto = pkt.buf[quoted + 9]!;
        const mtu = icmp.type() === 3 && icmp.code() === 4 ? icmp.nextHopMtu() : 0;
        this.protocols.get(qproto)?.errHandler?.({ type: icmp.type(), code: icmp.code(), mtu, from: ip.src(), packet: pkt, quoted });
        return;
      }
      if (icmp.type() === ICMP_ECHOREPLY) this.protocols.get(1)?.handler(pkt, dev);
      return;
    }
    const p = this.protocols.get(ip.protocol());
    const taken = p ? p.handler(pkt, dev) : false;
    if (!taken) {
      pkt.head = pkt.network;
      this.icmpSend(pkt, 3, p ? 3 : 2);
    }
  }
}
