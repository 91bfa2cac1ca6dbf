/**
 * The ARP neighbour table (net/core/neighbour.c + net/ipv4/arp.c): entries per device, the
 * NUD state machine with the kernel's timers, the queue of packets waiting for resolution,
 * and neigh_output, which writes the Ethernet header and hands the frame to the device.
 */
import type { Timer } from '../sim/event-queue.js';
import { formatIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import { formatMac, MAC_BROADCAST, MAC_ZERO, writeMac, type MacAddr } from '../wire/mac-address.js';
import { tracePacketId, type PacketBuffer } from '../wire/packet-buffer.js';
import type { NetDevice } from './link/device.js';
import type { Netns } from './netns.js';
import { arpTableOf } from './neigh-hash.js';

export const NUD_NONE = 0x00;
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
/** States with a usable link-layer address. */
export const NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
export const NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE;

const STATE_NAMES: [number, string][] = [
  [NUD_INCOMPLETE, 'INCOMPLETE'],
  [NUD_REACHABLE, 'REACHABLE'],
  [NUD_STALE, 'STALE'],
  [NUD_DELAY, 'DELAY'],
  [NUD_PROBE, 'PROBE'],
  [NUD_FAILED, 'FAILED'],
  [NUD_NOARP, 'NOARP'],
  [NUD_PERMANENT, 'PERMANENT'],
];

export function nudName(state: number): string {
  if (state === NUD_NONE) return 'NONE';
  return STATE_NAMES.filter(([b]) => state & b).map(([, n]) => n).join(' ');
}

export class Neighbour {
  readonly dev: NetDevice;
  readonly ip: Ipv4Addr;
  lladdr: MacAddr | null = null;
  state = NUD_NONE;
  probes = 0;
  /** Times in ns: last confirmation of reachability, last state change, last use. */
  confirmed = 0;
  updated = 0;
  used = 0;
  timer: Timer | null = null;
  /** Packets (IPv4 at head) waiting for resolution, oldest first. */
  queue: PacketBuffer[] = [];
  router = false;
  readonly seq: number;

  constructor(dev: NetDevice, ip: Ipv4Addr, seq: number) {
    this.dev = dev;
    this.ip = ip;
    this.seq = seq;
  }

  /** `ip neigh` line (iproute2 print_neigh), trailing space included. */
  format(): string {
    let s = `${formatIpv4(this.ip)} dev ${this.dev.name} `;
    if (this.lladdr !== null && this.state !== NUD_INCOMPLETE && this.state !== NUD_FAILED) s += `lladdr ${formatMac(this.lladdr)} `;
    if (this.router) s += 'router ';
    s += `${nudName(this.state)} `;
    return s;
  }
}

export class NeighTable {
  private readonly netns: Netns;
  private seq = 0;
  /**
   * Each device's neigh_parms reachable_time: base_reachable_time randomised to [0.5, 1.5)
   * (neigh_rand_reach_time), drawn when the device first needs it.
   */
  private readonly reachable = new Map<NetDevice, number>();

  constructor(netns: Netns) {
    this.netns = netns;
  }

  reachableTime(dev: NetDevice): number {
    let t = this.reachable.get(dev);
    if (t === undefined) {
      t = this.randReachTime();
      this.reachable.set(dev, t);
    }
    return t;
  }

  private randReachTime(): number {
    const base = this.netns.sysctl_.neigh.base_reachable_time_ms * 1e6;
    return base / 2 + Math.floor(this.netns.rng.float() * base);
  }

  lookup(dev: NetDevice, ip: Ipv4Addr): Neighbour | undefined {
    return dev.neighs.get(ip);
  }

  create(dev: NetDevice, ip: Ipv4Addr): Neighbour {
    const n = new Neighbour(dev, ip, this.seq++);
    dev.neighs.set(ip, n);
    arpTableOf<Neighbour>(this.netns.env, this.netns.node).insert(n);
    return n;
  }

  /** This namespace's entries in the kernel's dump order: the machine's ARP hash table order. */
  all(): Neighbour[] {
    const out: Neighbour[] = [];
    for (const n of arpTableOf<Neighbour>(this.netns.env, this.netns.node).dump()) if (n.dev.netns === this.netns) out.push(n);
    return out;
  }

  /**
   * neigh_output / ip_finish_output2: send `packet` (IPv4 header at head) to `nexthop` on
   * `dev`: resolve, push the Ethernet header, transmit; or queue while resolving.
   * `mcast` is the link-layer address for broadcast/multicast next hops (NOARP entries).
   */
  output(dev: NetDevice, nh: Ipv4Addr, packet: PacketBuffer, special: MacAddr | null): void {
    // __ipv4_neigh_lookup_noref: loopback (and point-to-point) devices key every next hop as 0.0.0.0.
    const nexthop = dev.linkType === 'loopback' ? (0 as Ipv4Addr) : nh;
    let n = dev.neighs.get(nexthop);
    if (n === undefined) {
      n = this.create(dev, nexthop);
      // arp_constructor: multicast next hops map to 01:00:5e:..., devices without ARP (lo,
      // dummy) use their own address, broadcast next hops the broadcast address.
      if (special !== null && special !== MAC_BROADCAST) {
        n.state = NUD_NOARP;
        n.lladdr = special;
      } else if (dev.noarp) {
        n.state = NUD_NOARP;
        n.lladdr = dev.mac;
      } else if (special !== null) {
        n.state = NUD_NOARP;
        n.lladdr = MAC_BROADCAST;
      }
    }
    const now = this.netns.clock.now;
    n.used = now;
    const st = n.state;
    if (st & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE)) {
      this.netns.trace?.record({ kind: 'linux.neigh', time: now, node: this.netns.node, netns: this.netns.netns, dev: dev.name, step: 'neigh_output', entry: n.format(), state: nudName(n.state), packet: tracePacketId(packet) });
      this.xmit(n, packet);
      return;
    }
    if (st === NUD_STALE) {
      // __neigh_event_send: first use of a STALE entry starts the DELAY timer.
      this.setState(n, NUD_DELAY);
      this.arm(n, this.netns.sysctl_.neigh.delay_first_probe_time * 1e9);
      this.netns.trace?.record({ kind: 'linux.neigh', time: now, node: this.netns.node, netns: this.netns.netns, dev: dev.name, step: 'neigh_output', entry: n.format(), state: nudName(n.state), packet: tracePacketId(packet) });
      this.xmit(n, packet);
      return;
    }
    if (st === NUD_INCOMPLETE) {
      this.enqueue(n, packet);
      this.netns.trace?.record({ kind: 'linux.neigh', time: now, node: this.netns.node, netns: this.netns.netns, dev: dev.name, step: 'neigh_resolve', entry: n.format(), state: 'INCOMPLETE', verdict: 'QUEUE', packet: tracePacketId(packet) });
      return;
    }
    // NONE or FAILED: start resolving (probes start at ucast_solicit so mcast_solicit broadcasts follow).
    this.setState(n, NUD_INCOMPLETE);
    n.probes = this.netns.sysctl_.neigh.ucast_solicit;
    this.enqueue(n, packet);
    this.netns.trace?.record({ kind: 'linux.neigh', time: now, node: this.netns.node, netns: this.netns.netns, dev: dev.name, step: 'neigh_resolve', entry: n.format(), state: 'INCOMPLETE', verdict: 'QUEUE', packet: tracePacketId(packet) });
    this.arm(n, this.netns.sysctl_.neigh.retrans_time_ms * 1e6);
    this.probe(n);
  }

  private enqueue(n: Neighbour, p: PacketBuffer): void {
    if (n.queue.length >= this.netns.sysctl_.neigh.unres_qlen) {
      n.queue.shift();
      this.netns.trace?.record({ kind: 'linux.drop', time: this.netns.clock.now, node: this.netns.node, netns: this.netns.netns, dev: n.dev.name, step: 'neigh_resolve', reason: 'NEIGH_QUEUEFULL', packet: tracePacketId(p) });
    }
    n.queue.push(p);
  }

  private xmit(n: Neighbour, p: PacketBuffer): void {
    const at = p.push(14);
    const b = p.buf;
    writeMac(b, at, n.lladdr ?? MAC_ZERO);
    writeMac(b, at + 6, n.dev.mac);
    b[at + 12] = 0x08;
    b[at + 13] = 0x00;
    p.mac = at;
    n.dev.queueXmit(p);
  }

  private probe(n: Neighbour): void {
    const ucast = this.netns.sysctl_.neigh.ucast_solicit;
    // arp_solicit: probes below ucast_solicit go unicast to the known address (PROBE state).
    const dstHw = n.probes < ucast && n.lladdr !== null ? n.lladdr : null;
    const last = n.queue[n.queue.length - 1];
    this.netns.arpSolicit(n, last, dstHw);
    n.probes++;
  }

  private setState(n: Neighbour, st: number): void {
    n.state = st;
    n.updated = this.netns.clock.now;
  }

  private arm(n: Neighbour, delay: number): void {
    if (n.timer) n.timer.cancelled = true;
    n.timer = this.netns.clock.schedule(delay, () => this.timer(n));
  }

  /** neigh_timer_handler. */
  private timer(n: Neighbour): void {
    n.timer = null;
    const now = this.netns.clock.now;
    const p = this.netns.sysctl_.neigh;
    const delayNs = p.delay_first_probe_time * 1e9;
    const st = n.state;
    if (st & NUD_REACHABLE) {
      const rt = this.reachableTime(n.dev);
      if (now < n.confirmed + rt) {
        this.arm(n, n.confirmed + rt - now);
      } else if (now < n.used + delayNs) {
        this.setState(n, NUD_DELAY);
        this.arm(n, delayNs);
      } else {
        this.setState(n, NUD_STALE);
      }
      return;
    }
    if (st & NUD_DELAY) {
      if (now < n.confirmed + delayNs) {
        this.setState(n, NUD_REACHABLE);
        this.arm(n, n.confirmed + this.reachableTime(n.dev) - now);
      } else {
        this.setState(n, NUD_PROBE);
        n.probes = 0;
        this.arm(n, p.retrans_time_ms * 1e6);
        this.probe(n);
      }
      return;
    }
    if (st & (NUD_INCOMPLETE | NUD_PROBE)) {
      const max = st & NUD_PROBE ? p.ucast_solicit : p.ucast_solicit + p.mcast_solicit;
      if (n.probes >= max) {
        this.setState(n, NUD_FAILED);
        this.netns.trace?.record({ kind: 'linux.neigh', time: now, node: this.netns.node, netns: this.netns.netns, dev: n.dev.name, step: 'neigh_timer', entry: n.format(), state: 'FAILED' });
        // neigh_invalidate -> arp_error_report -> ipv4_link_failure: ICMP host unreachable per queued packet.
        const q = n.queue;
        n.queue = [];
        for (const pkt of q) this.netns.icmpSend(pkt, 3, 1, 0);
        return;
      }
      this.arm(n, p.retrans_time_ms * 1e6);
      this.probe(n);
    }
  }

  /**
   * neigh_update. `override` = NEIGH_UPDATE_F_OVERRIDE (a different address may replace a
   * valid one); `admin` = NEIGH_UPDATE_F_ADMIN (netlink: may touch PERMANENT/NOARP entries, and
   * a STALE update is taken literally). A STALE update with an unchanged address keeps the
   * current valid state, as the kernel does for neighbours heard from again.
   */
  update(n: Neighbour, lladdr: MacAddr | null, state: number, override: boolean, admin = false): void {
    const old = n.state;
    if (!admin && old & (NUD_NOARP | NUD_PERMANENT)) return;
    let next = state;
    if (old & NUD_VALID) {
      if (lladdr !== null && n.lladdr !== null && lladdr !== n.lladdr && !override) return;
      if ((lladdr === null || lladdr === n.lladdr) && state === NUD_STALE && !admin) next = old;
    }
    if (lladdr !== null) n.lladdr = lladdr;
    const now = this.netns.clock.now;
    if (next & NUD_CONNECTED) n.confirmed = now;
    n.updated = now;
    if (next !== old) {
      if (n.timer) {
        n.timer.cancelled = true;
        n.timer = null;
      }
      n.state = next;
      if (next & NUD_REACHABLE) this.arm(n, this.reachableTime(n.dev));
    }
    if (next & NUD_VALID && n.queue.length) {
      const q = n.queue;
      n.queue = [];
      for (const pkt of q) this.xmit(n, pkt);
    }
  }

  /** Netlink neigh del / link down: drop the entry and its queue. */
  remove(n: Neighbour): void {
    if (n.timer) n.timer.cancelled = true;
    if (n.dev.neighs.get(n.ip) !== n) return;
    n.dev.neighs.delete(n.ip);
    arpTableOf<Neighbour>(this.netns.env, this.netns.node).remove(n);
  }
}

