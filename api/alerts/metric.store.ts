import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { latestSample, samplesIn } from '../metrics/samples.sql';
import type { Aggregate } from './alerts.types';

export interface SeriesAggregate {
  agentId: string;
  kind: string;
  value: number;
}

/** The reads metric rules make of the metrics domain's series and samples. */
export const metricRuleStore = {
  /** Whether any series of the name exists, and of which kinds. */
  async known(db: Db, metric: string): Promise<{ exists: boolean; kinds: string[] }> {
    const rows = rowsOf<{ kind: string }>(await db.execute(sql`select distinct kind::text as kind from metric_series where name = ${metric}`));
    return { exists: rows.length > 0, kinds: rows.map((r) => r.kind) };
  },

  /**
   * Each matching series' aggregate over (`from`, `to`]: avg, max, min, the last value,
   * or the per-second rate, for the agents given; series with no sample are left out. A
   * counter's rate is its increase over the time between the first and last samples (a
   * drop counted as a reset); a delta series' (each sample the increase since the one
   * before, OTLP delta temporality) is the sum of its samples over the window's seconds,
   * as the metric queries read a delta bucket (its sum over the step).
   */
  async aggregates(db: Db, opts: { metric: string; labels: Record<string, string>; agentIds: string[]; from: Date; to: Date; aggregate: Aggregate }): Promise<SeriesAggregate[]> {
    if (opts.agentIds.length === 0) return [];
    const windowSeconds = (opts.to.getTime() - opts.from.getTime()) / 1000;
    const value = {
      avg: sql`avg(m.value)`,
      max: sql`max(m.value)`,
      min: sql`min(m.value)`,
      last: sql`(array_agg(m.value order by m.at desc))[1]`,
      rate: sql`case when s.kind = 'delta' then sum(m.value) / ${windowSeconds}::float8
                 when count(*) < 2 or max(m.at) = min(m.at) then null
                 else sum(greatest(m.delta, 0)) / extract(epoch from max(m.at) - min(m.at)) end`,
    }[opts.aggregate];
    const rows = rowsOf<{ agent_id: string; kind: string; value: number | null }>(
      await db.execute(sql`
        select s.agent_id, s.kind::text as kind, ${value} as value
        from metric_series s
        join lateral (
          select at, value,
                 case when lag(value) over (order by at) is null then 0
                      when value >= lag(value) over (order by at) then value - lag(value) over (order by at)
                      else value end as delta
          from (${samplesIn({ id: sql`s.id`, from: opts.from, to: opts.to, leftOpen: true })}) w
        ) m on true
        where s.name = ${opts.metric} and s.agent_id = any(${sql.param(opts.agentIds)}::uuid[]) and s.labels @> ${JSON.stringify(opts.labels)}::jsonb
        group by s.id, s.agent_id, s.kind`),
    );
    return rows.filter((r) => r.value !== null).map((r) => ({ agentId: r.agent_id, kind: r.kind, value: Number(r.value) }));
  },

  /** When each agent last pushed a matching series of the metric (null: it has the series, but no sample since `since`). */
  async lastSeen(db: Db, opts: { metric: string; labels: Record<string, string>; agentIds: string[]; since: Date }): Promise<Map<string, Date | null>> {
    if (opts.agentIds.length === 0) return new Map();
    const rows = rowsOf<{ agent_id: string; last_at: string | Date | null }>(
      await db.execute(sql`
        select s.agent_id, max(l.at) as last_at
        from metric_series s
        left join lateral (${latestSample(sql`s.id`, opts.since, true)}) l on true
        where s.name = ${opts.metric} and s.agent_id = any(${sql.param(opts.agentIds)}::uuid[]) and s.labels @> ${JSON.stringify(opts.labels)}::jsonb
        group by s.agent_id`),
    );
    return new Map(rows.map((r) => [r.agent_id, r.last_at === null ? null : new Date(r.last_at)]));
  },
};
