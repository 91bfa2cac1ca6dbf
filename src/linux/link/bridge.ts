/**
 * The Linux bridge (net/bridge): ports, FDB learning and ageing, flooding of broadcast,
 * multicast and unknown unicast, `hairpin` per port, STP off (ports forward at once), the
 * bridge MAC following the lowest port MAC unless set, and br_netfilter: with
 * bridge-nf-call-iptables=1 an IPv4 frame entering a port runs the iptables PREROUTING
 * hooks at bridge level (in = bridge, physdev = port), bridged frames run FORWARD and
 * POSTROUTING (out = bridge, physdev-out = port), a DNAT to an address behind the same
 * bridge stays layer 2 ("bridged DNAT", no TTL decrement), and frames handed up to IP skip
 * the IP-level PREROUTING (ip_sabotage_in).
 */
import { NF_ACCEPT } from '../../netfilter/hooks.js';
import { readIpv4 } from '../../wire/ipv4-address.js';
import { formatMac, readMac, writeMac, type MacAddr } from '../../wire/mac-address.js';
import { PacketBuffer, tracePacketId } from '../../wire/packet-buffer.js';
import { BridgeFdb, formatBridgeFdb } from '../fdb.js';
import { runHooks } from '../hooks.js';
import { NUD_CONNECTED } from '../neigh.js';
import type { Netns } from '../netns.js';
import { NetlinkError } from '../errors.js';
import { NetDevice, type LinkKind } from './device.js';

export interface BridgePort {
  readonly bridge: BridgeDevice;
  readonly dev: NetDevice;
  readonly portNo: number;
  hairpin: boolean;
  learning: boolean;
  flood: boolean;
  /** Simulated time the port started forwarding (for forward_delay_timer in `ip -d link`). */
  since: number;
}

export class BridgeDevice extends NetDevice {
  readonly kind: LinkKind = 'bridge';
  readonly ports: BridgePort[] = [];
  readonly fdb = new BridgeFdb();
  /** BROPT_MTU_SET_BY_USER: once `mtu` was set, ports no longer change it. */
  mtuSetByUser = false;
  /** BROPT_NF_CALL_IPTABLES (`ip link set br type bridge nf_call_iptables 1`). */
  nfCallIptables = false;
  readonly created: number;
  private ownMac: MacAddr;

  constructor(netns: Netns, ifindex: number, name: string, mac: MacAddr) {
    super(netns, ifindex, name, 1500, mac);
    this.ownMac = mac;
    this.created = netns.clock.now;
    this.fdb.addLocal(mac, null, netns.clock.now);
  }

  /**
   * Whether br_port_state_selection has run (a port added or removed, the address set, at
   * creation too): only then does the carrier follow the ports.
   */
  private stateSelected = false;

  carrier(): boolean {
    // A bridge nothing has touched keeps the carrier it was registered with (on), as the
    // kernel this is checked against (6.18) shows: UNKNOWN, LOWER_UP. Afterwards no live
    // port means no carrier (docker0, created with its address, is NO-CARRIER).
    if (!this.stateSelected) return true;
    for (const p of this.ports) if (p.dev.adminUp && p.dev.carrier()) return true;
    return false;
  }

  override operstate(): 'UP' | 'DOWN' | 'UNKNOWN' | 'LOWERLAYERDOWN' {
    if (!this.adminUp) return 'DOWN';
    if (!this.stateSelected) return 'UNKNOWN';
    return this.carrier() ? 'UP' : 'DOWN';
  }

  override onUp(): void {
    // br_multicast_open joins the multicast router discovery groups (224.0.0.106, ff02::6a).
    this.mcAdd(0x01005e00006a as MacAddr);
    this.mcAdd(0x33330000006a as MacAddr);
    super.onUp();
  }

  addPort(dev: NetDevice): BridgePort {
    if (dev.master) throw new NetlinkError(`Error: Device is already a member of a bridge.`);
    let no = 1;
    while (this.ports.some((p) => p.portNo === no)) no++;
    const port: BridgePort = { bridge: this, dev, portNo: no, hairpin: false, learning: true, flood: true, since: this.netns.clock.now };
    this.ports.push(port);
    this.stateSelected = true;
    dev.master = this;
    dev.brport = port;
    this.fdb.addLocal(dev.mac, dev, this.netns.clock.now);
    // br_add_if: the bridge MTU drops to the smallest port MTU unless set; the MAC follows the lowest port MAC.
    this.mtuAutoAdjust();
    this.recalcMac();
    return port;
  }

  delPort(dev: NetDevice): void {
    const i = this.ports.findIndex((p) => p.dev === dev);
    if (i < 0) return;
    this.ports.splice(i, 1);
    this.stateSelected = true;
    dev.master = null;
    dev.brport = null;
    this.fdb.flushPort(dev);
    this.mtuAutoAdjust();
    this.recalcMac();
  }

