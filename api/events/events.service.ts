import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import { withoutHistory } from '../agents/agents.snapshot';
import type { Db } from '../db';
import type { Clock } from '../clock';
import type { EventBus } from './bus';
import { agentEvents, type AgentEventRow } from './events.table';
import type { AgentEventMessage, EventDraft } from './events.types';

// Held until commit by every transaction that appends events, so ids commit in order.
const APPEND_LOCK = 7_316_002;

export const toMessage = (row: AgentEventRow): AgentEventMessage => ({
  cursor: row.id.toString(),
  type: row.type,
  agentId: row.agentId,
  agent: row.agent as unknown as AgentEventMessage['agent'],
  previousStatus: row.previousStatus,
  status: row.status,
  reason: row.reason,
  data: row.data,
  at: row.at.toISOString(),
});

export class EventLog {
  constructor(
    private readonly db: Db,
    readonly bus: EventBus,
    private readonly clock: Clock,
  ) {}

  /** Call last in a transaction: the lock it takes is held until that transaction ends. */
  async append(tx: Db, drafts: EventDraft[]): Promise<AgentEventMessage[]> {
    if (drafts.length === 0) return [];
    await tx.execute(sql`select pg_advisory_xact_lock(${APPEND_LOCK})`);
    const at = this.clock.now();
    const rows = await tx
      .insert(agentEvents)
      .values(
        drafts.map((d) => ({
          at,
          agentId: d.agent.id,
          type: d.type,
          agent: withoutHistory(d.agent) as unknown as Record<string, unknown>,
          previousStatus: d.previousStatus ?? null,
          status: d.status ?? null,
          reason: d.reason ?? null,
          data: d.data ?? {},
        })),
      )
      .returning();
    await this.bus.signalInTransaction(tx);
    return rows.map(toMessage);
  }

  /** Call after the transaction that appended `messages` has committed. */
  committed(messages: AgentEventMessage[]): void {
    if (messages.length > 0) this.bus.signalCommitted();
  }

  async lastCursor(): Promise<bigint> {
    const [row] = await this.db.select({ max: sql<string | null>`max(${agentEvents.id})::text` }).from(agentEvents);
    return BigInt(row?.max ?? 0);
  }

  /** Events after `cursor`, oldest first, optionally of one agent. */
  async after(cursor: bigint, limit: number, agentId?: string): Promise<AgentEventMessage[]> {
    const rows = await this.db
      .select()
      .from(agentEvents)
      .where(and(gt(agentEvents.id, cursor), agentId ? eq(agentEvents.agentId, agentId) : undefined))
      .orderBy(asc(agentEvents.id))
      .limit(limit);
    return rows.map(toMessage);
  }

  /** The `limit` events before `cursor` (or the newest), oldest first, optionally of one agent. */
  async before(cursor: bigint | undefined, limit: number, agentId?: string): Promise<AgentEventMessage[]> {
    const rows = await this.db
      .select()
      .from(agentEvents)
      .where(and(cursor !== undefined ? lt(agentEvents.id, cursor) : undefined, agentId ? eq(agentEvents.agentId, agentId) : undefined))
      .orderBy(desc(agentEvents.id))
      .limit(limit);
    return rows.reverse().map(toMessage);
  }
}
