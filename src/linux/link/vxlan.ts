/**
 * A VXLAN device (drivers/net/vxlan/vxlan_core.c) as flanneld creates it: VNI, local
 * address, lower device, dstport (kernel default 8472), learning off, ttl auto, udpcsum on,
 * outer DF clear, MTU = lower MTU - 50. Transmit looks the inner destination MAC up in the
 * device's own FDB (then the all-zeros default entry) for the remote VTEP and sends a UDP
 * datagram through this namespace's IP stack (OUTPUT and POSTROUTING hooks, route,
 * neighbour, NIC). Receive is the UDP tunnel encap_rcv hook on the bound port.
 */
import { l4Checksum, internetChecksum, udpChecksumOnWire } from '../../wire/checksum.js';
import { formatIpv4, writeIpv4, type Ipv4Addr } from '../../wire/ipv4-address.js';
import { formatMac, MAC_ZERO, readMac, type MacAddr } from '../../wire/mac-address.js';
import { tracePacketId, type PacketBuffer } from '../../wire/packet-buffer.js';
import { ipLocalOut } from '../ipv4/output.js';
import type { Netns } from '../netns.js';
import { NetlinkError } from '../errors.js';
import { NetDevice, type LinkKind } from './device.js';

export const VXLAN_HEADROOM = 50;

export interface VxlanFdbEntry {
  readonly mac: MacAddr;
  readonly dst: Ipv4Addr;
  /** `permanent` (NUD_PERMANENT), `static` (NUD_NOARP) or learned (`reachable`, printed as nothing). */
  readonly state: 'permanent' | 'static' | 'reachable';
  updated: number;
  readonly seq: number;
}

export interface VxlanConfig {
  vni: number;
  local: Ipv4Addr;
  lower: NetDevice | null;
  dstport: number;
  learning: boolean;
  /** 0 = auto (ip_default_ttl). */
  ttl: number;
  udpcsum: boolean;
  srcPortMin: number;
  srcPortMax: number;
  ageing: number;
}

export class VxlanDevice extends NetDevice {
  readonly kind: LinkKind = 'vxlan';
  readonly cfg: VxlanConfig;
  /** MAC -> remote entries (an all-zeros MAC may carry several, for flooding). */
  private readonly fdbMap = new Map<MacAddr, VxlanFdbEntry[]>();
  private fdbSeq = 0;
  private readonly hashSeed: number;

  constructor(netns: Netns, ifindex: number, name: string, mac: MacAddr, cfg: VxlanConfig) {
    super(netns, ifindex, name, cfg.lower ? cfg.lower.mtu - VXLAN_HEADROOM : 1500, mac);
    this.cfg = cfg;
    this.hashSeed = netns.rng.u32();
  }

  carrier(): boolean {
    return true;
  }

  override operstate(): 'UP' | 'DOWN' | 'UNKNOWN' | 'LOWERLAYERDOWN' {
    return this.adminUp ? 'UNKNOWN' : 'DOWN';
  }

  override onUp(): void {
    // vxlan_open -> vxlan_sock_add: one UDP socket per port, demultiplexed by VNI.
    const ns = this.netns;
    if (!ns.udpEncap.has(this.cfg.dstport)) {
      const port = this.cfg.dstport;
      ns.udpEncap.set(port, (p) => vxlanRcv(ns, port, p));
    }
  }

  override onDown(): void {
    // vxlan_stop -> vxlan_flush(do_all=false): learned entries go, permanent and static stay.
    for (const [m, l] of this.fdbMap) {
      const keep = l.filter((e) => e.state !== 'reachable');
      if (keep.length) this.fdbMap.set(m, keep);
      else this.fdbMap.delete(m);
    }
    const ns = this.netns;
    const others = ns.devicesInOrder().some((d) => d !== this && d instanceof VxlanDevice && d.adminUp && d.cfg.dstport === this.cfg.dstport);
    if (!others) ns.udpEncap.delete(this.cfg.dstport);
  }

  // ---- FDB (bridge fdb ... dev vxlan self) -------------------------------------------

  fdbAppend(mac: MacAddr, dst: Ipv4Addr, state: VxlanFdbEntry['state']): void {
    const l = this.fdbMap.get(mac) ?? [];
    if (l.some((e) => e.dst === dst)) throw new NetlinkError('RTNETLINK answers: File exists');
    l.push({ mac, dst, state, updated: this.netns.clock.now, seq: this.fdbSeq++ });
    this.fdbMap.set(mac, l);
  }

