// The shapes issue 10 asks the benchmark to show, asserted on COUNTS (never on times):
// iptables first packets evaluate rules linearly in Services, ipvs first packets and
// established packets in both modes a constant number; programming writes 8 nat rules per
// Service (2 endpoints) in iptables mode and a constant payload in ipvs mode.
import { describe, expect, it } from 'vitest';
import { benchAll, positions, type BenchResult } from '../../src/bench/run.js';

const now = (): number => Number(process.hrtime.bigint());
const SIZES = [10, 100, 300];
const results: BenchResult[] = benchAll(
  { services: SIZES, endpointsPerService: 2, portsPerService: 1, modes: ['iptables', 'ipvs'], minTimedPackets: 0, warmupPackets: 0 },
  { now },
);
const get = (mode: string, n: number): BenchResult => results.find((r) => r.mode === mode && r.services === n)!;

describe('kubewire bench shapes', () => {
  it('measures every mode at every size, each position once', () => {
    expect(results.map((r) => `${r.mode}/${r.services}`)).toEqual(['iptables/10', 'ipvs/10', 'iptables/100', 'ipvs/100', 'iptables/300', 'ipvs/300']);
    for (const r of results) expect(r.firstPacket.positions).toBe(r.services);
  });

  // A first packet walks KUBE-SERVICES up to its Service's rule, then the SVC chain, where the
  // statistic rule sends it to the first endpoint or on to the next rule (one more rule): the
  // seeded random choice moves each count by 0 or 1.
  it('iptables: the worst first packet evaluates one more rule per Service (linear)', () => {
    const max = SIZES.map((n) => get('iptables', n).firstPacket.rulesEvaluated.max);
    expect(Math.abs(max[1]! - max[0]! - 90)).toBeLessThanOrEqual(1);
    expect(Math.abs(max[2]! - max[1]! - 200)).toBeLessThanOrEqual(1);
    // the best position costs the same at every size
    const min = SIZES.map((n) => get('iptables', n).firstPacket.rulesEvaluated.min);
    expect(new Set(min).size).toBe(1);
    // mean over every position: half a rule per Service
    const mean = SIZES.map((n) => get('iptables', n).firstPacket.rulesEvaluated.mean);
    expect((mean[2]! - mean[1]!) / 200).toBeCloseTo(0.5, 2);
    expect(max[2]! - min[2]!).toBeGreaterThanOrEqual(299);
    expect(max[2]! - min[2]!).toBeLessThanOrEqual(300);
  });

  it('ipvs: first packets evaluate the same rules and IPVS lookups at every size (flat)', () => {
    const first = SIZES.map((n) => get('ipvs', n).firstPacket);
    for (const f of first) {
      expect(f.rulesEvaluated.max).toBe(f.rulesEvaluated.min);
      expect(f.rulesEvaluated.max).toBe(first[0]!.rulesEvaluated.max);
      expect(f.ipvsLookups.max).toBe(first[0]!.ipvsLookups.max);
      expect(f.ipvsLookups.min).toBeGreaterThan(0);
    }
    // iptables mode never asks IPVS
    for (const n of SIZES) expect(get('iptables', n).firstPacket.ipvsLookups.max).toBe(0);
  });

  it('established packets are flat in both modes', () => {
    for (const mode of ['iptables', 'ipvs']) {
      const est = SIZES.map((n) => get(mode, n).established.rulesEvaluated);
      for (const e of est) {
        expect(e.max).toBe(e.min);
        expect(e.max).toBe(est[0]!.max);
      }
    }
    // iptables: a conntrack hit skips the nat walk, fewer rules than the cheapest first packet
    expect(get('iptables', 300).established.rulesEvaluated.max).toBeLessThan(get('iptables', 10).firstPacket.rulesEvaluated.min);
  });

  it('programming: iptables writes 8 nat rules per Service, ipvs a constant payload', () => {
    const rules = SIZES.map((n) => get('iptables', n).sync.rules);
    expect(rules[1]! - rules[0]!).toBe(8 * 90);
    expect(rules[2]! - rules[1]!).toBe(8 * 200);
    expect(new Set(SIZES.map((n) => get('ipvs', n).sync.rules)).size).toBe(1);
    for (const n of SIZES) {
      const r = get('iptables', n);
      expect(r.sync.partialIsFull).toBe(false);
      // a partial sync still rewrites every KUBE-SERVICES rule (kernel-costs.md §1b)
      expect(r.sync.partialRules).toBeGreaterThan(n);
      expect(r.sync.partialRules).toBeLessThan(r.sync.rules);
      expect(get('ipvs', n).sync.ipvsVirtualServers).toBe(n + 1);
      expect(get('ipvs', n).sync.partialIsFull).toBe(true);
    }
  });

  it('kernel estimates follow the counts', () => {
    const a = get('iptables', 10).firstPacket.kernelEstimate;
    const b = get('iptables', 300).firstPacket.kernelEstimate;
    expect(b.legacyNs).toBeGreaterThan(a.legacyNs);
    expect(b.nftNs - a.nftNs).toBeGreaterThan(b.legacyNs - a.legacyNs);
    expect(a.basis).toMatch(/estimate/);
    expect(get('ipvs', 300).firstPacket.kernelEstimate.legacyNs).toBe(get('ipvs', 10).firstPacket.kernelEstimate.legacyNs);
  });

  it('samples evenly spaced positions, first and last included', () => {
    expect(positions(5, 10)).toEqual([0, 1, 2, 3, 4]);
    const p = positions(50000, 1000);
    expect(p.length).toBe(1000);
    expect(p[0]).toBe(0);
    expect(p[999]).toBe(49999);
    expect(new Set(p).size).toBe(1000);
  });
});
