import { inArray } from 'drizzle-orm';
import { snapshotsOf } from '../agents/agents.snapshot';
import { agents } from '../agents/agents.table';
import type { AgentStatus } from '../agents/agents.types';
import { authorizeAgent } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Database, Db } from '../db';
import { AppError, notFound } from '../errors';
import type { EventLog } from '../events/events.service';
import type { AgentEventMessage } from '../events/events.types';
import { HeartbeatBatcher, writeHeartbeats, type FlushResult, type HeartbeatWrite } from './heartbeat.batcher';
import { parseHeartbeat } from './liveness.input';
import { RateLimiter } from './rate-limit';
import { withRetry } from './retry';

export interface Transition {
  id: string;
  previousStatus: AgentStatus;
  status: AgentStatus;
  reason: string;
}

export interface LivenessDeps {
  db: Db;
  /** Runs the batch statement of heartbeats that change no status, prepared once per connection. */
  prepared: Database['prepared'];
  events: EventLog;
  clock: Clock;
  config: Config;
  /** How many batches may be written at once (one on the single-connection PGlite). */
  maxInFlight: number;
}

/** Records status transitions as events in the transaction that made them. */
export async function recordTransitions(tx: Db, events: EventLog, transitions: Transition[]): Promise<AgentEventMessage[]> {
  if (transitions.length === 0) return [];
  const snapshots = await snapshotsOf(tx, transitions.map((t) => t.id));
  return events.append(
    tx,
    transitions.flatMap((t) => {
      const agent = snapshots.get(t.id);
      return agent ? [{ type: 'status_changed' as const, agent, previousStatus: t.previousStatus, status: t.status, reason: t.reason }] : [];
    }),
  );
}

function heartbeatReason(previous: AgentStatus, status: AgentStatus, health: HeartbeatWrite): string {
  if (status === 'degraded') return `agent reported ${health.health}${health.message ? `: ${health.message}` : ''}`;
  return previous === 'offline' ? 'heartbeat received' : 'agent reported healthy';
}

export interface HeartbeatAnswer {
  serverTime: Date;
  status: AgentStatus;
  nextHeartbeatBy: Date;
  offlineAt: Date;
  heartbeatIntervalSeconds: number;
  configurationRevision: number;
  staleSequence: boolean;
}

/** Heartbeats: validated here, written in batches, answered once committed. */
export class LivenessService {
  private readonly batcher: HeartbeatBatcher;
  private readonly limiter: RateLimiter;
  /** Beyond this many queued heartbeats the replica sheds load instead of growing memory. */
  private readonly maxQueued: number;

  constructor(private readonly deps: LivenessDeps) {
    const { config } = deps;
    this.batcher = new HeartbeatBatcher({
      flushMs: config.heartbeatFlushMs,
      batchSize: config.heartbeatBatchSize,
      maxInFlight: deps.maxInFlight,
      write: (batch) => this.flush(batch),
    });
    this.limiter = new RateLimiter(config.heartbeatRateLimit);
    this.maxQueued = config.heartbeatBatchSize * 20;
  }

  async heartbeat(principal: Principal | undefined, agentId: string, raw: Record<string, unknown>): Promise<HeartbeatAnswer> {
    authorizeAgent(principal, agentId);
    const { health, message, sequence } = parseHeartbeat(raw);
    const wait = this.limiter.take() ?? (this.batcher.queued >= this.maxQueued ? 1 : undefined);
    if (wait !== undefined) throw new AppError('RATE_LIMITED', `too many heartbeats; retry in ${wait} s`, undefined, wait);
    const row = await this.batcher.enqueue({ agentId, tokenHash: principal.tokenHash, health, message, sequence });
    if (!row) throw await this.whyUnmatched(agentId);
    const now = this.deps.clock.now();
    return {
      serverTime: now,
      status: row.status,
      nextHeartbeatBy: new Date(now.getTime() + row.heartbeatIntervalSeconds * 1000),
      offlineAt: row.offlineAt,
      heartbeatIntervalSeconds: row.heartbeatIntervalSeconds,
      configurationRevision: row.configurationRevision,
      staleSequence: row.stale,
    };
  }

  /** A heartbeat that matched no row names an agent that is gone, or carries a revoked token. */
  private async whyUnmatched(agentId: string): Promise<AppError> {
    const [row] = await this.deps.db.select({ id: agents.id }).from(agents).where(inArray(agents.id, [agentId]));
    return row ? new AppError('FORBIDDEN', 'the agent token is not valid (revoked by a later registration?)') : notFound(`agent ${agentId}`);
  }

  /**
   * Most heartbeats change no status: one prepared statement writes those and commits as
   * it runs, a single round trip. The rest, and only if there are any, are written again
   * in a transaction that records their transitions.
   */
  private async flush(batch: HeartbeatWrite[]): Promise<FlushResult> {
    const { db, prepared, events, clock, config } = this.deps;
    const steady = await withRetry(() => writeHeartbeats((query) => prepared('heartbeat_batch_steady', query), batch, clock.now(), config.missedHeartbeats, { unchangedOnly: true }));
    const written: FlushResult = new Map(steady.map((r) => [r.id, r]));
    if (written.size === batch.length) return written;
    const rest = batch.filter((w) => !written.has(w.agentId));
    const byId = new Map(rest.map((w) => [w.agentId, w]));
    const { rows, messages } = await withRetry(() =>
      db.transaction(async (tx) => {
        const rows = await writeHeartbeats((query) => tx.execute(query), rest, clock.now(), config.missedHeartbeats);
        const transitions = rows
          .filter((r) => r.previousStatus !== r.status)
          .map((r) => ({ id: r.id, previousStatus: r.previousStatus, status: r.status, reason: heartbeatReason(r.previousStatus, r.status, byId.get(r.id)!) }));
        return { rows, messages: await recordTransitions(tx, events, transitions) };
      }),
    );
    events.committed(messages);
    for (const r of rows) written.set(r.id, r);
    return written;
  }

  /** Writes every accepted heartbeat before shutdown. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}

