import { integer, pgTable, primaryKey, timestamp } from 'drizzle-orm/pg-core';
import { agentStatus } from '../agents/agents.table';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * One row: when an offline sweep last ran on any replica, by the database's clock. A
 * sweep that finds it much older than the sweep interval knows the server (or its
 * database) was away, and grants agents a grace period before marking any offline.
 * NULL until the first sweep.
 */
export const livenessSweeps = pgTable('liveness_sweeps', {
  id: integer('id').primaryKey(),
  sweptAt: at('swept_at'),
});

/**
 * The fleet's status changes per minute, net, kept by a durable consumer of the event
 * log: the number of agents in a status at the end of a minute is the sum of its deltas
 * up to that minute. So the availability of the whole fleet over a day is a short
 * aggregate, not a replay of every event.
 */
export const agentStatusMinutes = pgTable(
  'agent_status_minutes',
  {
    minute: at('minute').notNull(),
    status: agentStatus('status').notNull(),
    delta: integer('delta').notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.status] })],
);
