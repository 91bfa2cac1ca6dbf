// Merges the per-interface kernel captures into one pcapng, interfaces named as the model
// names them (`node/netns/dev`), in kernel timestamp order.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileSink } from '../pcap/file-sink.js';
import { PcapngWriter } from '../pcap/pcapng-writer.js';
import type { KernelFrame } from './trace.js';

export function writeKernelPcap(path: string, frames: readonly KernelFrame[], comment: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const first = frames[0]?.timeNs ?? 0n;
  const epoch = first / 1_000_000_000n;
  const w = new PcapngWriter(new FileSink(path), { comment, epochSeconds: Number(epoch), os: 'Linux (real kernel)' });
  for (const f of frames) w.frame(f.label, Number(f.timeNs - epoch * 1_000_000_000n), f.bytes, f.direction);
  w.close();
}
