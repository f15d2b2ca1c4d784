import { sql } from 'drizzle-orm';
import { agents } from '../agents/agents.table';
import { numberArray, pgErrorCode, rowsOf, UNIQUE_VIOLATION, type Database, type Db } from '../db';
import type { MetricKind } from './metrics.table';
import { SERIES_COLUMNS, toRef, type SeriesRecord, type SeriesRef } from './metrics.store';

export interface WantedSeries {
  name: string;
  labels: Record<string, string>;
  /** Canonical labels (canonicalLabels) and their md5. */
  canonical: string;
  hash: string;
  kind: MetricKind;
  unit: string;
}

// Any constant: it keys the per-agent advisory lock under which series are created.
const SERIES_LOCK = 7_316_002;

/** What ingest writes: it reads agents' token hashes, finds or creates series, and inserts samples. */
export class IngestStore {
  constructor(
    private readonly db: Db,
    private readonly prepared: Database['prepared'],
  ) {}

  /** The token hash each agent holds now; agents that do not exist are absent. */
  async tokenHashes(agentIds: string[]): Promise<Map<string, string>> {
    const rows = await this.db.select({ id: agents.id, tokenHash: agents.tokenHash }).from(agents).where(sql`${agents.id} = any(${sql.param(agentIds)}::uuid[])`);
    return new Map(rows.map((r) => [r.id, r.tokenHash]));
  }

  /**
   * Finds or creates an agent's series. New series are created under a per-agent lock,
   * so replicas creating series for one agent at once cannot together pass `cap`. With
   * `allOrNothing`, nothing is created when any would pass it.
   */
  async resolveSeries(agentId: string, wanted: WantedSeries[], cap: number, allOrNothing: boolean): Promise<{ found: Map<string, SeriesRef>; refused: WantedSeries[] }> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${agentId}, ${SERIES_LOCK}))`);
      const existing = rowsOf<SeriesRecord & { labels_hash: string }>(
        await tx.execute(sql`
          select ${SERIES_COLUMNS}, labels_hash from metric_series
          where agent_id = ${agentId} and (name, labels_hash) in (select * from unnest(${sql.param(wanted.map((w) => w.name))}::text[], ${sql.param(wanted.map((w) => w.hash))}::text[]))`),
      );
      const found = new Map(existing.map((r) => [`${r.name}\u0000${r.labels_hash}`, toRef(r)]));
      const missing = wanted.filter((w) => !found.has(`${w.name}\u0000${w.hash}`));
      if (missing.length === 0) return { found, refused: [] };
      const [{ n }] = rowsOf<{ n: number }>(await tx.execute(sql`select count(*)::int as n from metric_series where agent_id = ${agentId}`));
      const room = Math.max(0, cap - n);
      if (allOrNothing && missing.length > room) return { found, refused: missing };
      const create = missing.slice(0, room);
      if (create.length > 0) {
        const col = <T>(pick: (w: WantedSeries) => T) => sql.param(create.map(pick));
        const created = rowsOf<SeriesRecord & { labels_hash: string }>(
          await tx.execute(sql`
            insert into metric_series (agent_id, name, labels, labels_hash, kind, unit)
            select ${agentId}::uuid, name, labels::jsonb, labels_hash, kind, unit
            from unnest(${col((w) => w.name)}::text[], ${col((w) => w.canonical)}::text[], ${col((w) => w.hash)}::text[],
                        ${col((w) => w.kind)}::text[]::metric_kind[], ${col((w) => w.unit)}::text[]) as u(name, labels, labels_hash, kind, unit)
            on conflict do nothing
            returning ${SERIES_COLUMNS}, labels_hash`),
        );
        for (const r of created) found.set(`${r.name}\u0000${r.labels_hash}`, toRef(r));
      }
      return { found, refused: missing.slice(room) };
    });
  }

  /**
   * Writes samples in one statement. A (series, time) already stored keeps its value: the
   * first one written wins, later repeats are ignored, within a batch as across batches.
   * Times travel as epoch milliseconds (a number array parses faster than timestamp text),
   * made exact timestamps by interval arithmetic (to_timestamp's float seconds can lose the millisecond).
   * The arrays go as literals joined here: the driver would quote and escape each of the
   * tens of thousands of numbers one by one. Every value is a finite number, whose text
   * (JavaScript's shortest round trip) float8 reads back exactly.
   */
  async insertSamples(seriesIds: number[], ats: number[], values: number[]): Promise<void> {
    const rows = sql`select s, timestamptz 'epoch' + t * interval '1 millisecond', v
          from unnest(${numberArray(seriesIds)}::int[], ${numberArray(ats)}::float8[], ${numberArray(values)}::float8[]) as u(s, t, v)`;
    // A plain insert first: checking each row for a conflict before inserting it costs
    // PostgreSQL more than the insert, and repeats are rare (a sender's retry). A batch that
    // holds one fails as a whole and goes again, skipping the repeats.
    try {
      await this.prepared('metric_samples_insert', sql`insert into metric_samples (series_id, at, value) ${rows}`);
    } catch (err) {
      if (pgErrorCode(err) !== UNIQUE_VIOLATION) throw err;
      await this.prepared('metric_samples_insert_skipping', sql`insert into metric_samples (series_id, at, value) ${rows} on conflict do nothing`);
    }
  }
}