  fdbReplace(mac: MacAddr, dst: Ipv4Addr, state: VxlanFdbEntry['state']): void {
    this.fdbMap.set(mac, [{ mac, dst, state, updated: this.netns.clock.now, seq: this.fdbSeq++ }]);
  }

  fdbDel(mac: MacAddr, dst?: Ipv4Addr): void {
    const l = this.fdbMap.get(mac);
    if (!l) throw new NetlinkError('RTNETLINK answers: No such file or directory');
    const keep = dst === undefined ? [] : l.filter((e) => e.dst !== dst);
    if (keep.length === l.length) throw new NetlinkError('RTNETLINK answers: No such file or directory');
    if (keep.length) this.fdbMap.set(mac, keep);
    else this.fdbMap.delete(mac);
  }

  fdbLookup(mac: MacAddr): readonly VxlanFdbEntry[] | undefined {
    return this.fdbMap.get(mac);
  }

  /** `bridge fdb show` lines, newest first. */
  fdbLines(): string[] {
    const all = [...this.fdbMap.values()].flat().sort((a, b) => b.seq - a.seq);
    return all.map((e) => `${formatMac(e.mac)} dev ${this.name} dst ${formatIpv4(e.dst)} self ${e.state === 'reachable' ? '' : e.state}`);
  }

  learn(mac: MacAddr, from: Ipv4Addr): void {
    const l = this.fdbMap.get(mac);
    if (l && l.length) {
      const e = l[0]!;
      if (e.state !== 'reachable') return;
      if (e.dst === from) {
        e.updated = this.netns.clock.now;
        return;
      }
    }
    this.fdbMap.set(mac, [{ mac, dst: from, state: 'reachable', updated: this.netns.clock.now, seq: this.fdbSeq++ }]);
  }

  // ---- transmit ------------------------------------------------------------------------

  startXmit(p: PacketBuffer): void {
    const ns = this.netns;
    const b = p.buf;
    const dstMac = readMac(b, p.head);
    let rs = this.fdbMap.get(dstMac);
    if (rs === undefined) rs = this.fdbMap.get(MAC_ZERO);
    ns.trace?.record({ kind: 'linux.fdb', time: ns.clock.now, node: ns.node, netns: ns.netns, dev: this.name, step: 'vxlan_xmit', entry: rs && rs.length ? this.fdbLineOf(rs[0]!) : null, mac: formatMac(dstMac), verdict: rs ? 'ENCAP' : 'DROP', packet: tracePacketId(p) });
    if (rs === undefined || rs.length === 0) return;
    for (let i = 0; i < rs.length; i++) {
      const e = rs[i]!;
      if (e.state === 'reachable' && ns.clock.now - e.updated > this.cfg.ageing * 1e9) continue;
      this.encap(i === rs.length - 1 ? p : p.clone(), e.dst);
    }
  }

  private fdbLineOf(e: VxlanFdbEntry): string {
    return `${formatMac(e.mac)} dev ${this.name} dst ${formatIpv4(e.dst)} self ${e.state === 'reachable' ? '' : e.state}`;
  }

  /** udp_flow_src_port over a hash of the inner flow. */
  private srcPort(b: Uint8Array, o: number, end: number): number {
    let h = this.hashSeed;
    if (b[o + 12] === 0x08 && b[o + 13] === 0x00 && end - o >= 34) {
      const ip = o + 14;
      h = mix(h, (b[ip + 12]! << 24) | (b[ip + 13]! << 16) | (b[ip + 14]! << 8) | b[ip + 15]!);
      h = mix(h, (b[ip + 16]! << 24) | (b[ip + 17]! << 16) | (b[ip + 18]! << 8) | b[ip + 19]!);
      const proto = b[ip + 9]!;
      h = mix(h, proto);
      const l4 = ip + (b[ip]! & 15) * 4;
      if ((proto === 6 || proto === 17) && end - l4 >= 4) h = mix(h, (b[l4]! << 24) | (b[l4 + 1]! << 16) | (b[l4 + 2]! << 8) | b[l4 + 3]!);
    } else {
      for (let i = 0; i < 12; i += 4) h = mix(h, (b[o + i]! << 24) | (b[o + i + 1]! << 16) | (b[o + i + 2]! << 8) | b[o + i + 3]!);
    }
    h = fmix(h);
    h = (h ^ (h << 16)) >>> 0;
    const min = this.cfg.srcPortMin;
    const max = this.cfg.srcPortMax;
    return min + Math.floor((h * (max - min)) / 0x100000000);
  }

