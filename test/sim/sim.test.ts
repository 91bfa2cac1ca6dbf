import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../src/sim/event-queue.js';
import { Random } from '../../src/sim/random.js';
import { TraceRecorder, type TraceEventBase } from '../../src/sim/trace.js';

describe('EventQueue', () => {
  it('runs events in time order, ties in scheduling order', () => {
    const q = new EventQueue();
    const seen: string[] = [];
    q.schedule(20, () => seen.push('b@20'));
    q.schedule(10, () => seen.push('a@10'));
    q.schedule(20, () => seen.push('c@20'));
    q.schedule(10, () => {
      seen.push('d@10');
      q.schedule(0, () => seen.push('e@10'));
    });
    expect(q.run()).toBe('idle');
    expect(seen).toEqual(['a@10', 'd@10', 'e@10', 'b@20', 'c@20']);
    expect(q.now).toBe(20);
  });

  it('skips cancelled timers and stops at `until`', () => {
    const q = new EventQueue();
    const seen: number[] = [];
    const t = q.schedule(5, () => seen.push(5));
    q.schedule(7, () => seen.push(7));
    q.schedule(100, () => seen.push(100));
    t.cancelled = true;
    expect(q.run(50)).toBe('until');
    expect(seen).toEqual([7]);
    expect(q.now).toBe(50);
    expect(q.pending).toBe(1);
  });

  it('rejects negative delays', () => {
    expect(() => new EventQueue().schedule(-1, () => {})).toThrow(RangeError);
  });
});

describe('Random', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const sa = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(sa);
  });

  it('forks independent streams by label', () => {
    const r = new Random('seed');
    const f1 = r.fork('kubelet').u32();
    const f2 = new Random('seed').fork('kubelet').u32();
    const f3 = new Random('seed').fork('kube-proxy').u32();
    expect(f1).toBe(f2);
    expect(f1).not.toBe(f3);
  });

  it('int(n) stays in range and covers it', () => {
    const r = new Random(7);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) counts[r.int(6)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(counts.reduce((x, y) => x + y)).toBe(6000);
  });
});

describe('TraceRecorder', () => {
  interface Hop extends TraceEventBase { kind: 'hop'; hop: number }
  interface Drop extends TraceEventBase { kind: 'drop'; why: string }
  it('keeps events in order and narrows by kind', () => {
    const t = new TraceRecorder<Hop | Drop>();
    const base = { time: 0, node: 'n1', netns: 'root', step: 's' };
    t.record({ ...base, kind: 'hop', hop: 1 });
    t.record({ ...base, kind: 'drop', why: 'no route' });
    t.record({ ...base, kind: 'hop', hop: 2 });
    expect(t.ofKind('hop').map((e) => e.hop)).toEqual([1, 2]);
    expect(t.ofKind('drop')[0]?.why).toBe('no route');
  });

  it('costs nothing when the sink is null: arguments are not evaluated', () => {
    let built = 0;
    const sink = null as TraceRecorder | null;
    const make = (): TraceEventBase => {
      built++;
      return { kind: 'x', time: 0, node: '', netns: '', step: '' };
    };
    sink?.record(make());
    expect(built).toBe(0);
  });
});

import { utcTime } from '../../src/sim/calendar.js';
describe('utcTime', () => {
  it('agrees with the host calendar for many instants (the model itself never reads it)', () => {
    for (let t = -86400 * 400; t < 4102444800; t += 86400 * 37 + 3671) {
      const d = new Date(t * 1000);
      expect(utcTime(t)).toEqual({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() });
    }
  });
});
