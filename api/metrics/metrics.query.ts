import type { MetricsConfig } from '../config';
import type { BucketRow, Level, SeriesRef } from './metrics.store';
import { DAY } from './rollup.store';

/** A series' points are kept to about this many. */
export const MAX_POINTS = 1000;

export interface Plan {
  level: Level;
  stepSeconds: number;
  /** `from` moved back to a whole step, so buckets line up whatever the range. */
  from: Date;
  to: Date;
}

/**
 * The coarsest data a range needs: the step is at least what keeps a series to
 * MAX_POINTS, and at least a minute (an hour) where raw samples (minutes) are no longer
 * kept; below a minute the raw samples are read, below an hour the minute roll-ups,
 * else the hour roll-ups. Steps of roll-ups are whole minutes (hours).
 */
export function plan(from: Date, to: Date, requestedStep: number | undefined, now: Date, config: MetricsConfig, opts: { minStep?: number } = {}): Plan {
  const range = (to.getTime() - from.getTime()) / 1000;
  let step = Math.max(requestedStep ?? 0, Math.ceil(range / MAX_POINTS), 1, opts.minStep ?? 0);
  if (from.getTime() < now.getTime() - config.rawRetentionDays * DAY) step = Math.max(step, 60);
  if (from.getTime() < now.getTime() - config.minuteRetentionDays * DAY) step = Math.max(step, 3600);
  let level: Level = 'raw';
  if (step >= 3600) {
    level = '1h';
    step = Math.ceil(step / 3600) * 3600;
  } else if (step >= 60) {
    level = '1m';
    step = Math.ceil(step / 60) * 60;
  } else step = Math.ceil(step);
  const stepMs = step * 1000;
  return { level, stepSeconds: step, from: new Date(Math.floor(from.getTime() / stepMs) * stepMs), to };
}

export interface MetricPoint {
  at: Date;
  value: number;
  min: number;
  max: number;
  /** Samples behind the point. */
  count: number;
}

export type CounterMode = 'rate' | 'raw';

/**
 * A series' buckets as points. A gauge's point is its bucket's average (with min and
 * max). A counter's, by default, is its per-second rate between the last samples of
 * this bucket and the one before (a drop counts as a reset to zero); a delta series'
 * is its bucket's sum over the step. `rows` may start one step before `from`, so the
 * first rate has a predecessor; nothing before `from` is returned.
 */
export function toPoints(series: SeriesRef, rows: BucketRow[], from: Date, stepSeconds: number, mode: CounterMode): MetricPoint[] {
  const points: MetricPoint[] = [];
  let previous: BucketRow | undefined;
  for (const row of rows) {
    const prev = previous;
    previous = row;
    if (row.bucket < from) continue;
    let value: number;
    if (series.kind === 'gauge') {
      points.push({ at: row.bucket, value: row.sum / row.count, min: row.min, max: row.max, count: row.count });
      continue;
    }
    if (mode === 'raw') value = series.kind === 'counter' ? row.last : row.sum;
    else if (series.kind === 'delta') value = row.sum / stepSeconds;
    else {
      if (!prev) continue;
      const seconds = (row.lastAt.getTime() - prev.lastAt.getTime()) / 1000;
      if (seconds <= 0) continue;
      value = (row.last >= prev.last ? row.last - prev.last : row.last) / seconds;
    }
    points.push({ at: row.bucket, value, min: value, max: value, count: row.count });
  }
  return points;
}

/** Unit of a series' points: a counter read as a rate is per second. */
export const pointUnit = (series: SeriesRef, mode: CounterMode) =>
  series.kind !== 'gauge' && mode === 'rate' ? (series.unit ? `${series.unit}/s` : '/s') : series.unit;