  /** br_mtu_auto_adjust: the smallest port MTU (1500 without ports), unless the user set one. */
  mtuAutoAdjust(): void {
    if (this.mtuSetByUser) return;
    let min = 0;
    for (const p of this.ports) if (!min || p.dev.mtu < min) min = p.dev.mtu;
    this.mtu = min || 1500;
  }

  setMac(mac: MacAddr): void {
    this.macSet = true;
    this.stateSelected = true;
    this.changeMac(mac);
  }

  /** br_stp_recalculate_bridge_id: lowest port MAC unless the address was set. */
  recalcMac(): void {
    if (this.macSet) return;
    let best: MacAddr | null = null;
    for (const p of this.ports) if (best === null || p.dev.mac < best) best = p.dev.mac;
    // br_stp_recalculate_bridge_id: with no port left the bridge id, and the address, is zero.
    this.changeMac(best ?? (this.ports.length === 0 && this.stateSelected ? (0 as MacAddr) : this.ownMac));
  }

  private changeMac(mac: MacAddr): void {
    if (mac === this.mac) return;
    const now = this.netns.clock.now;
    this.fdb.delete(this.mac, (f) => f.isLocal && f.port === null);
    this.mac = mac;
    if (!this.fdb.get(mac, now)) this.fdb.addLocal(mac, null, now);
  }

  /**
   * Frames of a bridged DNAT waiting for the neighbour: the ingress port and the saved
   * source MAC (nf_bridge->neigh_header, bridged_dnat).
   */
  private readonly bridgedDnat = new WeakMap<PacketBuffer, { port: BridgePort; src: MacAddr }>();

  /** br_dev_xmit: the host sends through the bridge; no learning, no br_netfilter. */
  startXmit(p: PacketBuffer): void {
    const b = p.buf;
    const o = p.head;
    const pending = this.bridgedDnat.get(p);
    if (pending !== undefined) {
      // br_nf_pre_routing_finish_bridge_slow: restore the client's MAC and keep bridging.
      this.bridgedDnat.delete(p);
      writeMac(b, o + 6, pending.src);
      this.forwardFrame(pending.port, p, true);
      return;
    }
    if (b[o]! & 1) {
      this.flood(p, null);
      return;
    }
    const dst = readMac(b, o);
    const f = this.fdb.get(dst, this.netns.clock.now);
    this.netns.trace?.record({ kind: 'linux.fdb', time: this.netns.clock.now, node: this.netns.node, netns: this.netns.netns, dev: this.name, step: 'br_dev_xmit', entry: f ? formatBridgeFdb(f, this) : null, mac: formatMac(dst), verdict: f ? 'FORWARD' : 'FLOOD', packet: tracePacketId(p) });
    if (f === undefined) this.flood(p, null);
    else if (f.port !== null) f.port.queueXmit(p);
  }

  private flood(p: PacketBuffer, from: BridgePort | null): void {
    let last: BridgePort | null = null;
    for (const port of this.ports) {
      if (port === from && !port.hairpin) continue;
      if (!port.flood || !port.dev.adminUp) continue;
      if (last) last.dev.queueXmit(p.clone());
      last = port;
    }
    if (last) last.dev.queueXmit(p);
  }

  /** Hands a frame up to the host on the bridge device (br_pass_frame_up); IP drops it unless it is for this host. */
  private passUp(p: PacketBuffer): void {
    this.netifReceive(p);
  }

  /** br_handle_frame + br_handle_frame_finish: a frame arrived on `port`. */
  handleFrame(port: BridgePort, p: PacketBuffer): void {
    const netns = this.netns;
    if (!this.adminUp) return;
    const b = p.buf;
    const o = p.head;
    if (p.end - o < 14) return;
    if (b[o + 6]! & 1) return; // multicast source: dropped (br_handle_frame)
    const now = netns.clock.now;
    const src = readMac(b, o + 6);
    if (port.learning) this.fdb.learn(src, port.dev, now);
    const isIp = b[o + 12] === 0x08 && b[o + 13] === 0x00;
    if (isIp && (netns.sysctl_.bridgeNfCallIptables || this.nfCallIptables)) {
      this.brNfPreRouting(port, p);
      return;
    }
    this.forwardFrame(port, p, false);
  }

