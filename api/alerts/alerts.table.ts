import { sql } from 'drizzle-orm';
import { boolean, doublePrecision, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';
import type { AgentRef, Matcher, RuleCondition, RuleScope, WeeklySchedule } from './alerts.types';

export const alertRuleKind = pgEnum('alert_rule_kind', ['agent_status', 'metric_threshold', 'metric_absent', 'flapping']);
export const alertSeverity = pgEnum('alert_severity', ['critical', 'warning', 'info']);
export const alertState = pgEnum('alert_state', ['pending', 'firing', 'resolved']);

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * What to watch and when to alert. `condition` holds the kind's own settings (checked by
 * rules.input.ts); `scope` selects agents as the fleet's filter does. `builtin` names a
 * rule the server created itself, so a restart never creates it twice.
 */
export const alertRules = pgTable('alert_rules', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: varchar('name', { length: 200 }).notNull().unique(),
  kind: alertRuleKind('kind').notNull(),
  scope: jsonb('scope').$type<RuleScope>().notNull().default({}),
  condition: jsonb('condition').$type<RuleCondition>().notNull(),
  forSeconds: integer('for_seconds').notNull().default(0),
  /** metric_threshold: fire after this many consecutive evaluations instead of after `for`. */
  consecutive: integer('consecutive'),
  keepFiringForSeconds: integer('keep_firing_for_seconds').notNull().default(0),
  severity: alertSeverity('severity').notNull().default('warning'),
  labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
  summary: text('summary').notNull().default(''),
  description: text('description').notNull().default(''),
  enabled: boolean('enabled').notNull().default(true),
  builtin: varchar('builtin', { length: 64 }).unique(),
  /** Metric rules: when the next evaluation is due; claimed by one replica at a time. */
  nextEvalAt: at('next_eval_at'),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/**
 * One row per (rule, agent) episode: pending, then firing, then resolved; a re-fire is a
 * new row. The partial unique index is what makes two evaluators (or two replicas)
 * unable to open two episodes of one (rule, agent). `agent` and the rule's name and
 * severity are copies, so an alert outlives its agent and reads without a join.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: uuid('id').primaryKey(),
    ruleId: uuid('rule_id').references(() => alertRules.id, { onDelete: 'set null' }),
    ruleName: varchar('rule_name', { length: 200 }).notNull(),
    ruleKind: alertRuleKind('rule_kind').notNull(),
    agentId: uuid('agent_id').notNull(),
    agent: jsonb('agent').$type<AgentRef>().notNull(),
    state: alertState('state').notNull(),
    severity: alertSeverity('severity').notNull(),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default({}),
    summary: text('summary').notNull().default(''),
    description: text('description').notNull().default(''),
    value: doublePrecision('value'),
    startedAt: at('started_at').notNull(),
    firedAt: at('fired_at'),
    resolvedAt: at('resolved_at'),
    /** Firing, but its condition cleared at this time: it resolves once keep_firing_for has passed. */
    clearingSince: at('clearing_since'),
    resolveReason: text('resolve_reason'),
    /** metric_threshold with `consecutive`: evaluations in a row that held. */
    streak: integer('streak').notNull().default(0),
    acknowledgedAt: at('acknowledged_at'),
    acknowledgedBy: varchar('acknowledged_by', { length: 200 }),
    acknowledgeComment: text('acknowledge_comment'),
    silencedBy: uuid('silenced_by').array().notNull().default(sql`'{}'`),
    flapping: boolean('flapping').notNull().default(false),
    /** When a reminder is next due while it fires unacknowledged (null: none). */
    nextReminderAt: at('next_reminder_at'),
    updatedAt: at('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('alerts_open_key').on(t.ruleId, t.agentId).where(sql`${t.state} <> 'resolved'`),
    index('alerts_state_idx').on(t.state, t.severity),
    index('alerts_agent_idx').on(t.agentId, t.startedAt),
    index('alerts_rule_idx').on(t.ruleId, t.startedAt),
    index('alerts_started_idx').on(t.startedAt),
  ],
);

/**
 * Mutes matching alerts from `startsAt` to `endsAt` (open-ended when null); with a
 * `schedule`, only inside its weekly windows (a maintenance window).
 */
export const alertSilences = pgTable(
  'alert_silences',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    matchers: jsonb('matchers').$type<Matcher[]>().notNull(),
    startsAt: at('starts_at').notNull(),
    endsAt: at('ends_at'),
    schedule: jsonb('schedule').$type<WeeklySchedule>(),
    comment: text('comment').notNull(),
    createdBy: varchar('created_by', { length: 200 }).notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [index('alert_silences_ends_idx').on(t.endsAt)],
);

export type AlertRuleRow = typeof alertRules.$inferSelect;
export type AlertRow = typeof alerts.$inferSelect;
export type SilenceRow = typeof alertSilences.$inferSelect;
