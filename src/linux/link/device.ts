/**
 * struct net_device: what every link has. Datapath entry points are plain function fields
 * (`queueXmit` = dev_queue_xmit, `netifReceive` = netif_receive_skb) so capture and trace
 * can wrap a device by replacing them, and the datapath never asks whether it is traced.
 */
import type { MacAddr } from '../../wire/mac-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import type { NetDeviceInfo } from '../ip-layer.js';
import type { Netns } from '../netns.js';
import type { BridgeDevice, BridgePort } from './bridge.js';
import type { Neighbour } from '../neigh.js';
import type { InAddr } from '../addr.js';
import type { Ipv4Addr } from '../../wire/ipv4-address.js';

export type LinkKind = 'loopback' | 'veth' | 'bridge' | 'vxlan' | 'dummy' | 'nic';

/** Per-device IPv4 sysctls (net.ipv4.conf.<dev>.*) that the datapath reads. */
export interface DevConf {
  forwarding: number;
  rp_filter: number;
  proxy_arp: number;
  arp_ignore: number;
  arp_announce: number;
  route_localnet: number;
  accept_local: number;
  send_redirects: number;
  arp_notify: number;
  /** net.ipv4.neigh.<dev>.proxy_delay, in USER_HZ (centiseconds). */
  proxy_delay: number;
}

export abstract class NetDevice implements NetDeviceInfo {
  abstract readonly kind: LinkKind;
  ifindex: number;
  name: string;
  netns: Netns;
  mtu: number;
  mac: MacAddr;
  /** IFF_UP (administrative state). */
  adminUp = false;
  /** Set explicitly with `address` (bridges then stop following their ports). */
  macSet = false;
  master: BridgeDevice | null = null;
  brport: BridgePort | null = null;
  /** dev->mc list as `bridge fdb show` prints it (`self permanent` entries). */
  mcList: MacAddr[] = [];
  txqlen = 1000;
  /** dev->promiscuity: a packet socket (tcpdump) listening in promiscuous mode counts one. */
  promiscuity = 0;
  /** in_device->ifa_list: primaries first, then secondaries, as the kernel keeps them. */
  inAddrs: InAddr[] = [];
  /** ARP neighbours on this device. */
  readonly neighs = new Map<Ipv4Addr, Neighbour>();
  conf: DevConf;
  /** rx/tx packet and byte counters (ip -s link). */
  rxPackets = 0;
  txPackets = 0;
  rxBytes = 0;
  txBytes = 0;

  /** dev_queue_xmit: the frame starts at `packet.head` (Ethernet header). */
  queueXmit: (packet: PacketBuffer) => void;
  /** netif_receive_skb: a frame arrives on this device. */
  netifReceive: (packet: PacketBuffer) => void;

  constructor(netns: Netns, ifindex: number, name: string, mtu: number, mac: MacAddr) {
    this.netns = netns;
    this.ifindex = ifindex;
    this.name = name;
    this.mtu = mtu;
    this.mac = mac;
    this.conf = netns.sysctl_.newDevConf();
    this.queueXmit = (p) => {
      this.txPackets++;
      this.txBytes += p.end - p.head;
      this.startXmit(p);
    };
    this.netifReceive = (p) => {
      this.rxPackets++;
      this.rxBytes += p.end - p.head;
      this.netns.receive(this, p);
    };
  }

  /** ndo_start_xmit: the driver. */
  abstract startXmit(packet: PacketBuffer): void;

  /** netif_carrier_ok. */
  abstract carrier(): boolean;

  /** IFF_NOARP: neighbours on this device need no resolution. */
  get noarp(): boolean {
    return false;
  }

  /** IFF_LOWER_UP as `ip link` prints it. */
  lowerUp(): boolean {
    return this.adminUp && this.carrier();
  }

  /** IFLA_OPERSTATE as iproute2 prints it (`state X`). */
  operstate(): 'UP' | 'DOWN' | 'UNKNOWN' | 'LOWERLAYERDOWN' {
    if (!this.adminUp) return 'DOWN';
    return this.carrier() ? 'UP' : 'DOWN';
  }

  /** ARPHRD type for `link/<type>`. */
  get linkType(): 'ether' | 'loopback' {
    return 'ether';
  }

  /** Called when the device comes up (dev_open): join the groups the kernel joins. */
  onUp(): void {
    if (this.linkType === 'ether') {
      // ip_mc_up joins 224.0.0.1 (01:00:5e:00:00:01) on NETDEV_UP; ipv6 joined ff02::1 at register.
      this.mcAdd(0x01005e000001 as MacAddr);
    }
  }

  onDown(): void {
    const i = this.mcList.indexOf(0x01005e000001 as MacAddr);
    if (i >= 0) this.mcList.splice(i, 1);
  }

  mcAdd(m: MacAddr): void {
    if (!this.mcList.includes(m)) this.mcList.push(m);
  }
}
