import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { snapshotColumnsSql, statusChangeEventsSql } from '../agents/agents.events.sql';
import { agents, RECENT_HEARTBEATS, type AgentRow } from '../agents/agents.table';
import type { AgentStatus } from '../agents/agents.types';
import { numberArray, rowsOf, type Db } from '../db';
import type { Health, LivenessPolicy } from './policy';

export interface HeartbeatWrite {
  agentId: string;
  tokenHash: string;
  health: Health;
  message: string | null;
  sequence: number | null;
}

/** One agent's row after a heartbeat write: the status it had before, the one it has now. */
export interface HeartbeatRow {
  id: string;
  /** The hash of the token the write matched: the answer is for heartbeats that carried it, and no other. */
  tokenHash: string;
  previousStatus: AgentStatus;
  status: AgentStatus;
  heartbeatIntervalSeconds: number;
  configurationRevision: number;
  offlineAt: Date;
  stale: boolean;
}

/** The agent as the heartbeat feed reads it: its public columns. */
export type WatchedAgent = Omit<AgentRow, 'tokenHash' | 'statusBeforeHeartbeat' | 'graceUntil' | 'nameKey'>;

const { tokenHash: _secret, statusBeforeHeartbeat: _bookkeeping, graceUntil: _grace, nameKey: _key, ...WATCHED_COLUMNS } = getTableColumns(agents);

/** Heartbeat writes in the order their agents' rows are locked. */
export const compareAgentIds = (x: HeartbeatWrite, y: HeartbeatWrite) => (x.agentId < y.agentId ? -1 : x.agentId > y.agentId ? 1 : 0);

/** A written row as the statement returns it: its input's place in the batch (from 1), then its values. */
type ReturnedRow = [number, AgentStatus, AgentStatus, number, number, boolean];

/**
 * The SQL of liveness, built once from the policy: the heartbeat batch, the sweep, the
 * outage mark and grace, and the heartbeat feed's read.
 */
export class LivenessStore {
  private readonly stale: SQL;
  private readonly health: SQL;
  private readonly status: SQL;
  private readonly keep = sql.raw(String(RECENT_HEARTBEATS));

  constructor(private readonly policy: LivenessPolicy) {
    this.stale = policy.staleSql(sql`u.seq`, sql`a.last_sequence`);
    this.health = sql`(case when ${this.stale} then a.health else u.health end)`;
    this.status = policy.statusSql(this.health);
  }

