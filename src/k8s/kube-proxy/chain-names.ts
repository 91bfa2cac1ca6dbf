/**
 * Chain names exactly as pkg/proxy/iptables/proxier.go builds them: the first 16 characters of
 * base32.StdEncoding(sha256(servicePortName + protocol [+ endpoint])). The four per-service
 * prefixes share one hash; KUBE-SEP- hashes the endpoint "ip:port" too.
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with padding, as Go's base32.StdEncoding. */
export function base32Std(bytes: Uint8Array): string {
  let out = '';
  let buf = 0;
  let bits = 0;
  for (const b of bytes) {
    buf = (buf << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(buf >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buf &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(buf << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** The first 16 base32 characters of sha256(s): 80 bits, i.e. the digest's first 10 bytes. */
function hash16(s: string): string {
  // crypto.hash (one call, no Hash object) where the runtime has it (Node >= 20.12).
  const d = oneShot ? oneShot('sha256', s, 'buffer') : createHash('sha256').update(s, 'utf8').digest();
  let out = '';
  for (let i = 0; i < 10; i += 5) {
    const b0 = d[i]!, b1 = d[i + 1]!, b2 = d[i + 2]!, b3 = d[i + 3]!, b4 = d[i + 4]!;
    out +=
      B32[b0 >> 3]! + B32[((b0 & 7) << 2) | (b1 >> 6)]! + B32[(b1 >> 1) & 31]! + B32[((b1 & 1) << 4) | (b2 >> 4)]! +
      B32[((b2 & 15) << 1) | (b3 >> 7)]! + B32[(b3 >> 2) & 31]! + B32[((b3 & 3) << 3) | (b4 >> 5)]! + B32[b4 & 31]!;
  }
  return out;
}
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer }).hash;

/** portProtoHash: servicePortName is "ns/name:port" (or "ns/name"), protocol lowercase. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol);
}

export const SVC_PREFIX = 'KUBE-SVC-';
export const SVL_PREFIX = 'KUBE-SVL-';
export const FW_PREFIX = 'KUBE-FW-';
export const EXT_PREFIX = 'KUBE-EXT-';
export const SEP_PREFIX = 'KUBE-SEP-';

export function clusterPolicyChain(spn: string, protocol: string): string {
  return SVC_PREFIX + portProtoHash(spn, protocol);
}
export function localPolicyChain(spn: string, protocol: string): string {
  return SVL_PREFIX + portProtoHash(spn, protocol);
}
export function firewallChain(spn: string, protocol: string): string {
  return FW_PREFIX + portProtoHash(spn, protocol);
}
export function externalChain(spn: string, protocol: string): string {
  return EXT_PREFIX + portProtoHash(spn, protocol);
}
export function endpointChain(spn: string, protocol: string, endpoint: string): string {
  return SEP_PREFIX + hash16(spn + protocol + endpoint);
}

/** isServiceChainName: chains kube-proxy owns and may delete when stale. */
export function isServiceChainName(chain: string): boolean {
  return [SVC_PREFIX, SVL_PREFIX, SEP_PREFIX, FW_PREFIX, EXT_PREFIX].some((p) => chain.startsWith(p));
}
