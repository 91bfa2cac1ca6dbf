/** The loopback device (drivers/net/loopback.c): ifindex 1, MTU 65536, no ARP; xmit is receive. */
import { MAC_ZERO } from '../../wire/mac-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import type { Netns } from '../netns.js';
import { DELAY } from '../timing.js';
import { NetDevice, type LinkKind } from './device.js';

export class LoopbackDevice extends NetDevice {
  readonly kind: LinkKind = 'loopback';
  constructor(netns: Netns, ifindex: number) {
    super(netns, ifindex, 'lo', 65536, MAC_ZERO);
  }
  override get linkType(): 'loopback' {
    return 'loopback';
  }
  override get noarp(): boolean {
    return true;
  }
  carrier(): boolean {
    return true;
  }
  override operstate(): 'UP' | 'DOWN' | 'UNKNOWN' | 'LOWERLAYERDOWN' {
    return this.adminUp ? 'UNKNOWN' : 'DOWN';
  }
  startXmit(p: PacketBuffer): void {
    // loopback_xmit -> netif_rx: the packet comes back in on lo in a later softirq.
    this.netns.clock.schedule(DELAY.loopback, () => this.netifReceive(p));
  }
}