  private encap(p: PacketBuffer, remote: Ipv4Addr): void {
    const ns = this.netns;
    const innerLen = p.end - p.head;
    const sport = this.srcPort(p.buf, p.head, p.end);
    let src = this.cfg.local;
    if (!src) {
      const r = ns.fibLookup(remote);
      if (!r) return;
      src = ns.routeSource(r, remote);
    }
    const vx = p.push(8);
    const udp = p.push(8);
    const ip = p.push(20);
    const b = p.buf;
    b[vx] = 0x08;
    b[vx + 1] = 0;
    b[vx + 2] = 0;
    b[vx + 3] = 0;
    const vni = this.cfg.vni;
    b[vx + 4] = (vni >>> 16) & 255;
    b[vx + 5] = (vni >>> 8) & 255;
    b[vx + 6] = vni & 255;
    b[vx + 7] = 0;
    const ulen = innerLen + 16;
    b[udp] = sport >>> 8;
    b[udp + 1] = sport & 255;
    b[udp + 2] = this.cfg.dstport >>> 8;
    b[udp + 3] = this.cfg.dstport & 255;
    b[udp + 4] = ulen >>> 8;
    b[udp + 5] = ulen & 255;
    b[udp + 6] = 0;
    b[udp + 7] = 0;
    if (this.cfg.udpcsum) {
      const c = udpChecksumOnWire(l4Checksum(b, udp, ulen, src, remote, 17));
      b[udp + 6] = c >>> 8;
      b[udp + 7] = c & 255;
    }
    const tot = ulen + 20;
    const id = ns.selectIdent(remote, 17);
    b[ip] = 0x45;
    b[ip + 1] = 0;
    b[ip + 2] = tot >>> 8;
    b[ip + 3] = tot & 255;
    b[ip + 4] = id >>> 8;
    b[ip + 5] = id & 255;
    b[ip + 6] = 0; // DF clear: the vxlan device has df unset
    b[ip + 7] = 0;
    b[ip + 8] = this.cfg.ttl || ns.sysctl_.defaultTtl;
    b[ip + 9] = 17;
    b[ip + 10] = 0;
    b[ip + 11] = 0;
    writeIpv4(b, ip + 12, src);
    writeIpv4(b, ip + 16, remote);
    const hc = internetChecksum(b, ip, 20);
    b[ip + 10] = hc >>> 8;
    b[ip + 11] = hc & 255;
    p.network = ip;
    p.transport = udp;
    // iptunnel_xmit -> skb_scrub_packet: the outer datagram gets its own conntrack entry.
    p.ct = null;
    p.ctinfo = 0;
    ipLocalOut(ns, p, this.cfg.lower?.ifindex ?? 0);
  }
}

/** vxlan_rcv: `p.transport` at the outer UDP header, `p.head` there too. Consumes the packet. */
function vxlanRcv(ns: Netns, port: number, p: PacketBuffer): boolean {
  const b = p.buf;
  const udp = p.transport;
  if (p.end - udp < 16 + 14) return true;
  if (!(b[udp + 8]! & 0x08)) return true;
  const vni = (b[udp + 12]! << 16) | (b[udp + 13]! << 8) | b[udp + 14]!;
  let dev: VxlanDevice | null = null;
  for (const d of ns.vxlans) if (d.cfg.dstport === port && d.cfg.vni === vni && d.adminUp) dev = d;
  if (dev === null) return true;
  const inner = udp + 16;
  if (dev.cfg.learning) {
    const saddr = ((b[p.network + 12]! << 24) | (b[p.network + 13]! << 16) | (b[p.network + 14]! << 8) | b[p.network + 15]!) >>> 0;
    dev.learn(readMac(b, inner + 6), saddr as Ipv4Addr);
  }
  p.head = inner;
  p.network = -1;
  p.transport = -1;
  // skb_scrub_packet(skb, xnet=false): the outer packet's conntrack goes, the mark stays.
  p.ct = null;
  p.ctinfo = 0;
  dev.netifReceive(p);
  return true;
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