  /**
   * The heartbeat batch: one UPDATE, matched on id *and* token hash, so a revoked or
   * foreign token writes nothing. Each accepted heartbeat is also prepended to the row's
   * own short history (time and the health in effect after it, so a stale one records
   * the kept health), trimmed to RECENT_HEARTBEATS: no second statement, no index.
   *
   * The new values are computed from the row version the UPDATE replaces (PostgreSQL
   * re-reads a row changed by a concurrent commit, and re-checks the WHERE clause, before
   * applying them), and that version's status is kept in status_before_heartbeat: so the
   * statement returns each transition exactly without locking its rows in a step of its
   * own. Input sorted by id makes concurrent batches take their row locks in one order
   * (the batcher's batches come sorted; any other input is sorted here).
   *
   * With `unchangedOnly`, rows whose status the heartbeat would change are left alone,
   * so the statement has no transition to record and may commit on its own.
   *
   * Returns a row for each write, in the order given, or undefined where no agent matched
   * its id and token. One agent and token may be given once (the batcher merges them): a
   * row is updated once, so a second write of the pair would get no row.
   */
  async writeHeartbeats(execute: (query: SQL) => Promise<unknown>, batch: HeartbeatWrite[], now: Date, { unchangedOnly = false } = {}): Promise<(HeartbeatRow | undefined)[]> {
    const { stale, health, status, keep } = this;
    // Each input's place in `batch`, in id order.
    const order = batch.map((_, i) => i);
    if (!batch.every((w, i) => i === 0 || compareAgentIds(batch[i - 1], w) <= 0)) order.sort((x, y) => compareAgentIds(batch[x], batch[y]));
    const sorted = order.map((i) => batch[i]);
    // Ids (from a token's checked hex), hashes (hex) and health words need no quoting, so
    // those arrays go as literals joined here; the driver quotes the messages.
    const literal = (pick: (w: HeartbeatWrite) => string) => `{${sorted.map(pick).join(',')}}`;
    const result = await execute(sql`
      with input as (
        select * from unnest(
          ${literal((w) => w.agentId)}::uuid[], ${literal((w) => w.tokenHash)}::text[], ${literal((w) => w.health)}::health_status[],
          ${sql.param(sorted.map((w) => w.message))}::text[], ${numberArray(sorted.map((w) => w.sequence))}::int[]
        ) with ordinality as u(id, token_hash, health, message, seq, n)
      ), updated as (
        update agents a set
          last_heartbeat = ${now}::timestamptz,
          offline_at = ${this.policy.deadlineSql(now, sql`a.heartbeat_interval_seconds`)},
          health = ${health},
          recent_heartbeat_at = (array_prepend(${now}::timestamptz, a.recent_heartbeat_at))[1:${keep}],
          recent_health = (array_prepend(${health}, a.recent_health))[1:${keep}],
          health_message = case when ${stale} then a.health_message else u.message end,
          last_sequence = case when ${stale} then a.last_sequence else coalesce(u.seq, a.last_sequence) end,
          status = ${status},
          status_changed_at = case when ${status} = a.status then a.status_changed_at else ${now}::timestamptz end,
          status_before_heartbeat = a.status
        from input u
        -- The ids once more as a list: the planner then finds the rows by primary key rather
        -- than hashing the whole table to join a few hundred of them.
        where a.id = u.id and a.id = any(array(select id from input)) and a.token_hash = u.token_hash
          ${unchangedOnly ? sql`and ${status} = a.status` : sql``}
        -- Each row by its input's place rather than by its id and token hash: the answer's text
        -- is a third as long, and the id and hash are the input's own strings.
        returning u.n, a.status_before_heartbeat, a.status, a.heartbeat_interval_seconds, a.configuration_revision,
                  -- last_sequence kept its old value exactly when the heartbeat was stale
                  ${stale} as stale
      )
      select json_agg(json_build_array(n, status_before_heartbeat, status, heartbeat_interval_seconds, configuration_revision, stale))::text as rows
      from updated
    `);
    // One row of JSON text for the whole batch: parsed at once by JSON.parse, rather than a
    // result row (and its per-column parsing) per agent. offline_at is computed here as the
    // statement computes it, rather than parsed back from text.
    const text = rowsOf<{ rows: string | null }>(result)[0]?.rows;
    const rows = new Array<HeartbeatRow | undefined>(batch.length).fill(undefined);
    if (!text) return rows;
    // Agents mostly share an interval, so mostly one deadline: one Date for all who share it.
    const deadlines = new Map<number, Date>();
    const deadline = (interval: number) => {
      let at = deadlines.get(interval);
      if (!at) deadlines.set(interval, (at = this.policy.deadline(now, interval)));
      return at;
    };
    for (const [n, previousStatus, status, interval, revision, stale] of JSON.parse(text) as ReturnedRow[]) {
      const { agentId, tokenHash } = sorted[n - 1];
      rows[order[n - 1]] = {
        id: agentId,
        tokenHash,
        previousStatus,
        status,
        heartbeatIntervalSeconds: interval,
        configurationRevision: revision,
        offlineAt: deadline(interval),
        stale,
      };
    }
    return rows;
  }

  /**
   * Records that a sweep runs now, by the database's clock, and returns how long ago the
   * previous one ran anywhere (null when none ever did). The row stays locked until
   * `tx` ends, so sweeps on all replicas take turns, and the first one after an outage
   * is the one that sees it.
   */
  async markSweep(tx: Db): Promise<{ gapMs: number | null }> {
    const result = await tx.execute(sql`
      with previous as (select swept_at from liveness_sweeps where id = 1 for update)
      update liveness_sweeps s set swept_at = clock_timestamp() from previous where s.id = 1
      returning (extract(epoch from clock_timestamp() - previous.swept_at) * 1000)::float8 as gap_ms
    `);
    const [row] = rowsOf<{ gap_ms: number | null }>(result);
    if (row) return { gapMs: row.gap_ms };
    await tx.execute(sql`insert into liveness_sweeps (id, swept_at) values (1, clock_timestamp()) on conflict (id) do nothing`);
    return { gapMs: null };
  }

