// Loads the real-kernel frames of test/fixtures/wire/real-kernel.txt by their tcpdump line.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = fileURLToPath(new URL('../fixtures/wire/real-kernel.txt', import.meta.url));
const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.includes(' | ') && !l.startsWith('#'));

/** The one captured frame whose tcpdump summary contains `what` (throws if not exactly one). */
export function captured(what: string): Uint8Array {
  const hits = lines.filter((l) => l.slice(0, l.lastIndexOf(' | ')).includes(what));
  if (hits.length !== 1) throw new Error(`${hits.length} captured frames match "${what}"`);
  const hex = hits[0]!.slice(hits[0]!.lastIndexOf(' | ') + 3).trim();
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A buffer pre-filled with 0xa5 (smoltcp's test_construct), so unwritten bytes show. */
export function a5(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xa5);
}
