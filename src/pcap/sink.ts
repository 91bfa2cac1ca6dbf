/**
 * Where a capture writer puts its bytes. Writers call `write` once per header, record or
 * block as soon as it is complete, so a capture is streamed, never held whole.
 *
 * Contract: `chunk` is valid only during the call (writers reuse their scratch buffer);
 * a sink that keeps bytes must copy them.
 */
export interface ByteSink {
  write(chunk: Uint8Array): void;
  /** Optional: release whatever the sink holds open (a file descriptor). */
  close?(): void;
}

/** Keeps every chunk in memory; for tests and for small captures handed to a caller. */
export class MemorySink implements ByteSink {
  private readonly chunks: Uint8Array[] = [];
  private total = 0;

  write(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
    this.total += chunk.length;
  }

  get length(): number {
    return this.total;
  }

  /** Everything written so far, as one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
