import { sql, type SQL } from 'drizzle-orm';
import { numberArray, rowsOf, type Db } from '../db';
import { samplesIn } from './samples.sql';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** The roll-up job leaves a minute alone until this long after it ends. */
export const ROLLUP_LAG_MS = 60_000;
/**
 * A sample whose time is further than this behind the moment its write committed may
 * fall in a minute the job has already rolled up: its minute is marked to be rolled up
 * again. The gap to ROLLUP_LAG_MS is the room left for replicas' clocks to disagree.
 */
export const LATE_MS = 30_000;

// Any constant, the same on every replica: partitions are created and dropped under it.
const MAINTENANCE_LOCK = 7_316_003;

const floorTo = (ms: number, unit: number) => Math.floor(ms / unit) * unit;
const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));

const ROLLUP_COLUMNS = sql`count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, last = excluded.last, last_at = excluded.last_at`;

/**
 * The value with the latest time in a group: the greatest (time, value) pair (times are
 * unique per series). An aggregate without an order, so PostgreSQL may hash the groups
 * rather than sort every sample.
 */
const lastOf = (value: SQL, at: SQL) => sql`(max(array[extract(epoch from ${at})::float8, ${value}]))[2]`;

/**
 * Rolls up raw samples (rows and compacted blocks) in [from, to) into minutes, replacing
 * what those minutes held; only the series listed in `ids`, when given.
 */
export const rollupMinutes = (from: Date, to: Date, ids?: number[]) => sql`
  insert into metric_rollup_1m (series_id, bucket, count, sum, min, max, last, last_at)
  select series_id, date_bin(interval '1 minute', at, timestamptz 'epoch'), count(*), sum(value), min(value), max(value),
         ${lastOf(sql`value`, sql`at`)}, max(at)
  from (${samplesIn({ from, to, ids: ids && sql`${numberArray(ids)}::int[]` })}) s
  group by 1, 2
  on conflict (series_id, bucket) do update set ${ROLLUP_COLUMNS}`;

/** Rolls up the minutes in [from, to) into hours, replacing what those hours held; only the series in `ids`, when given. */
export const rollupHours = (from: Date, to: Date, ids?: number[]) => sql`
  insert into metric_rollup_1h (series_id, bucket, count, sum, min, max, last, last_at)
  select series_id, date_bin(interval '1 hour', bucket, timestamptz 'epoch'), sum(count), sum(sum), min(min), max(max),
         ${lastOf(sql`last`, sql`last_at`)}, max(last_at)
  from metric_rollup_1m where bucket >= ${from} and bucket < ${to}${ids ? sql` and series_id = any(${numberArray(ids)}::int[])` : sql``}
  group by 1, 2
  on conflict (series_id, bucket) do update set ${ROLLUP_COLUMNS}`;

/** Adds the minutes in [from, to), all of one hour, to what that hour's row holds. */
const mergeIntoHour = (from: Date, to: Date) => sql`
  insert into metric_rollup_1h as h (series_id, bucket, count, sum, min, max, last, last_at)
  select series_id, date_bin(interval '1 hour', bucket, timestamptz 'epoch'), sum(count), sum(sum), min(min), max(max),
         ${lastOf(sql`last`, sql`last_at`)}, max(last_at)
  from metric_rollup_1m where bucket >= ${from} and bucket < ${to}
  group by 1, 2
  on conflict (series_id, bucket) do update set
    count = h.count + excluded.count, sum = h.sum + excluded.sum, min = least(h.min, excluded.min), max = greatest(h.max, excluded.max),
    last = case when excluded.last_at >= h.last_at then excluded.last else h.last end, last_at = greatest(h.last_at, excluded.last_at)`;

export interface Retention {
  rawRetentionDays: number;
  minuteRetentionDays: number;
  hourRetentionDays: number;
}

/** Series to roll up in a bucket: a set, or every series (null). */
type SeriesSet = Set<number> | null;
const idsOf = (set: SeriesSet) => (set ? [...set] : undefined);
/** Adds a series (null: every series) to what `key` holds. */
function gather(map: Map<number, SeriesSet>, key: number, id: number | null): void {
  const set = map.get(key);
  if (set === null) return;
  if (id === null) map.set(key, null);
  else if (set) set.add(id);
  else map.set(key, new Set([id]));
}

/** The SQL of the roll-up and retention jobs; each call is safe on every replica at once. */
export class RollupStore {
  constructor(private readonly db: Db) {}

