// kube-proxy iptables mode, through the netfilter model: 10,000 new connections to one
// ClusterIP with three endpoints are spread by the statistic match's u32 threshold compare as
// the kernel does (1/3, then 1/2 of the rest, then the last), each backend within tolerance;
// the run is seeded, so the exact counts are fixed too.
import { describe, expect, it } from 'vitest';
import { BenchNode } from '../../../src/bench/node.js';
import { clusterIP, syntheticService } from '../../../src/bench/synth.js';
import { formatIpv4 } from '../../../src/wire/ipv4-address.js';

describe('statistic --mode random in KUBE-SVC chains', () => {
  it('gives each of three backends its share of 10,000 SYNs', () => {
    const node = new BenchNode('iptables', () => 0);
    const { service, slice } = syntheticService(0, 3, 1);
    node.sync([service], [slice]);
    const vip = clusterIP(0);
    const port = service.spec.ports![0]!.port;
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const before = node.out.frames;
      node.receiveFromClient(node.fromClient(20_000 + (i % 40_000), vip, port, 0x02));
      node.world.run(1e6);
      expect(node.out.frames).toBe(before + 1);
      const to = formatIpv4(node.out.dst);
      counts.set(to, (counts.get(to) ?? 0) + 1);
    }
    expect(counts.size).toBe(3);
    for (const n of counts.values()) {
      // binomial(10000, 1/3): sd ~ 47; 5 sd is far outside what a correct split produces.
      expect(Math.abs(n - 10_000 / 3)).toBeLessThan(240);
    }
  });
});
