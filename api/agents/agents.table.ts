import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';

export const agentStatus = pgEnum('agent_status', ['online', 'degraded', 'offline']);
export const healthStatus = pgEnum('health_status', ['healthy', 'degraded', 'unhealthy']);
/**
 * Who put a tag on an agent: the agent's own registration, or an admin (tag mutations, or
 * an enrollment key's default tags). A registration's tags replace only the agent's own.
 */
export const tagSource = pgEnum('tag_source', ['agent', 'admin']);

/** How many heartbeats each agent row keeps (Agent.recentHeartbeats). */
export const RECENT_HEARTBEATS = 30;

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

// Stored with fillfactor 80 (migration 20261129180850_agents_fillfactor, by hand: drizzle-kit
// has no table storage options), so a heartbeat's new row version usually fits on its page.
export const agents = pgTable(
  'agents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: varchar('name', { length: 255 }).notNull(),
    // The name's natural-order key: natural_sort_key (migration 20261130164835_natural_order)
    // is naturalKey of shared/agent-order.ts in SQL. The fleet orders by it in the "C"
    // collation, as the dashboard does; generated, so every way of inserting agents fills
    // it, and only a change of name (there is none: the name is identity) recomputes it.
    nameKey: text('name_key').notNull().generatedAlwaysAs(sql`natural_sort_key(name)`),
    type: varchar('type', { length: 64 }).notNull(),
    host: varchar('host', { length: 255 }).notNull(),
    port: integer('port').notNull(),
    environment: varchar('environment', { length: 64 }).notNull(),
    status: agentStatus('status').notNull().default('online'),
    // When the current status began: set by every write that changes status (registration,
    // re-registration, heartbeat transitions, the sweeper), in the same statement.
    statusChangedAt: at('status_changed_at').notNull().defaultNow(),
    // Last health the agent reported; status is derived from it and from the server's clock.
    health: healthStatus('health').notNull().default('healthy'),
    healthMessage: varchar('health_message', { length: 1024 }),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    heartbeatIntervalSeconds: integer('heartbeat_interval_seconds').notNull().default(30),
    // Hot columns, rewritten by every heartbeat: deliberately not indexed so that
    // PostgreSQL can apply them as HOT updates (unless the same heartbeat changes the
    // indexed status column, as one that moves an agent between online and degraded does).
    lastHeartbeat: at('last_heartbeat'),
    lastSequence: integer('last_sequence'),
    // The status before the latest write that may change it (the heartbeat batch, the sweep),
    // set by that write itself: the batch
    // UPDATE returns it beside the new status, so it learns of a transition from the row
    // version it actually replaced, without first locking the rows in a separate step.
    statusBeforeHeartbeat: agentStatus('status_before_heartbeat'),
    offlineAt: at('offline_at'),
    // The end of a grace period given after the server's own outage (liveness policy), kept
    // so that going offline when it ends says why. Not cleared by heartbeats: once one moves
    // offline_at, the two no longer agree, and that is all the sweeper asks.
    graceUntil: at('grace_until'),
    // The last accepted heartbeats, newest first, at most RECENT_HEARTBEATS, written by the
    // same batch statement as last_heartbeat: history without a second write, and no index,
    // so these stay HOT-friendly too. recent_health[i] is the health in effect after
    // recent_heartbeat_at[i].
    recentHeartbeatAt: at('recent_heartbeat_at').array().notNull().default(sql`'{}'`),
    recentHealth: healthStatus('recent_health').array().notNull().default(sql`'{}'`),
    configurationRevision: integer('configuration_revision').notNull().default(0),
    // sha256 of the agent's own token; re-registration replaces it, revoking the old one.
    tokenHash: varchar('token_hash', { length: 64 }).notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  // No index on status: it has three values, so the planner would seldom use one, and with
  // it a status change (ten thousand agents going offline in one sweep) could never be a
  // HOT update, one that leaves the table's indexes alone.
  (t) => [
    unique('agents_identity_key').on(t.name, t.host, t.port, t.environment),
    unique('agents_token_hash_key').on(t.tokenHash),
    index('agents_type_idx').on(t.type),
    index('agents_environment_idx').on(t.environment),
    index('agents_created_at_idx').on(t.createdAt),
  ],
);

export const agentTags = pgTable(
  'agent_tags',
  {
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    tag: varchar('tag', { length: 64 }).notNull(),
    // Tags from before sources were kept count as an admin's (migration 20261130164805_tag_source), so none is lost to a re-registration.
    source: tagSource('source').notNull().default('agent'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.tag] }), index('agent_tags_tag_idx').on(t.tag)],
);

export const agentConfigurations = pgTable(
  'agent_configurations',
  {
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    key: varchar('key', { length: 255 }).notNull(),
    value: jsonb('value').$type<unknown>().notNull(),
    updatedAt: at('updated_at').notNull().default(sql`now()`),
    // The agent's configuration_revision made by the write that last changed this key: the
    // check-and-set of setAgentConfiguration and deleteAgentConfiguration compares with it.
    revision: integer('revision').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.key] })],
);

export type AgentRow = typeof agents.$inferSelect;
export type AgentConfigurationRow = typeof agentConfigurations.$inferSelect;
export type TagSource = (typeof tagSource.enumValues)[number];
