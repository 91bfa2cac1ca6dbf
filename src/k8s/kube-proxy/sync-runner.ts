/**
 * When kube-proxy syncs, on the simulated clock: pkg/proxy/runner's BoundedFrequencyRunner.
 * A change requests a sync; syncs are at least minInterval apart (minSyncPeriod, 1 s by
 * default in iptables mode), a failed sync is retried after retryInterval (syncPeriod, 30 s),
 * and a sync happens at least every maxInterval even with no change (iptables mode: the 1 h
 * FullSyncPeriod; ipvs mode: syncPeriod). Everything runs from the EventQueue, so the same
 * scenario syncs at the same simulated instants every time.
 */
import type { EventQueue, Timer } from '../../sim/event-queue.js';

export interface SyncRunnerOptions {
  minInterval: number;
  retryInterval: number;
  maxInterval: number;
}

export class SyncRunner {
  private lastRun = Number.NEGATIVE_INFINITY;
  private pending: Timer | null = null;
  private periodic: Timer | null = null;
  /** Simulated times at which the sync function ran. */
  readonly runs: number[] = [];

  constructor(
    private readonly queue: Pick<EventQueue, 'now' | 'at'>,
    private readonly fn: () => boolean,
    readonly opts: SyncRunnerOptions,
  ) {}

  /** Starts the periodic sync (SyncLoop). */
  loop(): void {
    this.armPeriodic(this.queue.now + this.opts.maxInterval);
  }

  /** Requests a sync as soon as minInterval allows (Sync / Run). */
  run(): void {
    const when = Math.max(this.queue.now, this.lastRun + this.opts.minInterval);
    if (this.pending !== null && !this.pending.cancelled && this.pending.at <= when) return;
    if (this.pending !== null) this.pending.cancelled = true;
    this.pending = this.queue.at(when, () => this.fire());
  }

  private fire(): void {
    this.pending = null;
    this.lastRun = this.queue.now;
    this.runs.push(this.queue.now);
    const ok = this.fn();
    if (!ok) this.pending = this.queue.at(this.queue.now + this.opts.retryInterval, () => this.fire());
    if (this.periodic !== null) this.armPeriodic(this.queue.now + this.opts.maxInterval);
  }

  private armPeriodic(at: number): void {
    if (this.periodic !== null) this.periodic.cancelled = true;
    this.periodic = this.queue.at(at, () => {
      this.periodic = null;
      this.armPeriodic(this.queue.now + this.opts.maxInterval);
      this.run();
    });
  }
}
