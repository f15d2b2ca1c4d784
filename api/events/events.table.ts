import { bigserial, index, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { agentStatus } from '../agents/agents.table';

export const agentEventType = pgEnum('agent_event_type', [
  'registered',
  'updated',
  'deregistered',
  'status_changed',
  'tags_changed',
  'configuration_changed',
]);

/**
 * Append-only log of everything that happened to an agent. `id` is the cursor that
 * subscribers resume from; rows are inserted under a transaction-scoped advisory lock
 * so ids become visible in commit order and a reader never skips a late commit.
 * No foreign key: the history of a deregistered agent outlives it.
 */
export const agentEvents = pgTable(
  'agent_events',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    agentId: uuid('agent_id').notNull(),
    type: agentEventType('type').notNull(),
    previousStatus: agentStatus('previous_status'),
    status: agentStatus('status'),
    reason: text('reason'),
    // Snapshot of the agent as it was after the event, so filters and the log work
    // even once the agent is gone.
    agent: jsonb('agent').$type<Record<string, unknown>>().notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('agent_events_agent_id_idx').on(t.agentId, t.id)],
);

export type AgentEventRow = typeof agentEvents.$inferSelect;
