import { sql } from 'drizzle-orm';
import {
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from 'drizzle-orm/pg-core';
import { agents } from '../agents/agents.table';

// Alert evaluation arrives in a later issue; the tables already carry the
// Prometheus/Alertmanager lifecycle: a rule holds for `for_seconds` while pending
// before it fires, and an instance is resolved (never deleted) when it clears.
export const alertRuleKind = pgEnum('alert_rule_kind', ['agent_status', 'metric_threshold', 'heartbeat_absent']);
export const alertSeverity = pgEnum('alert_severity', ['info', 'warning', 'critical']);
export const alertState = pgEnum('alert_state', ['pending', 'firing', 'resolved']);

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const alertRules = pgTable('alert_rules', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: varchar('name', { length: 255 }).notNull().unique(),
  kind: alertRuleKind('kind').notNull(),
  // Which agents the rule watches, in AgentFilter's shape ({} = every agent).
  scope: jsonb('scope').$type<Record<string, unknown>>().notNull().default({}),
  // Kind-specific condition, e.g. {"metric":"cpu","op":">","threshold":90}.
  condition: jsonb('condition').$type<Record<string, unknown>>().notNull(),
  forSeconds: integer('for_seconds').notNull().default(0),
  severity: alertSeverity('severity').notNull().default('warning'),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
  annotations: jsonb('annotations').$type<Record<string, string>>().notNull().default({}),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

export const alertInstances = pgTable(
  'alert_instances',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ruleId: uuid('rule_id')
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'set null' }),
    // Identifies the alerting series (rule + agent + labels) across evaluations.
    fingerprint: varchar('fingerprint', { length: 64 }).notNull(),
    state: alertState('state').notNull().default('pending'),
    value: doublePrecision('value'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    activeAt: at('active_at').notNull().defaultNow(),
    firedAt: at('fired_at'),
    resolvedAt: at('resolved_at'),
    lastEvaluatedAt: at('last_evaluated_at').notNull().defaultNow(),
    acknowledgedAt: at('acknowledged_at'),
    acknowledgedBy: varchar('acknowledged_by', { length: 255 }),
  },
  (t) => [
    // At most one open (pending or firing) instance per series.
    uniqueIndex('alert_instances_open_key')
      .on(t.ruleId, t.fingerprint)
      .where(sql`${t.state} <> 'resolved'`),
    index('alert_instances_state_idx').on(t.state),
    index('alert_instances_agent_idx').on(t.agentId),
  ],
);
