import type { Random } from '../../sim/random.js';

/**
 * The alphabet of k8s.io/apimachinery/pkg/util/rand (no vowels, no 0/1/3 that read as
 * letters): used for generateName suffixes and SafeEncodeString.
 */
export const K8S_ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

/** utilrand.String(n): the 5-character suffix of generated pod and slice names. */
export function randomSuffix(rng: Random, n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += K8S_ALPHANUMS[rng.int(K8S_ALPHANUMS.length)];
  return s;
}

/** rand.SafeEncodeString: each character mapped into the alphabet by its code. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += K8S_ALPHANUMS[s.charCodeAt(i) % K8S_ALPHANUMS.length];
  return out;
}

/**
 * pod-template-hash: the Deployment controller prints a 32-bit FNV hash of the template in
 * decimal and SafeEncodes it (so it uses only 4-9 and b, c, d, f, like the seed's
 * `648c86cd45`). Hashing Go's dump of the template cannot be reproduced here, so the 32-bit
 * value is drawn from the seeded PRNG instead; the shape is the real one.
 */
export function podTemplateHash(rng: Random): string {
  return safeEncodeString(String(rng.u32()));
}
