/**
 * A growable scratch buffer a writer fills with one header, record or block and hands to
 * its sink. Reused between blocks: the sink contract (sink.ts) says chunks are only valid
 * during `write`, so steady-state capture allocates nothing per frame.
 */
export class Scratch {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  /** Bytes filled so far. */
  length = 0;

  constructor(readonly littleEndian: boolean) {}

  reset(): void {
    this.length = 0;
  }

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < at + n) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.buf.subarray(0, at));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    this.length = at + n;
    return at;
  }

  u8(v: number): void {
    this.buf[this.reserve(1)] = v;
  }

  u16(v: number): void {
    this.view.setUint16(this.reserve(2), v, this.littleEndian);
  }

  u32(v: number): void {
    this.view.setUint32(this.reserve(4), v >>> 0, this.littleEndian);
  }

  i32(v: number): void {
    this.view.setInt32(this.reserve(4), v, this.littleEndian);
  }

  i64(v: bigint): void {
    this.view.setBigInt64(this.reserve(8), v, this.littleEndian);
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.reserve(b.length));
  }

  /** Zero bytes up to the next multiple of 4. */
  pad4(): void {
    const n = (4 - (this.length & 3)) & 3;
    this.buf.fill(0, this.reserve(n), this.length);
  }

  /** Overwrites a u32 already written at `offset` (a block length known only at the end). */
  patchU32(offset: number, v: number): void {
    this.view.setUint32(offset, v >>> 0, this.littleEndian);
  }

  /** The filled bytes: a view valid until the next write into this scratch. */
  filled(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export const NS_PER_S = 1_000_000_000;

/** Checks a simulated time before it is put in a file. */
export function checkTime(timeNs: number): void {
  if (!Number.isSafeInteger(timeNs) || timeNs < 0) {
    throw new RangeError(`capture time must be a non-negative integer of nanoseconds, got ${timeNs}`);
  }
}

export function checkEpoch(epochSeconds: number): void {
  if (!Number.isSafeInteger(epochSeconds) || epochSeconds < 0) {
    throw new RangeError(`epochSeconds must be a non-negative integer, got ${epochSeconds}`);
  }
}
