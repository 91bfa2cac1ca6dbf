/**
 * Ephemeral port choice, as Linux 6.x does it with net.ipv4.ip_local_port_range
 * (default 32768 60999):
 *
 * - connect() of an unbound TCP socket: __inet_hash_connect (net/ipv4/inet_hashtables.c).
 *   A keyed hash of (saddr, daddr, dport) (secure_ipv4_port_ephemeral) picks a slot of the
 *   256-entry `table_perturb` (random at boot); offset = (perturb[slot] + hash_hi) % remaining,
 *   made even, and ports are tried upward in steps of 2 (the range's low parity, even ports
 *   first), wrapping, then the odd ports. A port is usable when no socket bound it with bind()
 *   and the new 4-tuple is unique (connect()ed sockets share local ports). After success
 *   perturb[slot] += max(i, random(8) * 2) + 2, so the next connect to the same peer starts
 *   further on. Same algorithm here; only the hash differs (not siphash).
 * - bind(port 0) and listen() autobind of TCP: inet_csk_find_open_port: a random odd offset
 *   (the opposite parity, "to not pollute connect() users"), steps of 2, then the other
 *   parity; with SO_REUSEADDR the lower half of the range is tried first.
 * - UDP autobind (bind 0, or sendto/connect on an unbound socket): udp_lib_get_port: first =
 *   low + reciprocal_scale(rand, remaining); if taken, stride by an odd multiple of the UDP
 *   hash table size (4096 slots assumed here; the kernel sizes it from memory) within that
 *   slot, then the next slot.
 * - ping sockets (SOCK_DGRAM IPPROTO_ICMP): ping_get_port: a rover counting 1, 2, 3 ...
 *   skipping identifiers in use.
 */
import type { Random } from '../../sim/random.js';
import { mix } from './ip-ident.js';

export interface PortRange {
  readonly low: number;
  readonly high: number;
}

export const DEFAULT_PORT_RANGE: PortRange = { low: 32768, high: 60999 };

/** Parses `net.ipv4.ip_local_port_range` as sysctl prints it (`32768\t60999`). */
export function parsePortRange(text: string | undefined): PortRange {
  if (text === undefined) return DEFAULT_PORT_RANGE;
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) return DEFAULT_PORT_RANGE;
  const low = Number(m[1]);
  const high = Number(m[2]);
  return low >= 1 && high <= 65535 && low <= high ? { low, high } : DEFAULT_PORT_RANGE;
}

const INET_TABLE_PERTURB_SIZE = 256;
const UDP_HTABLE_SIZE = 4096;

export class EphemeralPorts {
  private readonly perturb: Uint32Array;
  private readonly hashKey: number;
  private pingRover = 0;

  constructor(private readonly rng: Random) {
    this.perturb = new Uint32Array(INET_TABLE_PERTURB_SIZE);
    for (let i = 0; i < this.perturb.length; i++) this.perturb[i] = rng.u32();
    this.hashKey = rng.u32();
  }

  /**
   * __inet_hash_connect. `usable(port)` answers whether the port may be used for this
   * connection (not bound by bind(), and the 4-tuple free). Answers the port or null
   * (EADDRNOTAVAIL).
   */
  connectPort(range: PortRange, saddr: number, daddr: number, dport: number, usable: (port: number) => boolean): number | null {
    const low = range.low;
    const high = range.high + 1;
    let remaining = high - low;
    if (remaining > 1) remaining &= ~1;
    const hashLo = mix(saddr ^ this.hashKey, daddr, dport);
    const hashHi = mix(daddr, saddr ^ this.hashKey, dport ^ 0x5bd1e995);
    const index = hashLo & (INET_TABLE_PERTURB_SIZE - 1);
    let offset = ((this.perturb[index]! + hashHi) >>> 0) % remaining;
    offset &= ~1;
    for (;;) {
      let port = low + offset;
      for (let i = 0; i < remaining; i += 2, port += 2) {
        if (port >= high) port -= remaining;
        if (usable(port)) {
          const bump = Math.max(i, this.rng.int(8) * 2);
          this.perturb[index] = (this.perturb[index]! + bump + 2) >>> 0;
          return port;
        }
      }
      offset++;
      if ((offset & 1) && remaining > 1) continue;
      return null;
    }
  }

  /**
   * inet_csk_find_open_port for bind(0)/listen(). `free(port)` answers whether binding the
   * port would not conflict.
   */
  bindPort(range: PortRange, reuseAddr: boolean, free: (port: number) => boolean): number | null {
    let attemptHalf = reuseAddr ? 1 : 0;
    for (;;) {
      let low = range.low;
      let high = range.high + 1;
      if (high - low < 4) attemptHalf = 0;
      if (attemptHalf) {
        const half = low + (((high - low) >> 2) << 1);
        if (attemptHalf === 1) high = half;
        else low = half;
      }
      let remaining = high - low;
      if (remaining > 1) remaining &= ~1;
      let offset = this.rng.int(remaining) | 1;
      for (;;) {
        let port = low + offset;
        for (let i = 0; i < remaining; i += 2, port += 2) {
          if (port >= high) port -= remaining;
          if (free(port)) return port;
        }
        offset--;
        if (!(offset & 1)) continue;
        break;
      }
      if (attemptHalf === 1) {
        attemptHalf = 2;
        continue;
      }
      return null;
    }
  }

  /** udp_lib_get_port with snum 0. */
  udpPort(range: PortRange, free: (port: number) => boolean): number | null {
    const remaining = range.high - range.low + 1;
    const rand = this.rng.u32();
    let first = (range.low + Math.floor((rand * remaining) / 0x100000000)) & 0xffff;
    const stride = (((rand | 1) >>> 0) * UDP_HTABLE_SIZE) % 0x10000;
    const last = (first + UDP_HTABLE_SIZE) & 0xffff;
    do {
      let snum = first;
      do {
        if (snum >= range.low && snum <= range.high && free(snum)) return snum;
        snum = (snum + stride) & 0xffff;
      } while (snum !== first);
      first = (first + 1) & 0xffff;
    } while (first !== last);
    return null;
  }

  /** ping_get_port with ident 0: the rover, skipping 0 and identifiers in use. */
  pingIdent(free: (ident: number) => boolean): number | null {
    let result = (this.pingRover + 1) & 0xffff;
    for (let i = 0; i < 0x10000; i++, result = (result + 1) & 0xffff) {
      if (result === 0) continue;
      if (free(result)) {
        this.pingRover = result;
        return result;
      }
    }
    return null;
  }
}
