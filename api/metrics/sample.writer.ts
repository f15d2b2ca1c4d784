import { FlushScheduler } from '../batching';
import { pgErrorCode } from '../db';
import { withRetry } from '../liveness/retry';
import { HOUR, LATE_MS, MINUTE } from './rollup.store';

/** Room for replicas' clocks to disagree about when an hour may have been compacted. */
export const COMPACT_SLACK_MS = 5 * MINUTE;

export interface SampleBatch {
  seriesIds: number[];
  ats: number[];
  values: number[];
}

interface Pending {
  batch: SampleBatch;
  resolve(): void;
  reject(err: unknown): void;
}

// PostgreSQL's "no partition of relation … found for row".
const NO_PARTITION = '23514';

/**
 * Coalesces the samples of concurrent requests into one INSERT per flush (up to
 * `maxSamples`), as the heartbeat batcher does for heartbeats; a request is answered once
 * the statement holding its samples has committed. Up to `maxInFlight` statements run
 * at once; meanwhile new requests gather into the next, larger one.
 */
export class SampleWriter {
  private queue: Pending[] = [];
  private queuedSamples = 0;
  private readonly scheduler: FlushScheduler;

  constructor(
    private readonly opts: {
      flushMs: number;
      maxSamples: number;
      maxInFlight: number;
      insert(batch: SampleBatch): Promise<void>;
      /** Minutes whose roll-up must be computed again for a series (pairs of `minutes[i]`, `series[i]`), for samples that came late. */
      markLate(minutes: number[], series: number[]): Promise<void>;
      /** Hours that may have been compacted already, for samples that came for them; and when an hour is. */
      markCompacted(hours: number[]): Promise<void>;
      compactAfterMs: number;
      /** Creates missing partitions (a sample's day had none). */
      ensurePartitions(): Promise<void>;
      now(): number;
    },
  ) {
    this.scheduler = new FlushScheduler({
      flushMs: opts.flushMs,
      maxInFlight: opts.maxInFlight,
      pending: () => this.queue.length > 0,
      full: () => this.queuedSamples >= opts.maxSamples,
      flush: () => this.flush(),
    });
  }

  /** Samples waiting to be written, for load shedding. */
  get queued(): number {
    return this.queuedSamples;
  }

  /**
   * A request of more than `maxSamples` goes as several statements: one insert of 60 000
   * rows held the embedded database's thread, the server's own, for a quarter of a
   * second. Should one part fail, the parts before it stay written, and the sender's
   * retry writes the rest (a repeated sample keeps its first value).
   */
  write(batch: SampleBatch): Promise<void> {
    const n = batch.seriesIds.length;
    if (n === 0) return Promise.resolve();
    const max = this.opts.maxSamples;
    if (n > max) {
      const parts: Promise<void>[] = [];
      for (let i = 0; i < n; i += max) parts.push(this.write({ seriesIds: batch.seriesIds.slice(i, i + max), ats: batch.ats.slice(i, i + max), values: batch.values.slice(i, i + max) }));
      return Promise.all(parts).then(() => undefined);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.queuedSamples += batch.seriesIds.length;
      this.scheduler.schedule();
    });
  }

  private take(): Pending[] {
    const taken: Pending[] = [];
    let n = 0;
    while (this.queue.length > 0 && (taken.length === 0 || n + this.queue[0].batch.seriesIds.length <= this.opts.maxSamples)) {
      const p = this.queue.shift()!;
      n += p.batch.seriesIds.length;
      taken.push(p);
    }
    this.queuedSamples -= n;
    return taken;
  }

  private async flush(): Promise<void> {
    const taken = this.take();
    const merged: SampleBatch = taken.length === 1 ? taken[0].batch : { seriesIds: [], ats: [], values: [] };
    if (taken.length > 1) {
      for (const { batch } of taken) {
        for (let i = 0; i < batch.seriesIds.length; i++) {
          merged.seriesIds.push(batch.seriesIds[i]);
          merged.ats.push(batch.ats[i]);
          merged.values.push(batch.values[i]);
        }
      }
    }
    try {
      await this.insert(merged);
      await this.markLate(merged);
      for (const p of taken) p.resolve();
    } catch (err) {
      for (const p of taken) p.reject(err);
    }
  }

  private async insert(batch: SampleBatch): Promise<void> {
    try {
      await withRetry(() => this.opts.insert(batch));
    } catch (err) {
      if (pgErrorCode(err) !== NO_PARTITION) throw err;
      await this.opts.ensurePartitions();
      await withRetry(() => this.opts.insert(batch));
    }
  }

  /**
   * Marked after the commit: see LATE_MS. An hour the compaction may have passed (it
   * compacts an hour `compactAfterMs` after its end, by a clock that may run ahead of this
   * one by up to COMPACT_SLACK_MS) is marked to be merged again.
   */
  private async markLate({ seriesIds, ats }: SampleBatch): Promise<void> {
    const now = this.opts.now();
    const late = now - LATE_MS;
    const compacted = now - this.opts.compactAfterMs + COMPACT_SLACK_MS;
    let minutes: Map<number, Set<number>> | undefined;
    let hours: Set<number> | undefined;
    for (let i = 0; i < ats.length; i++) {
      const at = ats[i];
      if (at >= late) continue;
      const minute = Math.floor(at / MINUTE) * MINUTE;
      minutes ??= new Map();
      const series = minutes.get(minute);
      if (series) series.add(seriesIds[i]);
      else minutes.set(minute, new Set([seriesIds[i]]));
      const hour = Math.floor(at / HOUR) * HOUR;
      if (hour + HOUR <= compacted) (hours ??= new Set()).add(hour);
    }
    if (minutes) {
      const buckets: number[] = [];
      const series: number[] = [];
      for (const [minute, ids] of minutes) for (const id of ids) buckets.push(minute), series.push(id);
      await withRetry(() => this.opts.markLate(buckets, series));
    }
    if (hours) await withRetry(() => this.opts.markCompacted([...hours]));
  }

  /** Writes whatever is queued (shutdown). */
  drain(): Promise<void> {
    return this.scheduler.drain();
  }
}
