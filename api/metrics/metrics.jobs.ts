import type { Clock } from '../clock';
import type { MetricsConfig } from '../config';
import type { CompactionStore, Cursor } from './compaction.store';
import type { RollupStore } from './rollup.store';

/**
 * The periodic work of the metrics domain, run by every replica: rolling samples up into
 * minutes and hours (one replica per round, by SKIP LOCKED on the state row; marks of
 * late samples claimed the same way), compacting closed hours of raw samples into blocks
 * after them (one replica at a time, the same way), and keeping the daily partitions
 * (under an advisory lock).
 */
export class MetricJobs {
  private timers: NodeJS.Timeout[] = [];
  private rolling?: Promise<void>;
  private compacting?: Promise<number>;
  /** Set by stop(): a compaction round ends after its current slice. */
  private stopped = false;
  private maintaining?: Promise<{ created: string[]; dropped: string[] }>;

  constructor(private readonly deps: { rollups: RollupStore; compaction: CompactionStore; clock: Clock; config: MetricsConfig; onError(what: string, err: unknown): void }) {}

  start(): void {
    this.stopped = false;
    const { rollupIntervalMs, maintenanceIntervalMs } = this.deps.config;
    this.timers.push(
      setInterval(
        () =>
          // Marks younger than half a round (at most 5 s) wait for the next one.
          void this.rollup(Math.min(5_000, rollupIntervalMs / 2))
            .catch((err) => this.deps.onError('metric roll-up', err))
            .then(() => this.compact())
            .catch((err) => this.deps.onError('metric compaction', err)),
        rollupIntervalMs,
      ).unref(),
      setInterval(() => void this.maintain().catch((err) => this.deps.onError('metric partitions', err)), maintenanceIntervalMs).unref(),
    );
  }

  /**
   * One round of roll-ups, taking the marks of late samples made at least `settleMs` ago;
   * a caller joining a round in progress waits for it.
   */
  rollup(settleMs = 0): Promise<void> {
    this.rolling ??= (async () => {
      // Catching up after downtime: a bounded slice per statement, as many as it takes.
      for (let i = 0; i < 1000 && (await this.deps.rollups.advance(this.deps.clock.now(), this.deps.config)); i++);
      await this.deps.rollups.recomputeMarked(50, settleMs);
    })().finally(() => (this.rolling = undefined));
    return this.rolling;
  }

  /**
   * One round of compaction: bounded slices, one transaction each, as many as it takes (up
   * to a bound), then a vacuum of the days it moved rows in. Returns the rows moved.
   */
  compact(): Promise<number> {
    this.compacting ??= (async () => {
      const { compaction, clock, config } = this.deps;
      const options = { afterMs: config.compactAfterMs, sliceRows: config.compactSliceRows, rawRetentionDays: config.rawRetentionDays };
      let moved = 0;
      let cursor: Cursor | undefined;
      const days = new Set<number>();
      for (let i = 0; i < 1000 && !this.stopped; i++) {
        const slice = await compaction.slice(clock.now(), options, cursor);
        if (!slice.worked) break;
        moved += slice.moved;
        if (slice.moved > 0 && slice.hour !== undefined) days.add(slice.hour);
        cursor = slice.next;
        // A turn for requests between slices (on PGlite a statement holds the event loop).
        await new Promise((r) => setImmediate(r));
      }
      for (const day of days) await compaction.vacuum(day);
      return moved;
    })().finally(() => (this.compacting = undefined));
    return this.compacting;
  }

  maintain(): Promise<{ created: string[]; dropped: string[] }> {
    this.maintaining ??= this.deps.rollups.maintain(this.deps.clock.now(), this.deps.config).finally(() => (this.maintaining = undefined));
    return this.maintaining;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.allSettled([this.rolling, this.compacting, this.maintaining]);
  }
}
