/** A physical NIC cabled to an underlay Segment. */
import type { MacAddr } from '../../wire/mac-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import type { Netns } from '../netns.js';
import { NetDevice, type LinkKind } from './device.js';
import type { Segment } from './segment.js';

export class NicDevice extends NetDevice {
  readonly kind: LinkKind = 'nic';
  segment: Segment | null = null;

  constructor(netns: Netns, ifindex: number, name: string, mac: MacAddr) {
    super(netns, ifindex, name, 1500, mac);
  }

  carrier(): boolean {
    return this.segment !== null;
  }

  attach(seg: Segment): void {
    this.segment?.detach(this);
    this.segment = seg;
    seg.attach(this);
  }

  startXmit(p: PacketBuffer): void {
    // Leaving the machine: nothing of this host's skb state travels with the bytes.
    p.ct = null;
    p.ctinfo = 0;
    p.mark = 0;
    this.segment?.transmit(this, p);
  }
}
