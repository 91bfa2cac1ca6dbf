// The ARP table's dump order (what `ip neigh` lists): bucket by bucket, newest first in a
// bucket, arp_hashfn over the address as x86 loads it, 8 buckets doubling (new hash_rnd)
// when an entry would exceed them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArpHashTable } from '../../src/linux/neigh-hash.js';
import { parseIpv4, type Ipv4Addr } from '../../src/wire/ipv4-address.js';

interface Entry {
  readonly ip: Ipv4Addr;
  readonly dev: { readonly name: string };
}

describe('ARP hash table order', () => {
  it('arp_hashfn: (le32(addr) ^ hash32_ptr(dev)) * hash_rnd, top hash_shift bits', () => {
    const t = new ArpHashTable<Entry>('0b7c56b4-3f8e-4a43-9a51-2a2f1c0e7d10');
    const dev = { name: 'flannel.1' };
    const e = { ip: parseIpv4('10.42.2.0'), dev };
    t.insert(e);
    // 10.42.2.0 is the bytes 0a 2a 02 00: a little-endian load reads 0x00022a0a.
    const want = Math.imul((0x00022a0a ^ t.devPtrHash(dev)) >>> 0, t.hashRnd) >>> (32 - 3);
    expect(t.hashShift).toBe(3);
    expect(t.hashRnd % 2).toBe(1);
    expect(t.bucket(e)).toBe(want);
  });

  it('dumps by bucket, newest first within one, across inserts, removals and growth', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 36 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 })), { maxLength: 80 }),
        (boot, ops) => {
          const devs = [{ name: 'eth0' }, { name: 'flannel.1' }, { name: 'cni0' }];
          const t = new ArpHashTable<Entry>(boot);
          const live = new Map<string, { e: Entry; at: number }>();
          let most = 0;
          ops.forEach(([add, host, d], at) => {
            const k = `${host}/${d}`;
            const cur = live.get(k);
            if (add && !cur) {
              const e = { ip: (parseIpv4('10.42.0.0') + host) as Ipv4Addr, dev: devs[d]! };
              t.insert(e);
              live.set(k, { e, at });
            } else if (!add && cur) {
              t.remove(cur.e);
              live.delete(k);
            }
            most = Math.max(most, live.size);
          });
          let shift = 3;
          while (most > 1 << shift) shift++;
          // neigh_hash_grow only ever grows: as big as the most entries it ever held needed.
          expect(t.hashShift).toBe(shift);
          const got = [...t.dump()];
          const want = [...live.values()].sort((a, b) => t.bucket(a.e) - t.bucket(b.e) || b.at - a.at).map((x) => x.e);
          // Within a bucket, newest first holds only since the last rehash: compare buckets.
          expect(got.map((e) => t.bucket(e))).toEqual(want.map((e) => t.bucket(e)));
          expect(new Set(got)).toEqual(new Set(want));
          if (t.hashShift === 3) expect(got).toEqual(want);
        },
      ),
    );
  });

  it('one boot ID, one order; the table is per boot', () => {
    const ips = ['10.42.2.0', '10.42.1.0', '10.42.0.0', '10.42.3.0', '10.42.5.0'].map(parseIpv4);
    const order = (boot: string): string[] => {
      const t = new ArpHashTable<Entry>(boot);
      const dev = { name: 'flannel.1' };
      for (const ip of ips) t.insert({ ip, dev });
      return [...t.dump()].map((e) => String(e.ip));
    };
    expect(order('a')).toEqual(order('a'));
    const seen = new Set(Array.from({ length: 40 }, (_, i) => order(`boot-${i}`).join()));
    expect(seen.size).toBeGreaterThan(10);
  });
});
