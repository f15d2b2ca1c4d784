import { index, integer, jsonb, pgEnum, pgTable, smallint, timestamp, unique, uuid, varchar } from 'drizzle-orm/pg-core';
import { agents } from '../agents/agents.table';

/**
 * gauge: a value as it is now. counter: a cumulative, monotonic total (read as a rate;
 * a drop is a reset). delta: each sample is the increase since the previous one
 * (OTLP delta sums), so a bucket's rate is its sum over its width.
 */
export const metricKind = pgEnum('metric_kind', ['gauge', 'counter', 'delta']);
export type MetricKind = (typeof metricKind.enumValues)[number];

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * One row per (agent, name, labels). Samples and roll-ups refer to it by `id`, so a
 * sample row is three narrow columns. Those tables are partitioned by time, which
 * drizzle-kit cannot express: they live in hand-written migrations
 * (20261130130521_metric_partitions; 20261130201800_metric_sample_blocks for the
 * compacted samples and the compaction's state) and in the stores, outside this file.
 */
export const metricSeries = pgTable(
  'metric_series',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    name: varchar('name', { length: 200 }).notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    // md5 of the labels in canonical order: the labels themselves can be 30 KiB, past
    // what a btree entry may hold.
    labelsHash: varchar('labels_hash', { length: 32 }).notNull(),
    kind: metricKind('kind').notNull(),
    unit: varchar('unit', { length: 32 }).notNull().default(''),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [unique('metric_series_identity_key').on(t.agentId, t.name, t.labelsHash), index('metric_series_name_idx').on(t.name)],
);

/**
 * Roll-up buckets to compute again because samples arrived for them late (after the
 * roll-up job had passed them). level 1 is a minute, level 2 an hour; `series_id` the
 * series whose samples came late (null: every series of the bucket); `marked_at` when
 * (by the database's clock). Append-only, with
 * repeats: a unique key made every late write wait for a recompute that had claimed the
 * same bucket (its row lock), which held each push of old samples for as long as a
 * recompute took.
 */
export const metricRollupMarks = pgTable(
  'metric_rollup_marks',
  {
    level: smallint('level').notNull(),
    bucket: at('bucket').notNull(),
    seriesId: integer('series_id'),
    markedAt: at('marked_at').notNull().defaultNow(),
  },
  (t) => [index('metric_rollup_marks_level_bucket_idx').on(t.level, t.bucket)],
);

/** One row: how far the minute and hour roll-ups are complete (exclusive bounds). */
export const metricRollupState = pgTable('metric_rollup_state', {
  id: smallint('id').primaryKey(),
  minuteDone: at('minute_done'),
  hourDone: at('hour_done'),
  /** The open hour (the one hourDone starts) has a roll-up row covering its minutes up to here. */
  hourOpenDone: at('hour_open_done'),
});

export type MetricSeriesRow = typeof metricSeries.$inferSelect;
