// The one place under src/ that writes files: capture writers stay free of I/O and take any
// ByteSink; this one appends each chunk to a file descriptor synchronously, so a crash leaves
// every block written so far on disk and nothing is buffered whole.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { ByteSink } from './sink.js';

export class FileSink implements ByteSink {
  private fd: number | null;

  /** Opens (creating or truncating) `path` for writing. */
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(chunk: Uint8Array): void {
    if (this.fd === null) throw new Error('FileSink: write after close');
    let done = 0;
    // writeSync may write fewer bytes than asked (pipes, signals): loop until all are out.
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done);
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}
