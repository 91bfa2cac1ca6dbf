/**
 * The order of `ip neigh`: the kernel keeps one ARP table (arp_tbl) for every namespace of a
 * machine, a hash table whose dump walks bucket 0 upwards and each bucket from its head, new
 * entries going in at the head (___neigh_create, neigh_dump_table). The bucket is
 * arp_hashfn: (the address as x86 loads it ^ hash32_ptr(dev)) * hash_rnd, top `shift` bits;
 * hash_rnd is random per table (neigh_hash_alloc: get_random_u32() | 1), the table starts
 * with 8 buckets and doubles, rehashing under a new hash_rnd, when an entry would make it
 * hold more entries than buckets (neigh_hash_grow). So the order is random per boot but
 * fixed for a boot: here the boot's randomness comes from the machine's boot ID.
 */
import { Random } from '../sim/random.js';
import type { Ipv4Addr } from '../wire/ipv4-address.js';
import type { LinuxEnv } from './netns.js';

/** What the hash needs of an entry: its address, its device, and its namespace's name. */
export interface HashedNeigh {
  readonly ip: Ipv4Addr;
  readonly dev: { readonly name: string };
}

export class ArpHashTable<N extends HashedNeigh = HashedNeigh> {
  private shift = 3;
  private rnd: number;
  private buckets: N[][] = Array.from({ length: 8 }, () => []);
  private entries = 0;
  /** hash32_ptr of each net_device: its kernel address folded to 32 bits, random per boot. */
  private readonly devHash = new WeakMap<object, number>();
  private readonly rng: Random;

  constructor(readonly bootId: string) {
    this.rng = new Random(`boot_id:${bootId}`);
    this.rnd = (this.rng.u32() | 1) >>> 0;
  }

  private ptr(dev: object): number {
    let h = this.devHash.get(dev);
    if (h === undefined) this.devHash.set(dev, (h = this.rng.u32()));
    return h;
  }

  /** The table's size (log2 of its buckets) and hash_rnd now. */
  get hashShift(): number {
    return this.shift;
  }
  get hashRnd(): number {
    return this.rnd;
  }

  /** The bucket `n` is in now. */
  bucket(n: N): number {
    return this.bucketOf(n, this.rnd, this.shift);
  }

  /** hash32_ptr(dev) of the entry's device. */
  devPtrHash(dev: object): number {
    return this.ptr(dev);
  }

  private bucketOf(n: N, rnd: number, shift: number): number {
    // arp_hashfn reads the key as a u32 in memory order: network bytes on little-endian x86.
    const ip = n.ip >>> 0;
    const key = (((ip & 0xff) << 24) | ((ip & 0xff00) << 8) | ((ip >>> 8) & 0xff00) | (ip >>> 24)) >>> 0;
    return Math.imul((key ^ this.ptr(n.dev)) >>> 0, rnd) >>> (32 - shift);
  }

  insert(n: N): void {
    this.entries++;
    if (this.entries > 1 << this.shift) this.grow();
    this.buckets[this.bucketOf(n, this.rnd, this.shift)]!.unshift(n);
  }

  remove(n: N): void {
    const b = this.buckets[this.bucketOf(n, this.rnd, this.shift)]!;
    const i = b.indexOf(n);
    if (i < 0) return;
    b.splice(i, 1);
    this.entries--;
  }

  /** neigh_hash_grow: a new table twice the size under a new hash_rnd, filled bucket by bucket. */
  private grow(): void {
    const shift = this.shift + 1;
    const rnd = (this.rng.u32() | 1) >>> 0;
    const next: N[][] = Array.from({ length: 1 << shift }, () => []);
    for (const bucket of this.buckets) for (const n of bucket) next[this.bucketOf(n, rnd, shift)]!.unshift(n);
    this.buckets = next;
    this.shift = shift;
    this.rnd = rnd;
  }

  /** Every entry in dump order (all namespaces; the caller keeps its own). */
  *dump(): IterableIterator<N> {
    for (const bucket of this.buckets) yield* bucket;
  }
}

const tables = new WeakMap<LinuxEnv, Map<string, ArpHashTable<never>>>();
const bootIds = new WeakMap<LinuxEnv, Map<string, string>>();

/**
 * Pins a machine's boot ID (/proc/sys/kernel/random/boot_id, a node's
 * status.nodeInfo.bootID) before its first neighbour entry; by default it is drawn from the
 * simulation's seed.
 */
export function setBootId(env: LinuxEnv, node: string, bootId: string): void {
  if (tables.get(env)?.has(node)) throw new Error(`${node}: the boot ID is fixed once the ARP table exists`);
  let m = bootIds.get(env);
  if (!m) bootIds.set(env, (m = new Map()));
  m.set(node, bootId);
}

/** The machine's boot ID: pinned, or a random UUID (version 4 form) from the seed. */
export function bootIdOf(env: LinuxEnv, node: string): string {
  let m = bootIds.get(env);
  if (!m) bootIds.set(env, (m = new Map()));
  let id = m.get(node);
  if (id === undefined) {
    id = env.rng.fork(`boot_id:${node}`).uuidV4();
    m.set(node, id);
  }
  return id;
}

/** The ARP table every namespace of `node` shares. */
export function arpTableOf<N extends HashedNeigh>(env: LinuxEnv, node: string): ArpHashTable<N> {
  let m = tables.get(env);
  if (!m) tables.set(env, (m = new Map()));
  let t = m.get(node);
  if (!t) m.set(node, (t = new ArpHashTable<never>(bootIdOf(env, node))));
  return t as unknown as ArpHashTable<N>;
}
