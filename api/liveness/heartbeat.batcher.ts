import { sql, type SQL } from 'drizzle-orm';
import { RECENT_HEARTBEATS } from '../agents/agents.table';

export type Health = 'healthy' | 'degraded' | 'unhealthy';

export interface HeartbeatWrite {
  agentId: string;
  tokenHash: string;
  health: Health;
  message: string | null;
  sequence: number | null;
}

/** One agent's row after a flush: the status it had before, the one it has now. */
export interface HeartbeatRow {
  id: string;
  previousStatus: 'online' | 'degraded' | 'offline';
  status: 'online' | 'degraded' | 'offline';
  heartbeatIntervalSeconds: number;
  configurationRevision: number;
  offlineAt: Date;
  stale: boolean;
}

export type FlushResult = Map<string, HeartbeatRow>;

interface Pending {
  write: HeartbeatWrite;
  resolve(row: HeartbeatRow | undefined): void;
  reject(err: unknown): void;
}

/**
 * Coalesces heartbeats into one `UPDATE … FROM unnest(…)` per flush. A caller's
 * promise settles only after the statement's transaction has committed, so an
 * acknowledged heartbeat is never lost. Up to `maxInFlight` flushes run at once;
 * while they do, new heartbeats gather into the next, larger batch.
 */
export class HeartbeatBatcher {
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = 0;

