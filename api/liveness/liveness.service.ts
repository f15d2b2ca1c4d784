import { AGENT_KIND, type AgentStatus } from '../agents/agents.types';
import { invalidAgentToken } from '../auth/agent-tokens';
import { authorizeAgent } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Database, Db } from '../db';
import { AppError } from '../errors';
import type { EventLog } from '../events/events.log';
import { HeartbeatBatcher, type FlushResult } from './heartbeat.batcher';
import { parseHeartbeat } from './liveness.input';
import type { HeartbeatWrite, LivenessStore } from './liveness.store';
import type { LivenessPolicy } from './policy';
import { RateLimiter } from './rate-limit';
import { withRetry } from './retry';
import { recordTransitions } from './transitions';

export interface LivenessDeps {
  db: Db;
  /** Runs the batch statement of heartbeats that change no status, prepared once per connection. */
  prepared: Database['prepared'];
  events: EventLog;
  clock: Clock;
  config: Config;
  policy: LivenessPolicy;
  store: LivenessStore;
  /** How many batches may be written at once (one on the single-connection PGlite). */
  maxInFlight: number;
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
  /**
   * Heartbeats that change their agent's status, written with their events by one
   * transaction at a time: such transactions lock their agents (EventLog.lockSubjects),
   * so several at once would only wait on each other; one at a time, those that queue
   * meanwhile are written together by the next.
   */
  private readonly transitions: HeartbeatBatcher;
  private readonly limiter: RateLimiter;
  /** Beyond this many queued heartbeats the replica sheds load instead of growing memory. */
  private readonly maxQueued: number;
  /** Told of each batch written: heartbeats in it, seconds the write took, whether it failed (for /metrics). */
  onBatch?: (size: number, seconds: number, failed: boolean) => void;
  /** Told of each heartbeat answered, through either door: null when accepted, else the refusal's error code (for /metrics). */
  onAnswer?: (refusedWith: string | null) => void;

  constructor(private readonly deps: LivenessDeps) {
    const { config } = deps;
    this.batcher = new HeartbeatBatcher({
      flushMs: config.heartbeatFlushMs,
      batchSize: config.heartbeatBatchSize,
      maxInFlight: deps.maxInFlight,
      write: (batch) => this.timedFlush(batch),
    });
    this.transitions = new HeartbeatBatcher({ flushMs: 0, batchSize: config.heartbeatBatchSize, maxInFlight: 1, write: (batch) => this.writeTransitions(batch) });
    this.limiter = new RateLimiter(config.heartbeatRateLimit);
    this.maxQueued = config.heartbeatBatchSize * 20;
  }

  /**
   * `before` runs once the heartbeat has been checked and admitted, before it is written
   * (the metrics it carries are checked there, so a refused heartbeat writes none of them).
   */
  async heartbeat(principal: Principal | undefined, agentId: string, raw: Record<string, unknown>, before?: () => Promise<void>): Promise<HeartbeatAnswer> {
    try {
      authorizeAgent(principal, agentId);
      const { health, message, sequence } = parseHeartbeat(raw);
      const wait = this.limiter.take() ?? (this.batcher.queued >= this.maxQueued ? 1 : undefined);
      if (wait !== undefined) throw new AppError('RATE_LIMITED', `too many heartbeats; retry in ${wait} s`, undefined, wait);
      // Awaited only when given: an await of nothing still costs every heartbeat a turn of the microtask queue.
      if (before) await before();
      const row = await this.batcher.enqueue({ agentId, tokenHash: principal.tokenHash, health, message, sequence });
      // No row matched the agent id and the token's hash: the token is revoked or forged, or the agent is gone.
      if (!row) throw invalidAgentToken();
      const now = this.deps.clock.now();
      this.onAnswer?.(null);
      return {
        serverTime: now,
        status: row.status,
        nextHeartbeatBy: new Date(now.getTime() + row.heartbeatIntervalSeconds * 1000),
        offlineAt: row.offlineAt,
        heartbeatIntervalSeconds: row.heartbeatIntervalSeconds,
        configurationRevision: row.configurationRevision,
        staleSequence: row.stale,
      };
    } catch (err) {
      this.onAnswer?.(err instanceof AppError ? err.code : 'INTERNAL');
      throw err;
    }
  }

  private async timedFlush(batch: HeartbeatWrite[]): Promise<FlushResult> {
    const started = performance.now();
    let failed = true;
    try {
      const result = await this.flush(batch);
      failed = false;
      return result;
    } finally {
      this.onBatch?.(batch.length, (performance.now() - started) / 1000, failed);
    }
  }

  /**
   * Most heartbeats change no status: one prepared statement writes those and commits as
   * it runs, a single round trip. The rest, and only if there are any, are written again
   * in a transaction that records their transitions.
   */
  private async flush(batch: HeartbeatWrite[]): Promise<FlushResult> {
    const { prepared, clock, store } = this.deps;
    const rows = await withRetry(() => store.writeHeartbeats((query) => prepared('heartbeat_batch_steady', query), batch, clock.now(), { unchangedOnly: true }));
    if (!rows.includes(undefined)) return rows;
    // An agent written already has its one row: another token for it in this batch matched nothing.
    const written = new Set(batch.filter((_, i) => rows[i]).map((w) => w.agentId));
    const rest = batch.flatMap((w, i) => (rows[i] || written.has(w.agentId) ? [] : [i]));
    const more = await Promise.all(rest.map((i) => this.transitions.enqueue(batch[i])));
    rest.forEach((i, k) => (rows[i] = more[k]));
    return rows;
  }

  /** Heartbeats that (may) change a status, in one transaction with their transitions' events. */
  private async writeTransitions(batch: HeartbeatWrite[]): Promise<FlushResult> {
    const { events, clock, policy, store } = this.deps;
    return withRetry(() =>
      events.transaction(async (tx) => {
        await events.lockSubjects(tx, AGENT_KIND, batch.map((w) => w.agentId));
        const rows = await store.writeHeartbeats((query) => tx.execute(query), batch, clock.now());
        const transitions = rows.flatMap((r, i) =>
          r && r.previousStatus !== r.status
            ? [{ id: r.id, previousStatus: r.previousStatus, status: r.status, reason: policy.reasons.heartbeat(r.previousStatus, r.status, batch[i].health, batch[i].message) }]
            : [],
        );
        await recordTransitions(tx, events, transitions);
        return rows;
      }),
    );
  }

  /** Writes every accepted heartbeat before shutdown. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}
