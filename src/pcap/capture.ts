/**
 * The capture tap. A link wrapper (later, in linux/) calls `frame` for every frame it sees
 * go in or out of a device; the datapath never asks whether capture is on (STYLE.md 4).
 *
 * - `ifaceName`: `node/netns/dev`, e.g. `192.168.4.88/root/flannel.1`.
 * - `timeNs`: simulated time in nanoseconds (EventQueue.now), a non-negative integer.
 * - `bytes`: the whole Ethernet frame as it is on the wire (no FCS). Only read during the
 *   call, so a PacketBuffer view can be passed without copying.
 * - `direction`: 'in' = received by the device, 'out' = transmitted by it.
 * - `comment`: optional per-frame note, e.g. the step that handled it.
 * - `packet`: optional trace number of the packet (the same on every device it crosses), for
 *   printers that group a trace by packet.
 */
export interface CaptureSink {
  frame(ifaceName: string, timeNs: number, bytes: Uint8Array, direction: Direction, comment?: string, packet?: number): void;
}

export type Direction = 'in' | 'out';

/** Passes only frames on interfaces `keep` accepts; e.g. one device into a classic pcap. */
export function filterCapture(sink: CaptureSink, keep: (ifaceName: string) => boolean): CaptureSink {
  return {
    frame(ifaceName, timeNs, bytes, direction, comment, packet) {
      if (!keep(ifaceName)) return;
      if (comment === undefined && packet === undefined) sink.frame(ifaceName, timeNs, bytes, direction);
      else sink.frame(ifaceName, timeNs, bytes, direction, comment, packet);
    },
  };
}
