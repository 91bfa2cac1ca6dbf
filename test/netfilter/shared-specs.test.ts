// Restore's shared rule specs (one parse per line text, reused by every namespace), its
// copy-on-write chains, and conntrack's hashed tuple table: what must stay per namespace
// (counters, statistic nth state, set existence checks) stays so, and nothing else changes.
import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { clearRestoreCache } from '../../src/netfilter/restore.js';
import { RestoreError } from '../../src/netfilter/errors.js';
import { NF_ACCEPT, NF_DROP } from '../../src/netfilter/hooks.js';
import { ConntrackTable } from '../../src/netfilter/conntrack/table.js';
import type { CtEntry, Tuple } from '../../src/netfilter/conntrack/entry.js';
import { FakeNetns, deliver, packet } from './helpers.js';

const PAYLOAD =
  '*filter\n:A - [0:0]\n:B - [0:0]\n' +
  '-A INPUT -p udp -m udp --dport 7 -m statistic --mode nth --every 2 --packet 0 -j DROP\n' +
  '-A INPUT -p udp -m udp --dport 8 -m comment --comment "shared spec" -j A\n' +
  '-A A -s 1.1.1.1/32 -j B\n-A B -j DROP\nCOMMIT\n';

const udp = (dport: number) => packet({ src: '1.1.1.1', dst: '2.2.2.2', proto: 'udp', dport });

describe('rule specs shared between namespaces', () => {
  it('two namespaces loading the same payload print the same, count apart, and keep their own nth state', () => {
    clearRestoreCache();
    const a = new Netfilter(new FakeNetns());
    const b = new Netfilter(new FakeNetns());
    a.restore(PAYLOAD);
    b.restore(PAYLOAD);
    expect(b.save({ header: false })).toBe(a.save({ header: false }));
    const ra = a.tables.get('filter')!.chains.get('INPUT')!.rules[1]!;
    const rb = b.tables.get('filter')!.chains.get('INPUT')!.rules[1]!;
    expect(rb.spec).toBe(ra.spec);
    expect(rb).not.toBe(ra);
    // nth --every 2 --packet 0: the 1st, 3rd, ... packet of each rule matches (dropped).
    expect([deliver(a, udp(7)), deliver(a, udp(7)), deliver(a, udp(7))]).toEqual([NF_DROP, NF_ACCEPT, NF_DROP]);
    expect(deliver(b, udp(7))).toBe(NF_DROP);
    expect(deliver(a, udp(8))).toBe(NF_DROP);
    expect(a.save({ header: false, counters: true })).toContain('[2:56] -A INPUT -p udp -m udp --dport 7 -m statistic --mode nth --every 2 --packet 0 -j DROP');
    expect(b.save({ header: false, counters: true })).toContain('[1:28] -A INPUT -p udp -m udp --dport 7 -m statistic --mode nth --every 2 --packet 0 -j DROP');
    expect(b.save({ header: false, counters: true })).toContain('[0:0] -A INPUT -p udp -m udp --dport 8 -m comment --comment "shared spec" -j A');
  });

  it('two copies of one nth line in one chain keep separate counters, as two kernel rules do', () => {
    const nf = new Netfilter(new FakeNetns());
    const line = '-A INPUT -p udp -m udp --dport 9 -m statistic --mode nth --every 2 --packet 1 -j ACCEPT\n';
    nf.restore(`*filter\n:INPUT DROP [0:0]\n${line}${line}COMMIT\n`);
    // packet 1: rule 1 count 0 (no), rule 2 count 0 (no) -> policy DROP; packet 2: rule 1 matches.
    expect([deliver(nf, udp(9)), deliver(nf, udp(9))]).toEqual([NF_DROP, NF_ACCEPT]);
  });

  it('a cached line with a set match is still checked against this namespace sets', () => {
    clearRestoreCache();
    const a = new Netfilter(new FakeNetns());
    a.ipsetRestore('create S hash:ip\n');
    const text = '*filter\n-A INPUT -m set --match-set S src -j DROP\nCOMMIT\n';
    a.restore(text);
    const b = new Netfilter(new FakeNetns());
    expect(() => b.restore(text)).toThrow(RestoreError);
    expect(b.tables.size).toBe(0);
  });

  it('a --noflush restore replaces only the chains it names; jumps into them follow the new objects', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore(PAYLOAD);
    const t0 = nf.tables.get('filter')!;
    const a0 = t0.chains.get('A')!;
    const input0 = t0.chains.get('INPUT')!;
    expect(deliver(nf, udp(8))).toBe(NF_DROP);
    nf.restore('*filter\n:B - [0:0]\n-A B -j ACCEPT\nCOMMIT\n', { noflush: true });
    const t1 = nf.tables.get('filter')!;
    expect(t1.chains.get('A')).toBe(a0);
    expect(t1.chains.get('INPUT')).toBe(input0);
    expect(t1.chains.get('B')).not.toBe(t0.chains.get('B'));
    expect(a0.rules[0]!.jump).toBe(t1.chains.get('B'));
    expect(deliver(nf, udp(8))).toBe(NF_ACCEPT);
    // counters of untouched chains carried on
    expect(nf.save({ header: false, counters: true })).toContain('[2:56] -A INPUT -p udp -m udp --dport 8 -m comment --comment "shared spec" -j A');
  });

  it('a failed restore leaves every chain object and rule as it was', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore(PAYLOAD);
    const before = nf.save({ header: false, counters: true });
    const a0 = nf.tables.get('filter')!.chains.get('A')!;
    const rules0 = a0.rules.slice();
    expect(() => nf.restore('*filter\n-A A -j ACCEPT\n-A B -j NOPE\nCOMMIT\n', { noflush: true })).toThrow(RestoreError);
    expect(nf.tables.get('filter')!.chains.get('A')).toBe(a0);
    expect(a0.rules).toEqual(rules0);
    expect(nf.save({ header: false, counters: true })).toBe(before);
  });
});