  /**
   * Advances the minute roll-up by at most `maxMinutes`, and the hour roll-up behind it,
   * on whichever replica gets the state row first (SKIP LOCKED: the others skip this
   * round). Returns true while it is still behind.
   *
   * Once the hours have caught up, the open hour's row is kept current too (its new
   * minutes added each round; recomputed whole when it starts being kept), and
   * `hour_open_done` says up to which minute it covers: a read over hours then takes one
   * row per series for the open hour instead of up to 59 minute rows.
   */
  async advance(now: Date, retention: Retention, maxMinutes = 60): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [state] = rowsOf<{ minute_done: unknown; hour_done: unknown; hour_open_done: unknown }>(
        await tx.execute(sql`select minute_done, hour_done, hour_open_done from metric_rollup_state where id = 1 for update skip locked`),
      );
      if (!state) return false;
      const target = floorTo(now.getTime() - ROLLUP_LAG_MS, MINUTE);
      // First run: start now. Samples older than this arrive late, and late samples mark
      // their minutes, so nothing before it is left out.
      // After a long stop, nothing older than the retention is left to roll up: skip to it.
      const minuteDone = Math.max(date(state.minute_done)?.getTime() ?? target, floorTo(now.getTime() - retention.rawRetentionDays * DAY, MINUTE));
      const hourDone = Math.max(date(state.hour_done)?.getTime() ?? floorTo(minuteDone, HOUR), floorTo(now.getTime() - retention.minuteRetentionDays * DAY, HOUR));
      const minuteTo = Math.min(target, minuteDone + maxMinutes * MINUTE);
      if (minuteTo > minuteDone) await tx.execute(rollupMinutes(new Date(minuteDone), new Date(minuteTo)));
      const newMinuteDone = Math.max(minuteDone, minuteTo);
      const hourTo = Math.min(floorTo(newMinuteDone, HOUR), hourDone + 24 * HOUR);
      if (hourTo > hourDone) await tx.execute(rollupHours(new Date(hourDone), new Date(hourTo)));
      const newHourDone = Math.max(hourDone, hourTo);
      let openDone: number | null = null;
      if (newHourDone === floorTo(newMinuteDone, HOUR) && newMinuteDone > newHourDone) {
        const kept = date(state.hour_open_done)?.getTime();
        if (kept !== undefined && kept >= newHourDone && kept <= newMinuteDone) {
          if (kept < newMinuteDone) await tx.execute(mergeIntoHour(new Date(kept), new Date(newMinuteDone)));
        } else await tx.execute(rollupHours(new Date(newHourDone), new Date(newMinuteDone)));
        openDone = newMinuteDone;
      }
      await tx.execute(sql`update metric_rollup_state set minute_done = ${new Date(newMinuteDone)}, hour_done = ${new Date(newHourDone)},
                                  hour_open_done = ${openDone === null ? null : new Date(openDone)} where id = 1`);
      // More to do: the caller runs again at once rather than at the next interval.
      return newMinuteDone < target || newHourDone < floorTo(newMinuteDone, HOUR);
    });
  }

  /** Marks roll-up buckets (level 1: minutes, 2: hours) to compute again, each for one series (null: every series). */
  async mark(level: 1 | 2, buckets: number[], series: (number | null)[], db: Db = this.db): Promise<void> {
    if (buckets.length === 0) return;
    await db.execute(sql`
      insert into metric_rollup_marks (level, bucket, series_id)
      select ${level}, timestamptz 'epoch' + b * interval '1 millisecond', s
      from unnest(${numberArray(buckets)}::float8[], ${numberArray(series)}::int[]) as u(b, s)`);
  }

  /**
   * Rolls up again the buckets marked by late samples, for the series marked: minutes
   * first (up to `rounds` transactions), each of which marks its hour for the same series,
   * then those hours, so an hour whose minutes were marked over several rounds is
   * computed once. Minutes marked less than `settleMs` ago wait for a later call: a sender
   * catching up sends one minute's samples in consecutive pushes, and each would have the
   * minute computed again. Returns the buckets recomputed.
   */
  async recomputeMarked(rounds = 50, settleMs = 0): Promise<number> {
    let done = 0;
    for (const [level, limit, settle] of [[1, 2_000, settleMs], [2, 20_000, 0]] as const) {
      for (let i = 0, n = 0; i < rounds && (n = await this.recompute(level, limit, settle)) > 0; i++) done += n;
    }
    return done;
  }

  /**
   * One transaction of recomputeMarked. Marks are claimed with SKIP LOCKED and removed in
   * the transaction that recomputes them, so a replica that dies mid-way leaves them for
   * the next. A bucket may be marked several times (marks have no unique key); its repeats
   * claimed together are computed once, and one marked while it is being computed stays
   * for the next round.
   */
  private recompute(level: 1 | 2, limit: number, settleMs: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows = rowsOf<{ bucket: unknown; series_id: number | null }>(
        await tx.execute(sql`
          with claimed as (
            select ctid from metric_rollup_marks where level = ${level} and marked_at <= now() - ${settleMs} * interval '1 millisecond'
            order by bucket limit ${limit} for update skip locked
          )
          delete from metric_rollup_marks m using claimed c where m.ctid = c.ctid
          returning m.bucket, m.series_id`),
      );
      if (rows.length === 0) return 0;
      // The state row, waited for: an advance in progress on another replica finishes first.
      // Then the open hour is recomputed over exactly the minutes it says it covers, and no
      // minute is rolled up here while an advance rolls it up too (the two would upsert the
      // same rows in different orders, and PostgreSQL would abort one of them: a deadlock).
      const [state] = rowsOf<{ minute_done: unknown; hour_done: unknown; hour_open_done: unknown }>(
        await tx.execute(sql`select minute_done, hour_done, hour_open_done from metric_rollup_state where id = 1 for update`),
      );
      const claimed = new Map<number, SeriesSet>();
      for (const r of rows) gather(claimed, date(r.bucket)!.getTime(), r.series_id);
      if (level === 2) {
        const hourDone = date(state?.hour_done)?.getTime() ?? -Infinity;
        const openDone = date(state?.hour_open_done)?.getTime();
        for (const [start, series] of claimed) {
          if (start < hourDone) await tx.execute(rollupHours(new Date(start), new Date(start + HOUR), idsOf(series)));
          else if (start === hourDone && openDone !== undefined) await tx.execute(rollupHours(new Date(start), new Date(openDone), idsOf(series)));
          // A later hour: advance computes it whole when it gets there.
        }
      }
      if (level === 1) {
        // Each minute for its marked series alone, then their hours likewise. A minute the
        // advance has not reached yet (a sample late by less than ROLLUP_LAG_MS) is left to
        // it: it rolls that minute up whole, with the late sample, when it gets there. Before
        // the first advance there is none: it starts at its own minute, after these.
        const minuteDone = date(state?.minute_done)?.getTime() ?? Infinity;
        const hourMarks = new Map<number, SeriesSet>();
        for (const [minute, ids] of claimed) {
          if (minute >= minuteDone) continue;
          await tx.execute(rollupMinutes(new Date(minute), new Date(minute + MINUTE), idsOf(ids)));
          for (const id of ids ?? [null]) gather(hourMarks, floorTo(minute, HOUR), id);
        }
        const hours: number[] = [];
        const hourSeries: (number | null)[] = [];
        for (const [hour, ids] of hourMarks) for (const id of ids ?? [null]) hours.push(hour), hourSeries.push(id);
        await this.mark(2, hours, hourSeries, tx);
      }
      return claimed.size;
    });
  }

  /**
   * Creates the daily partitions that samples may land in (from the oldest day raw
   * retention accepts to two days ahead) and drops those past their retention. Runs under
   * an advisory lock: two replicas creating the same partition at once would fail.
   *
   * The expired days' roll-up and compaction marks go first: a recompute or compaction
   * that has claimed one holds it to the end of its transaction, and may still read that
   * day's partition. Deleting them first waits for such a job before anything is dropped;
   * dropping first would hold the partition the job waits for while waiting on its marks,
   * and PostgreSQL would abort one of the two.
   */
  async maintain(now: Date, retention: Retention): Promise<{ created: string[]; dropped: string[] }> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${MAINTENANCE_LOCK})`);
      const first = floorTo(now.getTime() - retention.rawRetentionDays * DAY, DAY);
      await tx.execute(sql`delete from metric_rollup_marks where bucket < ${new Date(first)}`);
      await tx.execute(sql`delete from metric_compaction_marks where hour < ${new Date(first)}`);
      await tx.execute(sql`delete from metric_rollup_1h where bucket < ${new Date(now.getTime() - retention.hourRetentionDays * DAY)}`);
      const existing = new Set(
        rowsOf<{ relname: string }>(
          await tx.execute(sql`select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
                               where i.inhparent in (${sql.raw(PARENTS.map((p) => `'${p}'::regclass`).join(', '))})`),
        ).map((r) => r.relname),
      );
      const created: string[] = [];
      const dropped: string[] = [];
      const today = floorTo(now.getTime(), DAY);
      for (let day = first; day <= today + 2 * DAY; day += DAY) {
        for (const parent of PARENTS) {
          const name = partitionName(parent, day);
          if (existing.has(name)) continue;
          await tx.execute(sql.raw(`create table if not exists ${name} partition of ${parent}
                                    for values from ('${new Date(day).toISOString()}') to ('${new Date(day + DAY).toISOString()}')`));
          created.push(name);
        }
      }
      const keep = { metric_samples: retention.rawRetentionDays, metric_sample_blocks: retention.rawRetentionDays, metric_rollup_1m: retention.minuteRetentionDays };
      for (const name of existing) {
        const m = /^(metric_samples|metric_sample_blocks|metric_rollup_1m)_p(\d{4})(\d{2})(\d{2})$/.exec(name);
        if (!m) continue;
        const end = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4])) + DAY;
        if (end <= now.getTime() - keep[m[1] as keyof typeof keep] * DAY) {
          await tx.execute(sql.raw(`drop table if exists ${name}`));
          dropped.push(name);
        }
      }
      return { created, dropped };
    });
  }
}

/** The tables partitioned by day; raw samples and their blocks are kept for the raw retention. */
const PARENTS = ['metric_samples', 'metric_sample_blocks', 'metric_rollup_1m'] as const;

export const partitionName = (parent: string, day: number) => `${parent}_p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
