// Property: what the compressing packer writes, dns-packet (a separate decoder that follows
// pointers) reads back as the same message; compressed is never longer than uncompressed;
// truncation keeps whole records that fit and flags the rest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMsg, encodeMsg, emptyMsg, type Msg, type RR } from '../../../src/apps/coredns/dns/message.js';
import { packMsg, truncateCompressed } from '../../../src/apps/coredns/dns/pack.js';

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const name = fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.'));
const zoneNames = fc.constantFrom('cluster.local', 'svc.cluster.local', 'k8s.svc.cluster.local', 'example.com');
const owner = fc.oneof(name, fc.tuple(name, zoneNames).map(([a, b]) => `${a}.${b}`));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const ttl = fc.nat(86400);
const rr: fc.Arbitrary<RR> = fc.oneof(
  fc.record({ name: owner, ttl, ip: ipv4 }).map(({ name: n, ttl: t, ip }) => ({ name: n, type: 'A', class: 'IN', ttl: t, data: ip }) as RR),
  fc.record({ name: owner, ttl, target: owner }).map(({ name: n, ttl: t, target }) => ({ name: n, type: 'CNAME', class: 'IN', ttl: t, data: target }) as RR),
  fc.record({ name: owner, ttl, target: owner, port: fc.nat(65535), w: fc.nat(100) }).map(
    ({ name: n, ttl: t, target, port, w }) => ({ name: n, type: 'SRV', class: 'IN', ttl: t, data: { priority: 0, weight: w, port, target } }) as RR,
  ),
  fc.record({ name: owner, ttl, m: owner, r: owner, s: fc.nat(2 ** 31) }).map(
    ({ name: n, ttl: t, m, r, s }) => ({ name: n, type: 'SOA', class: 'IN', ttl: t, data: { mname: m, rname: r, serial: s, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } }) as RR,
  ),
  fc.record({ name: owner, ttl, txt: fc.array(fc.stringMatching(/^[ -~]{0,40}$/), { minLength: 1, maxLength: 3 }) }).map(({ name: n, ttl: t, txt }) => ({ name: n, type: 'TXT', class: 'IN', ttl: t, data: txt }) as RR),
);
const msg: fc.Arbitrary<Msg> = fc.record({ q: owner, an: fc.array(rr, { maxLength: 12 }), ns: fc.array(rr, { maxLength: 3 }), ex: fc.array(rr, { maxLength: 6 }), id: fc.nat(65535), edns: fc.boolean() }).map(
  ({ q, an, ns, ex, id, edns }) => {
    const m = emptyMsg();
    m.id = id;
    m.qr = true;
    m.aa = true;
    m.rd = true;
    m.question = [{ name: q, type: 'A', class: 'IN' }];
    m.answer = an;
    m.ns = ns;
    m.extra = ex;
    if (edns) m.edns = { udpSize: 1232, do: false, version: 0, extRcode: 0, options: [] };
    return m;
  },
);

const norm = (m: Msg): unknown => JSON.parse(JSON.stringify({ ...m, compress: undefined, wire: undefined }, (_k, v: unknown) => (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString() : v)));

describe('compressing packer', () => {
  it('round-trips through dns-packet and is never longer than uncompressed', () => {
    fc.assert(
      fc.property(msg, (m) => {
        const c = packMsg(m, true);
        const u = encodeMsg(m);
        expect(c.length).toBeLessThanOrEqual(u.length);
        expect(norm(decodeMsg(c))).toEqual(norm(decodeMsg(u)));
      }),
      { numRuns: 300 },
    );
  });
  it('truncation keeps a prefix of each section that fits, with TC when anything was cut', () => {
    fc.assert(
      fc.property(msg, fc.integer({ min: 512, max: 1500 }), (m, size) => {
        const t: Msg = { ...m, answer: [...m.answer], ns: [...m.ns], extra: [...m.extra] };
        truncateCompressed(t, size);
        const bytes = packMsg(t, true);
        expect(bytes.length).toBeLessThanOrEqual(Math.max(512, size));
        expect(m.answer.slice(0, t.answer.length)).toEqual(t.answer);
        expect(m.ns.slice(0, t.ns.length)).toEqual(t.ns);
        expect(m.extra.slice(0, t.extra.length)).toEqual(t.extra);
        const cut = t.answer.length < m.answer.length || t.ns.length < m.ns.length || t.extra.length < m.extra.length;
        expect(t.tc).toBe(cut);
      }),
      { numRuns: 300 },
    );
  });
});
