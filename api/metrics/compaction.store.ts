import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { partitionName } from './rollup.store';
import { HOUR_MS } from './samples.sql';

const DAY = 86_400_000;
const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const time = (v: unknown) => (v === null || v === undefined ? null : (v instanceof Date ? v : new Date(v as string)).getTime());

export interface CompactionOptions {
  /** An hour is compacted once it ended this long ago (and the minute roll-up has passed it). */
  afterMs: number;
  /** Raw rows moved per transaction at most. */
  sliceRows: number;
  rawRetentionDays: number;
}

/** A frontier hour in progress: its series (from the hour roll-up) still to move, with their sample counts. */
export interface Cursor {
  hour: number;
  series: { id: number; count: number }[];
}

export interface Slice {
  /** Rows moved into blocks. */
  moved: number;
  /** Where the next slice goes on, when this one left a frontier hour unfinished. */
  next?: Cursor;
  /** The hour this slice worked on, if any (its day's partitions may want a vacuum). */
  hour?: number;
  /** False when there was nothing to do, or another replica holds the compaction. */
  worked: boolean;
  /** Another replica holds the compaction now. */
  busy?: boolean;
}

/**
 * Moves closed hours of raw samples (metric_samples rows) into blocks (metric_sample_blocks:
 * one row per series and hour, see samples.sql.ts), one bounded slice per transaction: the
 * slice's rows are deleted and their samples merged into their blocks by one statement, so
 * a sample is never lost nor doubled. One replica at a time, by SKIP LOCKED on the state
 * row. Hours are taken in order up to `hour_done`; a sample that arrives later for a
 * compacted hour marks the hour (markHours), and a marked hour is merged again.
 *
 * A repeated (series, time): the block's value stays (it was stored first).
 */
export class CompactionStore {
  constructor(private readonly db: Db) {}

  /** Hours that received samples after they may have been compacted. */
  async markHours(hours: number[]): Promise<void> {
    if (hours.length === 0) return;
    await this.db.execute(sql`
      insert into metric_compaction_marks (hour)
      select timestamptz 'epoch' + h * interval '1 millisecond' from unnest(${sql.param(hours)}::float8[]) as h
      on conflict do nothing`);
  }

  /**
   * One slice, in one transaction: the oldest marked hour first (its rows found by time,
   * at most `sliceRows` of them), else the frontier hour, a run of its series at a time
   * (those the hour roll-up lists, as many as hold about `sliceRows` samples; `cursor`
   * carries the rest from the previous slice). A finished frontier hour is marked, so one
   * sweep by time picks up any row the roll-up did not list yet.
   */
  async slice(now: Date, opts: CompactionOptions, cursor?: Cursor): Promise<Slice> {
    return this.db.transaction(async (tx) => {
      const [state] = rowsOf<{ hour_done: unknown; rolled: unknown }>(
        await tx.execute(sql`select c.hour_done, r.hour_done as rolled from metric_compaction_state c cross join metric_rollup_state r
                             where c.id = 1 and r.id = 1 for update of c skip locked`),
      );
      if (!state) return { moved: 0, worked: false, busy: true };
      const rolled = time(state.rolled);
      if (rolled === null) return { moved: 0, worked: false };
      // Closed, and rolled up into its hour: the roll-ups were made from the rows, and the
      // hour roll-up says which series have samples in it.
      const cutoff = Math.min(floorTo(now.getTime() - opts.afterMs, HOUR_MS), floorTo(rolled, HOUR_MS));
      const oldest = floorTo(now.getTime() - opts.rawRetentionDays * DAY, HOUR_MS);
      const frontier = Math.max(time(state.hour_done) ?? oldest, oldest);

      if (!(cursor && cursor.hour === frontier && frontier < cutoff)) {
        // Marks of hours the frontier has passed (a later one waits for it: its rows are
        // found faster by series than by time, and the frontier marks it when done).
        const [mark] = rowsOf<{ hour: unknown }>(
          await tx.execute(sql`select hour from metric_compaction_marks where hour < ${new Date(Math.min(cutoff, frontier))} order by hour limit 1`),
        );
        if (mark) {
          const hour = time(mark.hour)!;
          // The mark goes first: a sample committed after this slice's read marks the hour anew.
          await tx.execute(sql`delete from metric_compaction_marks where hour = ${new Date(hour)}`);
          const picked = sql`select series_id, at from metric_samples where at >= ${new Date(hour)} and at < ${new Date(hour + HOUR_MS)}
                             order by series_id, at limit ${opts.sliceRows}`;
          const moved = await move(tx, hour, picked);
          if (moved >= opts.sliceRows) await tx.execute(sql`insert into metric_compaction_marks (hour) values (${new Date(hour)}) on conflict do nothing`);
          return { moved, hour, worked: true };
        }
        if (frontier >= cutoff) return { moved: 0, worked: false };
        const series = rowsOf<{ series_id: number; count: number }>(
          await tx.execute(sql`select series_id, count from metric_rollup_1h where bucket = ${new Date(frontier)} order by series_id`),
        ).map((r) => ({ id: r.series_id, count: Number(r.count) }));
        if (series.length === 0) {
          // Nothing rolled up in this hour: on to the next hour that has something, or that
          // has roll-ups still to compute (a late sample's minute). A row this passes by
          // stays a row, read all the same.
          const [next] = rowsOf<{ at: unknown }>(
            await tx.execute(sql`select least((select min(bucket) from metric_rollup_1h where bucket > ${new Date(frontier)}),
                                              (select min(bucket) from metric_rollup_marks where bucket >= ${new Date(frontier)})) as at`),
          );
          const nextAt = time(next?.at);
          // This very hour has roll-ups still to compute: wait for them.
          if (nextAt !== null && nextAt < frontier + HOUR_MS) return { moved: 0, worked: false };
          const to = Math.max(frontier + HOUR_MS, Math.min(cutoff, floorTo(nextAt ?? cutoff, HOUR_MS)));
          await tx.execute(sql`update metric_compaction_state set hour_done = ${new Date(to)} where id = 1`);
          return { moved: 0, worked: true };
        }
        cursor = { hour: frontier, series };
      }
      const hour = cursor.hour;
      let take = 0;
      for (let n = 0; take < cursor.series.length && (take === 0 || n + cursor.series[take].count <= opts.sliceRows); take++) n += cursor.series[take].count;
      const ids = cursor.series.slice(0, take).map((s) => s.id);
      const rest = cursor.series.slice(take);
      const moved = ids.length === 0 ? 0 : await move(tx, hour, sql`select series_id, at from metric_samples where series_id = any(${sql.param(ids)}::int[]) and at >= ${new Date(hour)} and at < ${new Date(hour + HOUR_MS)}`);
      if (rest.length > 0) return { moved, hour, worked: true, next: { hour, series: rest } };
      await tx.execute(sql`insert into metric_compaction_marks (hour) values (${new Date(hour)}) on conflict do nothing`);
      await tx.execute(sql`update metric_compaction_state set hour_done = ${new Date(hour + HOUR_MS)} where id = 1`);
      return { moved, hour, worked: true };
    });
  }

