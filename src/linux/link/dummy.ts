/** The dummy device (drivers/net/dummy.c): NOARP, always has carrier, eats what it is given. kube-ipvs0 is one. */
import type { MacAddr } from '../../wire/mac-address.js';
import { tracePacketId, type PacketBuffer } from '../../wire/packet-buffer.js';
import type { Netns } from '../netns.js';
import { NetDevice, type LinkKind } from './device.js';

export class DummyDevice extends NetDevice {
  readonly kind: LinkKind = 'dummy';
  constructor(netns: Netns, ifindex: number, name: string, mac: MacAddr) {
    super(netns, ifindex, name, 1500, mac);
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
    this.netns.trace?.record({ kind: 'linux.drop', time: this.netns.clock.now, node: this.netns.node, netns: this.netns.netns, dev: this.name, step: 'dummy_xmit', reason: 'DUMMY', packet: tracePacketId(p) });
  }
}