describe('the line cache and dropped namespaces', () => {
  it('keeps no namespace alive: a dropped Netfilter whose lazy rules compiled is collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    clearRestoreCache();
    const ref = ((): WeakRef<Netfilter> => {
      const nf = new Netfilter(new FakeNetns());
      nf.restore(PAYLOAD);
      expect(deliver(nf, udp(8))).toBe(NF_DROP); // compiles the lazy rules of the path
      return new WeakRef(nf);
    })();
    // The cache still holds the specs: a second namespace shares them.
    const other = new Netfilter(new FakeNetns());
    other.restore(PAYLOAD);
    for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
      await new Promise((r) => setTimeout(r, 0));
      gc();
    }
    expect(ref.deref()).toBeUndefined();
    expect(deliver(other, udp(8))).toBe(NF_DROP);
  });
});

describe('conntrack tuple table', () => {
  const tup = fc.record({ src: fc.constantFrom(1, 2, 0x0a000001), dst: fc.constantFrom(3, 4), proto: fc.constantFrom(6, 17), sport: fc.integer({ min: 0, max: 3 }), dport: fc.constantFrom(80, 81) });
  it('finds what was confirmed, in both directions, and forgets what was removed, as a map by tuple would', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), tup), { maxLength: 40 }), (ops) => {
        const t = new ConntrackTable({});
        const ref = new Map<string, CtEntry>();
        const key = (x: Tuple): string => `${x.proto}|${x.src}|${x.sport}|${x.dst}|${x.dport}`;
        const live: CtEntry[] = [];
        for (const [add, x] of ops) {
          if (add) {
            const e = t.create(x, 0)!;
            e.timeout = 1e12;
            const ok = t.confirm(e, 0);
            expect(ok).toBe(!ref.has(key(e.orig)) && !ref.has(key(e.reply)));
            if (ok) {
              ref.set(key(e.orig), e);
              ref.set(key(e.reply), e);
              live.push(e);
            }
          } else if (live.length > 0) {
            const e = live.shift()!;
            t.remove(e);
            for (const k of [key(e.orig), key(e.reply)]) if (ref.get(k) === e) ref.delete(k);
          }
        }
        for (const [, x] of ops) {
          const f = t.find(x, 1);
          const r = ref.get(key(x));
          expect(f?.entry).toBe(r);
          if (f) expect(f.reply).toBe(key(f.entry.orig) !== key(x));
        }
        expect(t.count).toBe(live.length);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
