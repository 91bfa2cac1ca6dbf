/**
 * __netif_receive_skb_core: a frame arrives on a device. A bridge port hands it to its
 * bridge (the rx_handler); otherwise eth_type_trans classifies it (PACKET_HOST, BROADCAST,
 * MULTICAST, OTHERHOST) and the EtherType picks ip_rcv or arp_rcv.
 */
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import { arpRcv } from '../arp.js';
import { ipRcv } from '../ipv4/rcv.js';
import type { Netns } from '../netns.js';
import type { NetDevice } from './device.js';

export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;

/** eth_type_trans: how the destination MAC at `o` relates to `dev`. */
export function pktTypeOf(b: Uint8Array, o: number, dev: NetDevice): number {
  if (b[o]! & 1) {
    return b[o] === 0xff && b[o + 1] === 0xff && b[o + 2] === 0xff && b[o + 3] === 0xff && b[o + 4] === 0xff && b[o + 5] === 0xff
      ? PACKET_BROADCAST
      : PACKET_MULTICAST;
  }
  const m = dev.mac;
  const hi = Math.floor(m / 0x100000000);
  const lo = m >>> 0;
  if (b[o] === hi >>> 8 && b[o + 1] === (hi & 255) && ((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0 === lo) return PACKET_HOST;
  return PACKET_OTHERHOST;
}

export function linuxReceive(netns: Netns, dev: NetDevice, p: PacketBuffer): void {
  if (!dev.adminUp) return;
  const port = dev.brport;
  if (port !== null) {
    port.bridge.handleFrame(port, p);
    return;
  }
  const b = p.buf;
  const o = p.head;
  if (p.end - o < 14) return;
  p.mac = o;
  const type = dev.linkType === 'loopback' ? 0 : pktTypeOf(b, o, dev);
  const eth = (b[o + 12]! << 8) | b[o + 13]!;
  p.head = o + 14;
  if (eth === 0x0800) ipRcv(netns, dev, p, type);
  else if (eth === 0x0806) arpRcv(netns, dev, p, type);
}
