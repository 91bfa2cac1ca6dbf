// The dispatch trees for any set of workload interfaces: every endpoint's traffic reaches its
// own cali-fw-/cali-tw- chain (and its profile's allow), an interface Felix does not know is
// dropped, whatever prefixes the names share (child chains per next character).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Netfilter } from '../../../src/netfilter/netfilter.js';
import { NF_ACCEPT, NF_DROP } from '../../../src/netfilter/hooks.js';
import { felixProgram, kubernetesProfile } from '../../../src/k8s/calico/felix.js';
import type { Ipv4Addr } from '../../../src/wire/ipv4-address.js';
import { FakeNetns, forward, packet } from '../../netfilter/helpers.js';

/** Pod i at 10.42.<i/250>.<i%250+2>, its /32 route via its veth (as the calico CNI adds). */
class Node extends FakeNetns {
  byAddr = new Map<number, string>();
  fibLookup(dst: Ipv4Addr): { type: string; dev: { name: string } } {
    return { type: 'unicast', dev: { name: this.byAddr.get(dst) ?? 'eth0' } };
  }
}
const addrOf = (i: number): string => `10.42.${Math.floor(i / 250)}.${(i % 250) + 2}`;

const hex = fc.constantFrom(...'0123456789abcdef'.split(''));
// Names from a small alphabet so that they share prefixes often.
const veth = fc.array(fc.constantFrom('0', '1', 'a'), { minLength: 1, maxLength: 3 }).chain((head) =>
  fc.array(hex, { minLength: 11 - head.length, maxLength: 11 - head.length }).map((tail) => `cali${head.join('')}${tail.join('')}`),
);

describe('Felix workload dispatch (property)', () => {
  it('each endpoint is dispatched to its own chains; an unknown cali interface is dropped', () => {
    fc.assert(
      fc.property(fc.uniqueArray(veth, { minLength: 1, maxLength: 24 }), fc.boolean(), (names, ipvs) => {
        const ns = new Node(9);
        names.forEach((n, i) => ns.byAddr.set(ipv4(addrOf(i)), n));
        const p = felixProgram({
          endpoints: names.map((n) => ({ name: n, profileIds: ['kns.default'] })),
          profiles: [kubernetesProfile('kns.default')],
          pools: [],
          hostIPs: ['192.168.4.86'],
          kubeIPVS: ipvs,
          randomFully: true,
        });
        const nf = new Netfilter(ns);
        nf.ipsetRestore(p.ipsetRestore);
        for (const t of p.tables) nf.restore(t.text, { noflush: true });
        names.forEach((n, i) => {
          const out = packet({ src: addrOf(i), dst: '10.42.200.9', proto: 'tcp', sport: 30000 + i, dport: 80 });
          expect(forward(nf, out, n, 'flannel.1')).toBe(NF_ACCEPT);
          const into = packet({ src: '10.42.200.9', dst: addrOf(i), proto: 'tcp', sport: 31000 + i, dport: 8080 });
          expect(forward(nf, into, 'flannel.1', n)).toBe(NF_ACCEPT);
        });
        const save = nf.save({ table: 'filter', counters: true, header: false });
        for (const n of names) {
          // Each endpoint's chains returned exactly its own packet, accepted by its profile.
          for (const dir of ['fw', 'tw']) {
            expect(save).toMatch(new RegExp(`\\[1:\\d+\\] -A cali-${dir}-${n} -m comment --comment "cali:\\S{16}" -m comment --comment "Return if profile accepted" -m mark --mark 0x10000/0x10000 -j RETURN`));
          }
        }
        const stranger = 'cali' + 'f'.repeat(11);
        if (!names.includes(stranger)) {
          ns.byAddr.set(ipv4('10.42.250.250'), stranger);
          expect(forward(nf, packet({ src: '10.42.250.250', dst: '10.42.200.9', proto: 'tcp', sport: 40000, dport: 80 }), stranger, 'flannel.1')).toBe(NF_DROP);
        }
      }),
      { numRuns: 40 },
    );
  });
});

function ipv4(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