  /**
   * Reclaims the space of moved rows and rewritten blocks in a day's partitions at once
   * (PGlite has no autovacuum; on PostgreSQL this only comes sooner). Outside a transaction,
   * as VACUUM must be; a partition another vacuum holds is skipped.
   */
  async vacuum(day: number): Promise<void> {
    for (const parent of ['metric_samples', 'metric_sample_blocks']) {
      const name = partitionName(parent, floorTo(day, DAY));
      const [exists] = rowsOf<{ r: string | null }>(await this.db.execute(sql`select to_regclass(${name})::text as r`));
      if (exists?.r) await this.db.execute(sql.raw(`vacuum (skip_locked) ${name}`));
    }
  }
}

/**
 * Deletes the rows `picked` selects (of one hour) and merges their samples into the
 * hour's blocks, in one statement: each (series, offset) once, a block's value before a
 * row's (it was stored first). Times are whole milliseconds, as every door writes them.
 */
async function move(tx: Db, hour: number, picked: ReturnType<typeof sql>): Promise<number> {
  const from = new Date(hour);
  const to = new Date(hour + HOUR_MS);
  const [r] = rowsOf<{ moved: number }>(
    await tx.execute(sql`
      with picked as (${picked}),
      moved as (
        delete from metric_samples m using picked p
        where m.series_id = p.series_id and m.at = p.at and m.at >= ${from} and m.at < ${to}
        returning m.series_id, (extract(epoch from m.at - ${from}::timestamptz) * 1000)::int as off, m.value as val
      ),
      kept as (
        select b.series_id, u.off, u.val from metric_sample_blocks b cross join lateral unnest(b.ats, b.vals) as u(off, val)
        where b.hour = ${from} and b.series_id in (select series_id from moved)
      ),
      merged as (
        select series_id, array_agg(off order by off) as ats, array_agg(val order by off) as vals
        from (select distinct on (series_id, off) series_id, off, val
              from (select series_id, off, val, 0 as rank from kept union all select series_id, off, val, 1 from moved) x
              order by series_id, off, rank) y
        group by series_id
      ),
      written as (
        insert into metric_sample_blocks (series_id, hour, ats, vals) select series_id, ${from}, ats, vals from merged
        on conflict (series_id, hour) do update set ats = excluded.ats, vals = excluded.vals
        returning series_id
      )
      select (select count(*) from moved)::int as moved, (select count(*) from written)::int as blocks`),
  );
  return r.moved;
}
