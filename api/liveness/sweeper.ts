import { sql } from 'drizzle-orm';
import type { Clock } from '../clock';
import type { Db } from '../db';
import type { EventLog } from '../events/events.service';
import type { AgentStatus } from '../agents/agents.types';
import { recordTransitions } from './liveness.service';
import { withRetry } from './retry';

const BATCH = 5000;

/**
 * Marks agents offline once their deadline (`offline_at`) has passed. Every replica
 * runs one: rows are claimed with FOR UPDATE SKIP LOCKED and re-checked under the
 * lock, so each transition is made, and recorded, by exactly one of them.
 */
export class OfflineSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly deps: { db: Db; events: EventLog; clock: Clock; missedHeartbeats: number; intervalMs: number; onError(err: unknown): void },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.sweep().catch((err) => (this.deps.onError(err), 0)).finally(() => (this.running = undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Sweeps until nothing is due; returns how many agents went offline. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.sweepBatch();
      total += n;
      if (n < BATCH) return total;
    }
  }

  private async sweepBatch(): Promise<number> {
    const { db, events, clock, missedHeartbeats } = this.deps;
    const messages = await withRetry(() =>
      db.transaction(async (tx) => {
        const now = clock.now();
        const result = (await tx.execute(sql`
          with due as (
            select id, status as previous_status from agents
            where status <> 'offline' and offline_at <= ${now}
            order by id
            limit ${BATCH}
            for update skip locked
          )
          update agents a set status = 'offline'
          from due where a.id = due.id
          returning a.id, due.previous_status, a.heartbeat_interval_seconds, a.last_heartbeat
        `)) as unknown as { rows: { id: string; previous_status: AgentStatus; heartbeat_interval_seconds: number; last_heartbeat: string | null }[] };
        return recordTransitions(
          tx,
          events,
          result.rows.map((r) => ({
            id: r.id,
            previousStatus: r.previous_status,
            status: 'offline',
            reason: `no heartbeat for ${missedHeartbeats} × ${r.heartbeat_interval_seconds} s${r.last_heartbeat ? '' : ' since registration'}`,
          })),
        );
      }),
    );
    events.committed(messages);
    return messages.length;
  }
}