  /** br_handle_frame_finish after PREROUTING: local, forward by FDB, or flood. */
  private forwardFrame(port: BridgePort, p: PacketBuffer, nf: boolean): void {
    const b = p.buf;
    const o = p.head;
    const netns = this.netns;
    const now = netns.clock.now;
    if (b[o]! & 1) {
      // Broadcast and multicast: flooded to the other ports and passed up to the host.
      netns.trace?.record({ kind: 'linux.fdb', time: now, node: netns.node, netns: netns.netns, dev: this.name, step: 'br_handle_frame', entry: null, mac: formatMac(readMac(b, o)), verdict: 'FLOOD', packet: tracePacketId(p) });
      const up = p.clone();
      this.floodFrom(port, p, nf);
      if (nf) {
        netns.brnfDone = up;
        netns.brnfPhysIn = port.dev.name;
      }
      this.passUp(up);
      return;
    }
    const dst = readMac(b, o);
    const f = this.fdb.get(dst, now);
    netns.trace?.record({ kind: 'linux.fdb', time: now, node: netns.node, netns: netns.netns, dev: this.name, step: 'br_handle_frame', entry: f ? formatBridgeFdb(f, this) : null, mac: formatMac(dst), verdict: f ? (f.isLocal ? 'LOCAL' : 'FORWARD') : 'FLOOD', packet: tracePacketId(p) });
    if (f !== undefined && f.isLocal) {
      if (nf) {
        netns.brnfDone = p;
        netns.brnfPhysIn = port.dev.name;
      }
      this.passUp(p);
      return;
    }
    // A promiscuous bridge (tcpdump on it) also gets every frame it forwards; the host drops it
    // as PACKET_OTHERHOST without touching the bytes, so a view sharing them will do, unless
    // br_netfilter's hooks may rewrite them first (the kernel's clone is copied on write).
    const copy = this.promiscuity > 0 ? (nf ? p.clone() : new PacketBuffer(p.buf, p.head, p.end)) : null;
    if (f === undefined) this.floodFrom(port, p, nf);
    else {
      const out = f.port!.brport!;
      // should_deliver: no hairpin, no way back out of the ingress port.
      if (out !== port || port.hairpin) this.deliverPort(port, out, p, nf);
    }
    if (copy !== null) this.passUp(copy);
  }

  private floodFrom(port: BridgePort, p: PacketBuffer, nf: boolean): void {
    let last: BridgePort | null = null;
    for (const q of this.ports) {
      if ((q === port && !q.hairpin) || !q.flood || !q.dev.adminUp) continue;
      if (last) this.deliverPort(port, last, p.clone(), nf);
      last = q;
    }
    if (last) this.deliverPort(port, last, p, nf);
  }

  /** br_forward: FORWARD and POSTROUTING at bridge level when br_netfilter applies, then out the port. */
  private deliverPort(from: BridgePort, to: BridgePort, p: PacketBuffer, nf: boolean): void {
    if (nf) {
      const netns = this.netns;
      p.head += 14;
      p.network = p.head;
      const fwd = netns.hooks.FORWARD;
      if (fwd.length && runHooks(netns, fwd, 'FORWARD', p, this.name, this.name, from.dev.name, to.dev.name) !== NF_ACCEPT) return;
      const post = netns.hooks.POSTROUTING;
      if (post.length && runHooks(netns, post, 'POSTROUTING', p, null, this.name, null, to.dev.name) !== NF_ACCEPT) return;
      p.head -= 14;
    }
    to.dev.queueXmit(p);
  }

  /** br_nf_pre_routing and br_nf_pre_routing_finish. */
  private brNfPreRouting(port: BridgePort, p: PacketBuffer): void {
    const netns = this.netns;
    const o = p.head;
    const ip = o + 14;
    if (p.end - ip < 20) return;
    const daddr = readIpv4(p.buf, ip + 16);
    const pre = netns.hooks.PREROUTING;
    if (pre.length) {
      p.head = ip;
      p.network = ip;
      const v = runHooks(netns, pre, 'PREROUTING', p, this.name, null, port.dev.name, null);
      p.head = o;
      if (v !== NF_ACCEPT) return;
    }
    const newDaddr = readIpv4(p.buf, ip + 16);
    if (newDaddr !== daddr) {
      // DNAT happened: route the new destination.
      const r = netns.fibLookup(newDaddr);
      if (r && r.type === 'unicast' && r.dev === this) {
        // Bridged DNAT: stay layer 2; the destination MAC comes from the bridge's neighbour entry.
        const nh = r.via || newDaddr;
        const n = netns.neigh.lookup(this, nh);
        if (n && n.state & NUD_CONNECTED && n.lladdr !== null) {
          writeMac(p.buf, o, n.lladdr);
          this.forwardFrame(port, p, true);
        } else {
          // Through the neighbour (ARP if needed); br_dev_xmit then restores the source MAC and bridges on.
          this.bridgedDnat.set(p, { port, src: readMac(p.buf, o + 6) });
          p.head = ip;
          netns.neigh.output(this, nh, p, null);
        }
        return;
      }
      // Routed elsewhere: hand up to IP with the bridge's MAC as destination.
      writeMac(p.buf, o, this.mac);
      netns.brnfDone = p;
      netns.brnfPhysIn = port.dev.name;
      this.passUp(p);
      return;
    }
    this.forwardFrame(port, p, true);
  }

  /** `bridge fdb show` lines of entries on `dev` (a port, or the bridge itself). */
  fdbLines(dev: NetDevice): string[] {
    const now = this.netns.clock.now;
    return this.fdb
      .entries(now)
      .filter((f) => (f.port ?? this) === dev)
      .map((f) => formatBridgeFdb(f, this));
  }

  /** bridge_id as iproute2 prints it: `8000.8a:8:2c:e:a9:78`. */
  bridgeId(): string {
    return `8000.${formatMac(this.mac).split(':').map((x) => parseInt(x, 16).toString(16)).join(':')}`;
  }
}
