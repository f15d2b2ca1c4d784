import { sql, type SQL } from 'drizzle-orm';
import { agentFilterSql } from '../agents/agents.filter';
import { agents } from '../agents/agents.table';
import type { AgentFilter } from '../agents/agents.types';
import { rowsOf, type Db } from '../db';
import type { MetricKind } from './metrics.table';
import { latestSample, samplesIn } from './samples.sql';

export interface SeriesRef {
  id: number;
  agentId: string;
  name: string;
  labels: Record<string, string>;
  kind: MetricKind;
  unit: string;
}

/** One series' data over one bucket, from whichever resolution held it. */
export interface BucketRow {
  seriesId: number;
  bucket: Date;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  lastAt: Date;
}

export type Level = 'raw' | '1m' | '1h';

/**
 * The roll-ups are complete before these instants (null: not yet started). The hour rows
 * cover up to `hourDone`, which may fall inside an hour: the open hour's row then holds
 * its minutes up to there.
 */
interface Watermarks {
  minuteDone: Date | null;
  hourDone: Date | null;
}

const date = (v: unknown) => (v instanceof Date ? v : new Date(v as string));

export const SERIES_COLUMNS = sql`id, agent_id, name, labels, kind, unit`;
export type SeriesRecord = { id: number; agent_id: string; name: string; labels: Record<string, string> | string; kind: MetricKind; unit: string };
export const toRef = (r: SeriesRecord): SeriesRef => ({
  id: r.id,
  agentId: r.agent_id,
  name: r.name,
  labels: typeof r.labels === 'string' ? JSON.parse(r.labels) : r.labels,
  kind: r.kind,
  unit: r.unit,
});

/** The reads of the metrics domain: series, samples and their roll-ups (IngestStore writes them). */
export class MetricStore {
  constructor(private readonly db: Db) {}

