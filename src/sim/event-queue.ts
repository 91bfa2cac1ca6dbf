import type { Nanos } from './clock.js';

/** A scheduled callback. Cancel by setting `cancelled`; the queue skips it when due. */
export interface Timer {
  readonly at: Nanos;
  readonly seq: number;
  cancelled: boolean;
  readonly fn: () => void;
}

/**
 * The simulated clock and its event queue: a binary min-heap ordered by (time, insertion
 * sequence), so events due at the same time run in the order they were scheduled and every
 * run of the same scenario is identical.
 */
export class EventQueue {
  private heap: Timer[] = [];
  private seq = 0;
  private current: Nanos = 0;
  /** Events run so far; a guard against runaway loops. */
  executed = 0;

  get now(): Nanos {
    return this.current;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs `fn` after `delay` ns of simulated time (0 = after what is already due now). */
  schedule(delay: Nanos, fn: () => void): Timer {
    if (!(delay >= 0)) throw new RangeError(`delay must be >= 0, got ${delay}`);
    return this.at(this.current + delay, fn);
  }

  at(time: Nanos, fn: () => void): Timer {
    const t: Timer = { at: Math.max(time, this.current), seq: this.seq++, cancelled: false, fn };
    this.push(t);
    return t;
  }

  /** Runs the next due event; false when nothing is left. */
  step(): boolean {
    for (;;) {
      const t = this.pop();
      if (!t) return false;
      if (t.cancelled) continue;
      this.current = t.at;
      this.executed++;
      t.fn();
      return true;
    }
  }

  /**
   * Runs events until the queue is empty, simulated time passes `until`, or `maxEvents` ran.
   * Answers why it stopped.
   */
  run(until: Nanos = Infinity, maxEvents = 10_000_000): 'idle' | 'until' | 'limit' {
    let n = 0;
    for (;;) {
      const next = this.peek();
      if (!next) return 'idle';
      if (next.at > until) {
        this.current = until;
        return 'until';
      }
      if (n++ >= maxEvents) return 'limit';
      this.step();
    }
  }

  private peek(): Timer | undefined {
    while (this.heap.length && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    if (!top) return undefined;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
