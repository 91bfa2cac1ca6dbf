/**
 * An underlay L2 segment: a learning switch joining the physical NICs of nodes and
 * external hosts. Unknown and broadcast destinations are flooded; frames arrive after a
 * fixed wire delay.
 */
import type { EventQueue } from '../../sim/event-queue.js';
import type { MacAddr } from '../../wire/mac-address.js';
import type { PacketBuffer } from '../../wire/packet-buffer.js';
import { DELAY } from '../timing.js';
import type { NicDevice } from './nic.js';

export class Segment {
  readonly name: string;
  readonly ports: NicDevice[] = [];
  private readonly fdb = new Map<MacAddr, NicDevice>();
  private readonly clock: EventQueue;

  constructor(clock: EventQueue, name: string) {
    this.clock = clock;
    this.name = name;
  }

  attach(nic: NicDevice): void {
    if (!this.ports.includes(nic)) this.ports.push(nic);
  }

  detach(nic: NicDevice): void {
    const i = this.ports.indexOf(nic);
    if (i >= 0) this.ports.splice(i, 1);
    for (const [m, n] of this.fdb) if (n === nic) this.fdb.delete(m);
  }

  transmit(from: NicDevice, p: PacketBuffer): void {
    const b = p.buf;
    const o = p.head;
    const src = macAt(b, o + 6);
    if (!(b[o + 6]! & 1)) this.fdb.set(src, from);
    if (!(b[o]! & 1)) {
      const to = this.fdb.get(macAt(b, o));
      if (to !== undefined) {
        if (to !== from) this.clock.schedule(DELAY.wire, () => to.netifReceive(p));
        return;
      }
    }
    let last: NicDevice | null = null;
    for (const n of this.ports) {
      if (n === from) continue;
      if (last) {
        const l = last;
        const c = p.clone();
        this.clock.schedule(DELAY.wire, () => l.netifReceive(c));
      }
      last = n;
    }
    if (last) {
      const l = last;
      this.clock.schedule(DELAY.wire, () => l.netifReceive(p));
    }
  }
}

function macAt(b: Uint8Array, o: number): MacAddr {
  return ((((b[o]! << 8) | b[o + 1]!) * 0x100000000) + (((b[o + 2]! << 24) | (b[o + 3]! << 16) | (b[o + 4]! << 8) | b[o + 5]!) >>> 0)) as MacAddr;
}
