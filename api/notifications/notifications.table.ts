import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, check, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uuid, varchar } from 'drizzle-orm/pg-core';
import type { Matcher } from '../alerts/alerts.types';
import type { NotificationAlert } from './notifications.types';

export const channelFormat = pgEnum('channel_format', ['json', 'alertmanager', 'slack']);
export const deliveryStatus = pgEnum('delivery_status', ['pending', 'delivered', 'failed']);

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * A webhook. The secret signs every request (Standard Webhooks); it is stored as it is,
 * since signing needs it, and shown only when created or rotated. After a rotation the
 * previous secret signs too until `previous_secret_until`, so receivers can switch over.
 */
export const notificationChannels = pgTable('notification_channels', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: varchar('name', { length: 200 }).notNull().unique(),
  url: text('url').notNull(),
  secret: varchar('secret', { length: 128 }).notNull(),
  previousSecret: varchar('previous_secret', { length: 128 }),
  previousSecretUntil: at('previous_secret_until'),
  format: channelFormat('format').notNull().default('json'),
  enabled: boolean('enabled').notNull().default(true),
  /** Why the server disabled it (a 410 from the receiver), for the operator. */
  disabledReason: text('disabled_reason'),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/** Routes alerts that match to channels, grouped by some of their labels. */
export const notificationPolicies = pgTable('notification_policies', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: varchar('name', { length: 200 }).notNull().unique(),
  matchers: jsonb('matchers').$type<Matcher[]>().notNull().default([]),
  channelIds: uuid('channel_ids').array().notNull(),
  groupBy: varchar('group_by', { length: 64 }).array().notNull().default(sql`'{alertname,environment}'`),
  groupWaitMs: integer('group_wait_ms').notNull().default(500),
  /** 0: no reminders. */
  repeatIntervalSeconds: integer('repeat_interval_seconds').notNull().default(14_400),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: at('created_at').notNull().defaultNow(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/**
 * The outbox: one row per (alert transition, channel), written in the transaction of the
 * transition, its `key` unique so no transition is ever enqueued twice. Rows of one
 * (channel, group) waiting together become one delivery once `due_at` has passed.
 *
 * What a row tells: `event` (firing, resolved or reminder), and the alert as it stood
 * then: the alert event of the transition (`event_id`; the log keeps every event), or,
 * for a reminder, which has no event, the alert itself (`alert`). Ten thousand alerts
 * firing at once are then not written a third time here beside their rows and events.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    key: varchar('key', { length: 200 }).notNull().unique(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    groupKey: varchar('group_key', { length: 1000 }).notNull(),
    alertId: uuid('alert_id').notNull(),
    event: varchar('event', { length: 16 }).$type<NotificationAlert['event']>().notNull(),
    eventId: bigint('event_id', { mode: 'bigint' }),
    alert: jsonb('alert').$type<NotificationAlert>(),
    createdAt: at('created_at').notNull(),
    dueAt: at('due_at').notNull(),
    deliveryId: uuid('delivery_id'),
  },
  (t) => [
    index('notifications_due_idx').on(t.dueAt).where(sql`${t.deliveryId} is null`),
    index('notifications_delivery_idx').on(t.deliveryId),
    index('notifications_alert_idx').on(t.alertId),
    check('notifications_content_check', sql`${t.alert} is not null or ${t.eventId} is not null`),
  ],
);

/**
 * One message to one channel: its body is fixed when it is made, and its id is the
 * `webhook-id` of every attempt, so receivers can tell a retry from a new message.
 * Senders claim a delivery by a lease (`lease_until`) taken under SKIP LOCKED.
 */
export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    groupKey: varchar('group_key', { length: 1000 }).notNull(),
    test: boolean('test').notNull().default(false),
    body: text('body').notNull(),
    alertCount: integer('alert_count').notNull(),
    status: deliveryStatus('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: at('next_attempt_at'),
    leaseUntil: at('lease_until'),
    createdAt: at('created_at').notNull(),
    deliveredAt: at('delivered_at'),
  },
  (t) => [
    index('deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
    index('deliveries_channel_idx').on(t.channelId, t.createdAt),
  ],
);

/** Every attempt of a delivery: the delivery log. */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    at: at('at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    statusCode: integer('status_code'),
    /** ok, http_error, timeout, connection, refused_address, gone. */
    errorClass: varchar('error_class', { length: 32 }).notNull(),
    error: text('error'),
    responseBody: text('response_body'),
    nextAttemptAt: at('next_attempt_at'),
  },
  (t) => [index('delivery_attempts_delivery_idx').on(t.deliveryId, t.at)],
);

export type ChannelRow = typeof notificationChannels.$inferSelect;
export type PolicyRow = typeof notificationPolicies.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;
export type AttemptRow = typeof deliveryAttempts.$inferSelect;
