import { createHash } from 'node:crypto';

/** generictables.HashLength: 16 base64 characters, 96 bits. */
export const HASH_LENGTH = 16;

/**
 * The `cali:<hash>` of every rule of a chain, as Felix's generictables.RuleHashes: sha224 of
 * the chain name, then for each rule sha224(previous digest + the rule's append text with the
 * literal `HASH` in place of the comment), base64 URL-safe without padding, first 16 chars.
 * Each hash chains in the previous one, so a rule's position and the rules before it count.
 */
export function ruleHashes(chain: string, hashTexts: readonly string[]): string[] {
  let digest = createHash('sha224').update(chain).digest();
  return hashTexts.map((text) => {
    digest = createHash('sha224').update(digest).update(text).digest();
    return digest.toString('base64url').slice(0, HASH_LENGTH);
  });
}

/**
 * libcalico-go hash.GetLengthLimitedID: prefix + suffix when it fits in maxLength, else
 * prefix + "_" + the sha256 of the suffix (base64 URL-safe) cut to fit.
 */
export function lengthLimitedId(prefix: string, suffix: string, maxLength: number): string {
  const s = suffix.length ? suffix : '_';
  const total = prefix.length + s.length;
  if (total > maxLength || (total === maxLength && s[0] === '_')) {
    const hash = createHash('sha256').update(s).digest().toString('base64url');
    return prefix + '_' + hash.slice(0, maxLength - 1 - prefix.length);
  }
  return prefix + s;
}

/** Go's hash/fnv New32 (FNV-1, 32 bit: multiply then xor), the endpoint mark mapper's hash. */
export function fnv1_32(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}
