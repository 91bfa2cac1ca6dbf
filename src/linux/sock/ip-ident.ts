/**
 * IPv4 header IDs as ip_select_ident_segs (include/net/ip.h) chooses them:
 * - a connected socket (TCP, connected UDP) numbers its packets from its own counter,
 *   started at a random value on connect (inet_sk(sk)->inet_id);
 * - DF set and the socket not allowing fragmentation (TCP SYN-ACK, RST, TIME_WAIT ACK, as
 *   ip_build_and_send_pkt / ip_send_unicast_reply): 0;
 * - everything else (unconnected UDP and raw/ping with IP_PMTUDISC_WANT, whose skb has
 *   ignore_df): the hashed generator __ip_select_ident, a counter per bucket of
 *   hash(daddr, saddr, protocol) that also advances by a random amount per jiffy elapsed
 *   since the bucket's last use (ip_idents_reserve).
 * The kernel's ICMP (echo replies, errors) uses the same hashed generator; this one is the
 * socket layer's, so buckets are not shared with the IP layer's ICMP (a small difference).
 */
import type { Random } from '../../sim/random.js';
import { NS_PER_MS } from '../../sim/clock.js';

export class IpIdentGenerator {
  private readonly buckets = new Map<number, { id: number; stamp: number }>();
  private readonly key: number;

  constructor(
    private readonly rng: Random,
    private readonly now: () => number,
  ) {
    this.key = rng.u32();
  }

  /** The next ID for a packet daddr <- saddr of `protocol` (segs = 1). */
  next(daddr: number, saddr: number, protocol: number): number {
    const h = mix(daddr ^ this.key, saddr, protocol) & 2047;
    const jiffies = Math.floor(this.now() / NS_PER_MS);
    let b = this.buckets.get(h);
    if (!b) {
      // ip_idents is filled with random bytes at boot.
      b = { id: this.rng.u32() & 0xffff, stamp: jiffies };
      this.buckets.set(h, b);
    }
    let delta = 0;
    if (b.stamp !== jiffies) {
      delta = this.rng.int(Math.min(jiffies - b.stamp, 0xffffffff));
      b.stamp = jiffies;
    }
    b.id = (b.id + 1 + delta) & 0xffff;
    return (b.id - 1) & 0xffff;
  }
}

/** A small avalanche mix of three words (stands in for the kernel's keyed siphash). */
export function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35) >>> 0;
  h = Math.imul(h ^ (h >>> 16) ^ c, 0x27d4eb2f) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}
