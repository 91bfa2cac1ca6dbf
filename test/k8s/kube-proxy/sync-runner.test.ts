import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../../src/sim/event-queue.js';
import { SyncRunner } from '../../../src/k8s/kube-proxy/sync-runner.js';

const S = 1e9;

describe('SyncRunner (BoundedFrequencyRunner on the simulated clock)', () => {
  it('coalesces a burst of changes and keeps syncs minInterval apart', () => {
    const q = new EventQueue();
    const r = new SyncRunner(q, () => true, { minInterval: 1 * S, retryInterval: 30 * S, maxInterval: 3600 * S });
    r.run();
    q.run(0.1 * S);
    expect(r.runs).toEqual([0]);
    for (let i = 0; i < 5; i++) q.schedule(0.1 * S * i, () => r.run());
    q.run(5 * S);
    expect(r.runs).toEqual([0, 1 * S]);
  });

  it('retries a failed sync after retryInterval', () => {
    const q = new EventQueue();
    let n = 0;
    const r = new SyncRunner(q, () => ++n > 1, { minInterval: 1 * S, retryInterval: 30 * S, maxInterval: 3600 * S });
    r.run();
    q.run(100 * S);
    expect(r.runs).toEqual([0, 30 * S]);
  });

  it('syncs at least every maxInterval with no change', () => {
    const q = new EventQueue();
    const r = new SyncRunner(q, () => true, { minInterval: 1 * S, retryInterval: 30 * S, maxInterval: 30 * S });
    r.loop();
    q.run(95 * S);
    expect(r.runs).toEqual([30 * S, 60 * S, 90 * S]);
  });
});