  constructor(
    private readonly opts: {
      flushMs: number;
      batchSize: number;
      maxInFlight: number;
      /** Writes one batch (already one entry per agent) and returns the rows it matched. */
      write(batch: HeartbeatWrite[]): Promise<FlushResult>;
    },
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves with the agent's row, or undefined when no agent matched id and token. */
  enqueue(write: HeartbeatWrite): Promise<HeartbeatRow | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight >= this.opts.maxInFlight) return; // a finishing flush picks the queue up
    if (this.queue.length >= this.opts.batchSize) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.opts.flushMs);
    }
  }

  private async flush(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.opts.batchSize);
    this.inFlight++;
    // One entry per agent: its highest sequence (or, without sequences, its latest arrival)
    // speaks for all of that agent's heartbeats in this batch; the others are stale.
    const latest = new Map<string, HeartbeatWrite>();
    for (const { write } of batch) {
      const kept = latest.get(write.agentId);
      if (!kept || !isOlder(write, kept)) latest.set(write.agentId, write);
    }
    try {
      const rows = await this.opts.write([...latest.values()]);
      for (let i = 0; i < batch.length; i++) {
        // A few hundred answers at once would keep the event loop from reading requests
        // and the next batch's result for milliseconds: answer a slice, then let it run.
        if (i > 0 && i % ANSWER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        const p = batch[i];
        const row = rows.get(p.write.agentId);
        p.resolve(row && isOlder(p.write, latest.get(p.write.agentId)!) ? { ...row, stale: true } : row);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
    }
  }

  /** Writes whatever is queued; used on shutdown so no accepted heartbeat is dropped. */
  async drain(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 || this.inFlight > 0) {
      if (this.queue.length > 0 && this.inFlight < this.opts.maxInFlight) void this.flush();
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** Heartbeats answered between two turns of the event loop (16 measured best of 16, 64 and all at once). */
const ANSWER_SLICE = 16;

const isOlder = (a: HeartbeatWrite, b: HeartbeatWrite) => a.sequence !== null && b.sequence !== null && a.sequence < b.sequence;

const KEEP = sql.raw(String(RECENT_HEARTBEATS));

/** Whether the heartbeat's sequence is below the last one seen: it proves the agent alive, but its health is not applied. */
const STALE = sql`(u.seq is not null and a.last_sequence is not null and u.seq < a.last_sequence)`;
const HEALTH = sql`(case when ${STALE} then a.health else u.health end)`;
const STATUS = sql`(case when ${HEALTH} = 'healthy' then 'online'::agent_status else 'degraded'::agent_status end)`;

/**
 * The batch statement: one UPDATE, matched on id *and* token hash, so a revoked or
 * foreign token writes nothing. Each accepted heartbeat is also prepended to the row's
 * own short history (time and the health in effect after it, so a stale one records the
 * kept health), trimmed to RECENT_HEARTBEATS: no second statement, no index.
 *
 * The new values are computed from the row version the UPDATE replaces (PostgreSQL
 * re-reads a row changed by a concurrent commit, and re-checks the WHERE clause, before
 * applying them), and that version's status is kept in status_before_heartbeat: so the
 * statement returns each transition exactly without locking its rows in a step of its
 * own. Input sorted by id makes concurrent batches take their row locks in one order.
 *
 * With `unchangedOnly`, rows whose status the heartbeat would change are left alone,
 * so the statement has no transition to record and may commit on its own.
 */
export async function writeHeartbeats(
  execute: (query: SQL) => Promise<unknown>,
  batch: HeartbeatWrite[],
  now: Date,
  missedHeartbeats: number,
  { unchangedOnly = false } = {},
): Promise<HeartbeatRow[]> {
  const sorted = batch.slice().sort((x, y) => (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0));
  const col = <T>(pick: (w: HeartbeatWrite) => T) => sql.param(sorted.map(pick));
  const result = (await execute(sql`
    with input as (
      select * from unnest(
        ${col((w) => w.agentId)}::uuid[], ${col((w) => w.tokenHash)}::text[], ${col((w) => w.health)}::text[]::health_status[],
        ${col((w) => w.message)}::text[], ${col((w) => w.sequence)}::int[]
      ) as u(id, token_hash, health, message, seq)
    ), updated as (
      update agents a set
        last_heartbeat = ${now}::timestamptz,
        offline_at = ${now}::timestamptz + make_interval(secs => a.heartbeat_interval_seconds * ${missedHeartbeats}),
        health = ${HEALTH},
        recent_heartbeat_at = (array_prepend(${now}::timestamptz, a.recent_heartbeat_at))[1:${KEEP}],
        recent_health = (array_prepend(${HEALTH}, a.recent_health))[1:${KEEP}],
        health_message = case when ${STALE} then a.health_message else u.message end,
        last_sequence = case when ${STALE} then a.last_sequence else coalesce(u.seq, a.last_sequence) end,
        status = ${STATUS},
        status_before_heartbeat = a.status
      from input u
      -- The ids once more as a list: the planner then finds the rows by primary key rather
      -- than hashing the whole table to join a few hundred of them.
      where a.id = u.id and a.id = any(array(select id from input)) and a.token_hash = u.token_hash
        ${unchangedOnly ? sql`and ${STATUS} = a.status` : sql``}
      returning a.id, a.status_before_heartbeat, a.status, a.heartbeat_interval_seconds, a.configuration_revision,
                -- last_sequence kept its old value exactly when the heartbeat was stale
                (u.seq is not null and u.seq < a.last_sequence) as stale
    )
    select json_agg(json_build_array(id, status_before_heartbeat, status, heartbeat_interval_seconds, configuration_revision, stale))::text as rows
    from updated
  `)) as unknown as { rows: { rows: string | null }[] };
  // One row of JSON text for the whole batch: parsed at once by JSON.parse, rather than a
  // result row (and its per-column parsing) per agent. offline_at is computed here as the
  // statement computes it, rather than parsed back from text.
  const text = result.rows[0]?.rows;
  if (!text) return [];
  return (JSON.parse(text) as ReturnedRow[]).map(([id, previousStatus, status, interval, revision, stale]) => ({
    id,
    previousStatus,
    status,
    heartbeatIntervalSeconds: interval,
    configurationRevision: revision,
    offlineAt: new Date(now.getTime() + interval * missedHeartbeats * 1000),
    stale,
  }));
}

type ReturnedRow = [string, HeartbeatRow['previousStatus'], HeartbeatRow['status'], number, number, boolean];
