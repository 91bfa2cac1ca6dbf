/**
 * The seeded pseudo-random numbers every model decision draws from (MAC addresses, ephemeral
 * ports, IP IDs, TCP ISNs, statistic matches, pod-name suffixes). xoshiro128** seeded through
 * splitmix32; `fork(label)` derives an independent stream so one agent drawing more numbers
 * does not shift another's.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number | string = 1) {
    let x = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** A version 4 UUID in its 8-4-4-4-12 text form (boot IDs, containerd's cni-<uuid> names). */
  uuidV4(): string {
    const b = Array.from({ length: 16 }, () => this.byte());
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** A byte 0..255. */
  byte(): number {
    return this.u32() >>> 24;
  }

  /** An integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(n > 0 && n <= 0x100000000)) throw new RangeError(`int(n) needs 0 < n <= 2^32, got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const v = this.u32();
      if (v < limit) return v % n;
    }
  }

  /** An integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 0x100000000;
  }

  /** An independent stream, the same for the same parent seed and label. */
  fork(label: string): Random {
    return new Random((hashString(label) ^ this.s0 ^ rotl(this.s2, 13)) >>> 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** FNV-1a over the UTF-16 code units; only used to turn seeds and labels into numbers. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