  /**
   * After an outage: every agent not offline gets a full deadline from `now` before it can
   * go offline; one whose deadline was already later keeps it. Returns how many got one.
   */
  async grantGrace(tx: Db, now: Date): Promise<number> {
    const graceEnd = this.policy.deadlineSql(now, sql`heartbeat_interval_seconds`);
    const result = await tx.execute(sql`
      with granted as (
        update agents set offline_at = ${graceEnd}, grace_until = ${graceEnd}
        where status <> 'offline' and (offline_at is null or offline_at < ${graceEnd})
        returning 1
      )
      select count(*)::int as n from granted
    `);
    return rowsOf<{ n: number }>(result)[0]?.n ?? 0;
  }

  /**
   * One scan of the agents not offline whose deadline falls by `until`: up to `limit` of
   * those already due, in id order, read without locking them, and, when fewer are due,
   * the earliest deadline still ahead. The scan reads the whole table (a deadline index
   * would cost every heartbeat its HOT update) and runs several times a second, so it is
   * kept to one backend: a parallel plan, chosen once the table passes a few megabytes,
   * forked two worker processes per scan.
   */
  async due(tx: Db, now: Date, until: Date, limit: number): Promise<{ ids: string[]; next: Date | null }> {
    await tx.execute(sql`set local max_parallel_workers_per_gather = 0`);
    const result = await tx.execute(sql`
      select id::text as id, offline_at as at, offline_at <= ${now} as due from agents
      where status <> 'offline' and offline_at <= ${until}
      order by due desc, case when offline_at <= ${now} then id end, offline_at
      limit ${limit + 1}
    `);
    const ids: string[] = [];
    for (const row of rowsOf<{ id: string; at: Date | string; due: boolean }>(result)) {
      if (!row.due) return { ids, next: new Date(row.at) };
      if (ids.length === limit) break;
      ids.push(row.id);
    }
    return { ids, next: null };
  }

  /**
   * Marks these agents offline where their deadline has still passed (re-checked on the
   * row version the UPDATE replaces, as in the heartbeat batch), and records each one's
   * transition, all in one statement: the events are built from the updated rows.
   * Returns how many went offline.
   */
  async markOffline(tx: Db, ids: string[], now: Date, at: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await tx.execute(sql`
      with offline as (
        update agents a set status = 'offline', status_before_heartbeat = a.status, status_changed_at = ${now}::timestamptz
        where a.id = any(${sql.param(ids)}::uuid[]) and a.status <> 'offline' and a.offline_at <= ${now}
        returning ${snapshotColumnsSql('a')}, a.status_before_heartbeat, a.grace_until
      ), recorded as (
        ${statusChangeEventsSql('offline', at, sql`offline.status_before_heartbeat`, this.policy.offlineReasonSql('offline'))}
        returning 1
      )
      select count(*)::int as n from recorded
    `);
    return rowsOf<{ n: number }>(result)[0]?.n ?? 0;
  }

  /**
   * The heartbeat feed's read: the watched agents whose last_heartbeat differs from the
   * one given for each (`seen`, null for "any").
   */
  readWatched(db: Db, ids: string[], seen: (string | null)[]): Promise<WatchedAgent[]> {
    return db
      .select(WATCHED_COLUMNS)
      .from(agents)
      .innerJoin(sql`unnest(${sql.param(ids)}::uuid[], ${sql.param(seen)}::timestamptz[]) as watched(id, seen)`, sql`watched.id = ${agents.id}`)
      .where(sql`${agents.lastHeartbeat} is distinct from watched.seen`);
  }
}