  /**
   * Runs a read of roll-ups with the watermarks it must use, both in one snapshot: the
   * open hour's row and the watermark that says what it covers change together.
   */
  private withWatermarks<T>(read: (tx: Db, wm: Watermarks) => Promise<T>): Promise<T> {
    return this.db.transaction(
      async (tx) => {
        const [row] = rowsOf<{ minute_done: unknown; hour_done: unknown; hour_open_done: unknown }>(
          await tx.execute(sql`select minute_done, hour_done, hour_open_done from metric_rollup_state where id = 1`),
        );
        const hourDone = row?.hour_open_done ?? row?.hour_done;
        return read(tx, { minuteDone: row?.minute_done ? date(row.minute_done) : null, hourDone: hourDone ? date(hourDone) : null });
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  }

  /** An agent's series, all or those with the given names. */
  async seriesOf(agentIds: string[], names?: string[]): Promise<SeriesRef[]> {
    const rows = rowsOf<SeriesRecord>(
      await this.db.execute(sql`
        select ${SERIES_COLUMNS} from metric_series
        where agent_id = any(${sql.param(agentIds)}::uuid[]) ${names ? sql`and name = any(${sql.param(names)}::text[])` : sql``}
        order by agent_id, name, labels_hash`),
    );
    return rows.map(toRef);
  }

  /**
   * Buckets of `stepSeconds` from `from` to `to` for the given series, read from the
   * coarsest resolution allowed that is complete for each part of the range: hours up to
   * the hour watermark, then minutes up to the minute watermark, then raw samples, so a
   * range that ends now includes the samples that arrived a moment ago.
   */
  async buckets(seriesIds: number[], level: Level, from: Date, to: Date, stepSeconds: number): Promise<BucketRow[]> {
    if (seriesIds.length === 0) return [];
    const ids = sql`${sql.param(seriesIds)}::int[]`;
    const rows = await this.withWatermarks(async (tx, wm) =>
      rowsOf<{ series_id: number; bucket: unknown; count: number; sum: number; min: number; max: number; last: number; last_at: unknown }>(
        await tx.execute(sql`
          select series_id, date_bin(make_interval(secs => ${stepSeconds}), t, timestamptz 'epoch') as bucket,
                 sum(count)::int as count, sum(sum) as sum, min(min) as min, max(max) as max,
                 (array_agg(last order by last_at desc))[1] as last, max(last_at) as last_at
          from (${bucketSources(ids, level, from, to, wm)}) x
          group by 1, 2 order by 1, 2`),
      ),
    );
    return rows.map((r) => ({ seriesId: r.series_id, bucket: date(r.bucket), count: r.count, sum: r.sum, min: r.min, max: r.max, last: r.last, lastAt: date(r.last_at) }));
  }

  /** The latest sample of each series, no older than `since`. */
  async latest(seriesIds: number[], since: Date): Promise<Map<number, { at: Date; value: number }>> {
    if (seriesIds.length === 0) return new Map();
    const rows = rowsOf<{ id: number; at: unknown; value: number }>(
      await this.db.execute(sql`
        select s.id, l.at, l.value from unnest(${sql.param(seriesIds)}::int[]) as s(id)
        cross join lateral (${latestSample(sql`s.id`, since)}) l`),
    );
    return new Map(rows.map((r) => [r.id, { at: date(r.at), value: r.value }]));
  }

  /** Metric names in use by the agents a filter selects. */
  async names(filter: AgentFilter, search?: string): Promise<{ name: string; kind: MetricKind; unit: string; agents: number; series: number }[]> {
    return rowsOf<{ name: string; kind: MetricKind; unit: string; agents: number; series: number }>(
      await this.db.execute(sql`
        select s.name, min(s.kind::text) as kind, max(s.unit) as unit, count(distinct s.agent_id)::int as agents, count(*)::int as series
        from metric_series s join agents on agents.id = s.agent_id
        where ${agentFilterSql(agents, filter)} ${search ? sql`and s.name ilike ${`%${search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`}` : sql``}
        group by s.name order by s.name limit 1000`),
    );
  }

  /**
   * Per group and bucket, the average, maximum and 95th percentile over the selected
   * agents' series of one name: each series contributes its bucket's value (the average
   * for a gauge, the per-second rate for a counter or delta).
   */
  async summary(opts: {
    name: string;
    filter: AgentFilter;
    group: SQL;
    groupJoin: SQL;
    level: Level;
    from: Date;
    to: Date;
    stepSeconds: number;
  }): Promise<{ grp: string | null; bucket: Date | null; avg: number | null; max: number | null; p95: number | null; series: number }[]> {
    const { name, filter, group, groupJoin, level, from, to, stepSeconds } = opts;
    // One step earlier, so a counter's first bucket has a previous one to take its rate from.
    const readFrom = new Date(from.getTime() - stepSeconds * 1000);
    const selected = sql`select s.id, s.kind, ${group} as grp from metric_series s join agents on agents.id = s.agent_id ${groupJoin}
                         where s.name = ${name} and ${agentFilterSql(agents, filter)}`;
    const rows = await this.withWatermarks(async (tx, wm) =>
      rowsOf<{ grp: string | null; bucket: unknown; avg: number | null; max: number | null; p95: number | null; series: number }>(
        await tx.execute(sql`
        with sel as (${selected}),
        b as (
          select series_id, date_bin(make_interval(secs => ${stepSeconds}), t, timestamptz 'epoch') as bucket,
                 sum(count) as count, sum(sum) as sum, max(max) as max,
                 (array_agg(last order by last_at desc))[1] as last, max(last_at) as last_at
          from (${bucketSources(sql`array(select distinct id from sel)`, level, readFrom, to, wm)}) x
          group by 1, 2
        ),
        v as (
          select b.series_id, b.bucket, b.max as top,
                 case k.kind
                   when 'gauge' then b.sum / b.count
                   when 'delta' then b.sum / ${stepSeconds}
                   else (case when b.last >= lag(b.last) over w then b.last - lag(b.last) over w else b.last end)
                        / nullif(extract(epoch from b.last_at - lag(b.last_at) over w), 0)
                 end as value
          from b join (select distinct id, kind from sel) k on k.id = b.series_id
          window w as (partition by b.series_id order by b.bucket)
        )
        select sel.grp, v.bucket, avg(v.value) as avg,
               max(case when sel.kind = 'gauge' then v.top else v.value end) as max,
               percentile_cont(0.95) within group (order by v.value) as p95,
               count(distinct v.series_id)::int as series
        from v join sel on sel.id = v.series_id
        where v.bucket >= ${from} and v.value is not null
        group by grouping sets ((sel.grp, v.bucket), (sel.grp))
        order by 1, 2 nulls first`),
      ),
    );
    return rows.map((r) => ({ ...r, bucket: r.bucket ? date(r.bucket) : null }));
  }

  /**
   * Samples of each series after its own instant, oldest first, at most `perSeries` each
   * (the live feed's read). Rows only: the feed reads the last seconds, long before their
   * hour is compacted.
   */
  async samplesAfter(seriesIds: number[], afters: number[], perSeries: number): Promise<{ seriesId: number; at: number; value: number }[]> {
    if (seriesIds.length === 0) return [];
    const rows = rowsOf<{ series_id: number; at: unknown; value: number }>(
      await this.db.execute(sql`
        select w.id as series_id, s.at, s.value
        from unnest(${sql.param(seriesIds)}::int[], ${sql.param(afters)}::float8[]) as w(id, after)
        cross join lateral (
          select at, value from metric_samples m where m.series_id = w.id and m.at > timestamptz 'epoch' + w.after * interval '1 millisecond' order by at limit ${perSeries}
        ) s`),
    );
    return rows.map((r) => ({ seriesId: r.series_id, at: date(r.at).getTime(), value: r.value }));
  }
}

/** The rows of every resolution that together cover [from, to) once, at most as fine as `level` allows. */
function bucketSources(ids: SQL, level: Level, from: Date, to: Date, wm: Watermarks): SQL {
  const min = (a: Date, b: Date) => (a < b ? a : b);
  const max = (a: Date, b: Date) => (a > b ? a : b);
  const parts: SQL[] = [];
  let start = from;
  const rollup = (table: 'metric_rollup_1h' | 'metric_rollup_1m', done: Date | null) => {
    if (!done || done <= start) return;
    const end = min(to, done);
    parts.push(sql`select series_id, bucket as t, count, sum, min, max, last, last_at from ${sql.raw(table)}
                   where series_id = any(${ids}) and bucket >= ${start} and bucket < ${end}`);
    start = max(start, end);
  };
  if (level === '1h') rollup('metric_rollup_1h', wm.hourDone);
  if (level !== 'raw') rollup('metric_rollup_1m', wm.minuteDone);
  parts.push(sql`select series_id, at as t, 1 as count, value as sum, value as min, value as max, value as last, at as last_at
                 from (${samplesIn({ ids, from: start, to })}) raw`);
  return sql.join(parts, sql` union all `);
}
