/**
 * SipHash-c-d over 64-bit lanes kept as pairs of unsigned 32-bit halves, for the mh
 * scheduler's hsiphash. On 64-bit kernels lib/siphash.c makes hsiphash "HalfSipHash1-3
 * actually be SipHash1-3" (c=1, d=3) with a 128-bit key of two u64 and returns the low 32
 * bits of v0^v1^v2^v3. `sipHash` is the general function (tested with the reference
 * SipHash-2-4 vectors); `hsiphash32` is the 4-byte-input fast path mh uses.
 */

type Lane = [number, number]; // [hi, lo]

function add(a: Lane, b: Lane): void {
  const lo = (a[1] + b[1]) >>> 0;
  const carry = lo < a[1] ? 1 : 0;
  a[0] = (a[0] + b[0] + carry) >>> 0;
  a[1] = lo;
}

function rotl(a: Lane, n: number): void {
  const [hi, lo] = a;
  if (n === 32) {
    a[0] = lo;
    a[1] = hi;
    return;
  }
  if (n < 32) {
    a[0] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    a[1] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
  } else {
    const m = n - 32;
    a[0] = ((lo << m) | (hi >>> (32 - m))) >>> 0;
    a[1] = ((hi << m) | (lo >>> (32 - m))) >>> 0;
  }
}

function xor(a: Lane, b: Lane): void {
  a[0] = (a[0] ^ b[0]) >>> 0;
  a[1] = (a[1] ^ b[1]) >>> 0;
}

function sipRound(v0: Lane, v1: Lane, v2: Lane, v3: Lane): void {
  add(v0, v1); rotl(v1, 13); xor(v1, v0); rotl(v0, 32);
  add(v2, v3); rotl(v3, 16); xor(v3, v2);
  add(v0, v3); rotl(v3, 21); xor(v3, v0);
  add(v2, v1); rotl(v1, 17); xor(v1, v2); rotl(v2, 32);
}

/** A 64-bit key half given as a non-negative integer below 2^53 or as [hi, lo]. */
export type Key64 = number | readonly [number, number];

function lane(k: Key64): Lane {
  if (typeof k === 'number') return [Math.floor(k / 0x100000000) >>> 0, k >>> 0];
  return [k[0] >>> 0, k[1] >>> 0];
}

/** SipHash-c-d of `data` with key (k0, k1); answers [hi, lo] of the 64-bit result. */
export function sipHash(data: Uint8Array, k0: Key64, k1: Key64, c = 2, d = 4): [number, number] {
  const K0 = lane(k0);
  const K1 = lane(k1);
  const v0: Lane = [0x736f6d65, 0x70736575];
  const v1: Lane = [0x646f7261, 0x6e646f6d];
  const v2: Lane = [0x6c796765, 0x6e657261];
  const v3: Lane = [0x74656462, 0x79746573];
  xor(v3, K1); xor(v2, K0); xor(v1, K1); xor(v0, K0);
  const len = data.length;
  const whole = len - (len % 8);
  for (let i = 0; i < whole; i += 8) {
    const m: Lane = [le32(data, i + 4), le32(data, i)];
    xor(v3, m);
    for (let r = 0; r < c; r++) sipRound(v0, v1, v2, v3);
    xor(v0, m);
  }
  // Last block: remaining bytes little-endian, length in the top byte.
  const b: Lane = [((len & 0xff) << 24) >>> 0, 0];
  for (let j = 0; j < len - whole; j++) {
    const byte = data[whole + j]!;
    if (j < 4) b[1] = (b[1] | (byte << (8 * j))) >>> 0;
    else b[0] = (b[0] | (byte << (8 * (j - 4)))) >>> 0;
  }
  xor(v3, b);
  for (let r = 0; r < c; r++) sipRound(v0, v1, v2, v3);
  xor(v0, b);
  xor(v2, [0, 0xff]);
  for (let r = 0; r < d; r++) sipRound(v0, v1, v2, v3);
  return [(v0[0] ^ v1[0] ^ v2[0] ^ v3[0]) >>> 0, (v0[1] ^ v1[1] ^ v2[1] ^ v3[1]) >>> 0];
}

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

const scratch = new Uint8Array(4);

/**
 * hsiphash(&v, sizeof(u32), key) on a 64-bit little-endian kernel: SipHash-1-3 of the four
 * bytes of `v` in memory order, low 32 bits of the result.
 */
export function hsiphash32(v: number, k0: Key64, k1: Key64): number {
  scratch[0] = v & 0xff;
  scratch[1] = (v >>> 8) & 0xff;
  scratch[2] = (v >>> 16) & 0xff;
  scratch[3] = (v >>> 24) & 0xff;
  return sipHash(scratch, k0, k1, 1, 3)[1];
}
