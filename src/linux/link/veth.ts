/**
 * A veth pair (drivers/net/veth.c): what one end transmits the other receives, unchanged,
 * a moment later. The ends may live in different namespaces; `ip link` shows the peer's
 * ifindex (`eth0@if52`) and, across namespaces, `link-netns`.
 */
import type { MacAddr } from '../../wire/mac-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import type { Netns } from '../netns.js';
import { DELAY } from '../timing.js';
import { NetDevice, type LinkKind } from './device.js';

export class VethDevice extends NetDevice {
  readonly kind: LinkKind = 'veth';
  peer!: VethDevice;

  constructor(netns: Netns, ifindex: number, name: string, mac: MacAddr) {
    super(netns, ifindex, name, 1500, mac);
  }

  carrier(): boolean {
    return this.peer.adminUp;
  }

  override onDown(): void {
    super.onDown();
    // The other end loses its carrier.
    if (this.peer.adminUp) this.peer.netns.carrierDown(this.peer);
  }

  override operstate(): 'UP' | 'DOWN' | 'UNKNOWN' | 'LOWERLAYERDOWN' {
    if (!this.adminUp) return 'DOWN';
    return this.peer.adminUp ? 'UP' : 'LOWERLAYERDOWN';
  }

  startXmit(p: PacketBuffer): void {
    if (!this.peer.adminUp) return;
    const peer = this.peer;
    // __dev_forward_skb -> skb_scrub_packet: conntrack always dropped, the mark when crossing namespaces.
    p.ct = null;
    p.ctinfo = 0;
    if (peer.netns !== this.netns) p.mark = 0;
    this.netns.clock.schedule(DELAY.veth, () => peer.netifReceive(p));
  }
}
