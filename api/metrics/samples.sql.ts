import { sql, type SQL } from 'drizzle-orm';

export const HOUR_MS = 3_600_000;

/**
 * Where raw samples live: recent ones as rows of metric_samples, closed hours compacted
 * into metric_sample_blocks (one row per series and hour; see compaction.store.ts), and
 * samples that arrived for an hour after it was compacted as rows again until the next
 * compaction merges them. Every reader of raw samples reads both through these helpers.
 *
 * A (series, time) can be in a block and a row at once: a repeat that arrived after its
 * hour was compacted. The block's value was stored first and wins, as a repeat of a row
 * is ignored by the insert (first stored value wins, everywhere).
 */

/** A block's sample time: its hour plus the offset (exact: whole milliseconds). */
const blockAt = (off: SQL) => sql`b.hour + ${off} * interval '1 millisecond'`;

/** A row's offset in its hour's block, for the comparison with the block's offsets. */
const rowOffset = sql`(extract(epoch from m.at - b.hour) * 1000)::int`;

type Bound = Date | SQL;
const floorHour = (b: Bound): SQL => (b instanceof Date ? sql`${new Date(Math.floor(b.getTime() / HOUR_MS) * HOUR_MS)}::timestamptz` : sql`date_bin(interval '1 hour', ${b}, timestamptz 'epoch')`);

export interface SampleRange {
  /** Which series: an int[] expression (`any`), or one series id expression (a lateral read); all series when both are absent. */
  ids?: SQL;
  id?: SQL;
  from: Bound;
  to: Bound;
  /** (from, to] instead of [from, to). */
  leftOpen?: boolean;
}

/**
 * `select series_id, at, value` of every sample in the range, from rows and blocks alike,
 * each (series, time) once. The hour range is pushed down to the blocks (partition
 * pruning and the primary key), so a narrow range unnests only the hours it touches.
 */
export function samplesIn(r: SampleRange): SQL {
  const series = (alias: 'm' | 'b') =>
    r.id ? sql`${sql.raw(alias)}.series_id = ${r.id}` : r.ids ? sql`${sql.raw(alias)}.series_id = any(${r.ids})` : sql`true`;
  const inRange = (at: SQL) => (r.leftOpen ? sql`${at} > ${r.from} and ${at} <= ${r.to}` : sql`${at} >= ${r.from} and ${at} < ${r.to}`);
  const hours = sql`b.hour >= ${floorHour(r.from)} and b.hour <= ${r.to}`;
  return sql`
    select m.series_id, m.at, m.value from metric_samples m
    where ${series('m')} and ${inRange(sql`m.at`)}
      and not exists (select 1 from metric_sample_blocks b
                      where b.series_id = m.series_id and ${hours} and b.hour = date_bin(interval '1 hour', m.at, timestamptz 'epoch')
                        and ${rowOffset} = any(b.ats))
    union all
    select b.series_id, ${blockAt(sql`u.off`)} as at, u.val as value
    from metric_sample_blocks b cross join lateral unnest(b.ats, b.vals) as u(off, val)
    where ${series('b')} and ${hours} and ${inRange(blockAt(sql`u.off`))}`;
}

/**
 * `select at, value` of the latest sample of one series at or after `since` (after it, if
 * `strict`; at most one row): the newest row, or the last sample of the newest block,
 * whichever is later (the block's on a tie, as in samplesIn).
 */
export function latestSample(id: SQL, since: Bound, strict = false): SQL {
  const after = (at: SQL) => (strict ? sql`${at} > ${since}` : sql`${at} >= ${since}`);
  return sql`
    select at, value from (
      (select m.at, m.value, 1 as rank from metric_samples m where m.series_id = ${id} and ${after(sql`m.at`)} order by m.at desc limit 1)
      union all
      (select ${blockAt(sql`b.ats[cardinality(b.ats)]`)}, b.vals[cardinality(b.vals)], 0 from metric_sample_blocks b
       where b.series_id = ${id} and b.hour >= ${floorHour(since)} order by b.hour desc limit 1)
    ) latest where ${after(sql`at`)} order by at desc, rank limit 1`;
}
