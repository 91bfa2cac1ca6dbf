// `kubewire bench --kernel` on a real kernel: the model's full-sync payload for 20 Services
// loads into namespaces this test's process creates, with restore times and (with cc and
// iptables-legacy) first-packet figures for the Service first and last; nothing is left behind.
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelBench, kernelCleanup, kernelMissing } from '../../src/bench/kernel.js';
import { BenchNode } from '../../src/bench/node.js';
import { syntheticCluster } from '../../src/bench/synth.js';
import { haveTool, missing } from '../helpers/tools.js';

const why = missing({ root: true, tools: ['iptables-restore', 'ip'] });
const prefix = `kwt-bench-${process.pid}-`;
const leftovers = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith(prefix));

describe.skipIf(why !== null)('kubewire bench --kernel', () => {
  afterAll(() => {
    kernelCleanup();
    for (const l of leftovers()) execFileSync('ip', ['netns', 'del', l.split(' ')[0]!]);
  });

  it('measures the generated payload on the real kernel beside the model', () => {
    expect(kernelMissing(true)).toBeNull();
    const now = (): number => Number(process.hrtime.bigint());
    const n = 20;
    const node = new BenchNode('iptables', now);
    const c = syntheticCluster({ services: n, endpointsPerService: 2, portsPerService: 1 });
    const payload = node.sync(c.services, c.slices).result.restoreText;
    const r = kernelBench({ payload, services: n, endpointsPerService: 2, portsPerService: 1, now, prefix, seconds: 0.5 });
    expect(r.lines).toBe(payload.split('\n').length - 1);
    const restores = [r.restoreMs.legacy, r.restoreMs.nft].filter((x) => x !== null);
    expect(restores.length).toBeGreaterThan(0);
    for (const t of restores) expect(t).toBeGreaterThan(0);
    expect(r.ipvs).toMatch(/unavailable|present/);
    if (haveTool('cc') && haveTool('iptables-legacy')) {
      // packets reached the DROP rule that only DNATed packets can reach, for both positions
      expect(r.firstPacketNs.legacyFirst, r.notes.join('; ')).not.toBeNull();
      expect(r.firstPacketNs.legacyLast, r.notes.join('; ')).not.toBeNull();
      expect(r.firstPacketNs.legacyFirst!).toBeGreaterThan(0);
      expect(r.nsPerRule.legacy).not.toBeNull();
    }
    expect(leftovers()).toEqual([]);
  });

  it('refuses without root with a clear reason', () => {
    expect(kernelMissing(false)).toMatch(/needs root/);
  });
});
