import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { deliveries, deliveryAttempts, notificationChannels, notificationPolicies, type AttemptRow, type ChannelRow, type DeliveryRow, type PolicyRow } from './notifications.table';
import type { NotificationAlert } from './notifications.types';

const date = (v: unknown) => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(v as string));

export interface Enqueued {
  key: string;
  event: NotificationAlert['event'];
  channelId: string;
  groupKey: string;
  alertId: string;
  /** The alert event that tells the transition; or, without one, the alert itself. */
  eventId: bigint | null;
  alert: NotificationAlert | null;
  groupWaitMs: number;
}

export interface ClaimedNotification {
  id: string;
  channelId: string;
  groupKey: string;
  alert: NotificationAlert;
}

/** An outbox row as claimed: its own alert, or the alert of the event it refers to (that event's `payload.alert`). */
export interface ClaimedRow extends Omit<ClaimedNotification, 'alert'> {
  event: NotificationAlert['event'];
  alert: NotificationAlert | null;
  eventAlert: unknown;
}

/** The SQL of channels, policies, the outbox and deliveries. */
const DELIVERY_COLUMNS = sql.raw('d.id, d.channel_id, d.group_key, d.test, d.body, d.alert_count, d.status, d.attempts, d.next_attempt_at, d.lease_until, d.created_at, d.delivered_at');

const toDelivery = (r: Record<string, unknown>): DeliveryRow => ({
  id: r.id as string,
  channelId: r.channel_id as string,
  groupKey: r.group_key as string,
  test: r.test as boolean,
  body: r.body as string,
  alertCount: r.alert_count as number,
  status: r.status as DeliveryRow['status'],
  attempts: r.attempts as number,
  nextAttemptAt: date(r.next_attempt_at),
  leaseUntil: date(r.lease_until),
  createdAt: date(r.created_at)!,
  deliveredAt: date(r.delivered_at),
});

export const notificationStore = {
  channels: (db: Db) => db.select().from(notificationChannels).orderBy(asc(notificationChannels.name)),
  /** One channel; with `forUpdate`, locked for the rest of the caller's transaction. */
  async channel(db: Db, id: string, opts: { forUpdate?: boolean } = {}): Promise<ChannelRow | undefined> {
    const query = db.select().from(notificationChannels).where(eq(notificationChannels.id, id));
    const [row] = opts.forUpdate ? await query.for('update') : await query;
    return row;
  },
  async channelsByIds(db: Db, ids: string[]): Promise<ChannelRow[]> {
    return ids.length === 0 ? [] : db.select().from(notificationChannels).where(inArray(notificationChannels.id, ids));
  },
  async insertChannel(db: Db, values: typeof notificationChannels.$inferInsert): Promise<ChannelRow | undefined> {
    const [row] = await db.insert(notificationChannels).values(values).onConflictDoNothing().returning();
    return row;
  },
  async updateChannel(db: Db, id: string, values: Partial<typeof notificationChannels.$inferInsert>): Promise<ChannelRow | undefined> {
    const [row] = await db.update(notificationChannels).set(values).where(eq(notificationChannels.id, id)).returning();
    return row;
  },
  async deleteChannel(db: Db, id: string): Promise<boolean> {
    const gone = await db.delete(notificationChannels).where(eq(notificationChannels.id, id)).returning({ id: notificationChannels.id });
    if (gone.length > 0) await db.execute(sql`update notification_policies set channel_ids = array_remove(channel_ids, ${id}::uuid) where ${id}::uuid = any(channel_ids)`);
    return gone.length > 0;
  },
  async channelNameTaken(db: Db, name: string, exceptId?: string): Promise<boolean> {
    const rows = await db.select({ id: notificationChannels.id }).from(notificationChannels).where(eq(notificationChannels.name, name));
    return rows.some((r) => r.id !== exceptId);
  },

  policies: (db: Db) => db.select().from(notificationPolicies).orderBy(asc(notificationPolicies.name)),
  async policy(db: Db, id: string): Promise<PolicyRow | undefined> {
    const [row] = await db.select().from(notificationPolicies).where(eq(notificationPolicies.id, id));
    return row;
  },
  async insertPolicy(db: Db, values: typeof notificationPolicies.$inferInsert): Promise<PolicyRow | undefined> {
    const [row] = await db.insert(notificationPolicies).values(values).onConflictDoNothing().returning();
    return row;
  },
  async updatePolicy(db: Db, id: string, values: Partial<typeof notificationPolicies.$inferInsert>): Promise<PolicyRow | undefined> {
    const [row] = await db.update(notificationPolicies).set(values).where(eq(notificationPolicies.id, id)).returning();
    return row;
  },
  async deletePolicy(db: Db, id: string): Promise<boolean> {
    return (await db.delete(notificationPolicies).where(eq(notificationPolicies.id, id)).returning({ id: notificationPolicies.id })).length > 0;
  },
  async policyNameTaken(db: Db, name: string, exceptId?: string): Promise<boolean> {
    const rows = await db.select({ id: notificationPolicies.id }).from(notificationPolicies).where(eq(notificationPolicies.name, name));
    return rows.some((r) => r.id !== exceptId);
  },

  /** Enabled policies and the enabled channels they name, for routing inside a transition's transaction. */
  async routing(tx: Db): Promise<{ policies: PolicyRow[]; channels: Map<string, ChannelRow> }> {
    const policies = await tx.select().from(notificationPolicies).where(eq(notificationPolicies.enabled, true)).orderBy(asc(notificationPolicies.name));
    const ids = [...new Set(policies.flatMap((p) => p.channelIds))];
    const channels = ids.length === 0 ? [] : await tx.select().from(notificationChannels).where(and(inArray(notificationChannels.id, ids), eq(notificationChannels.enabled, true)));
    return { policies, channels: new Map(channels.map((c) => [c.id, c])) };
  },

  /** The channels (and groups) that were told each of these alerts fired. */
  async firingRecipients(tx: Db, alertIds: string[]): Promise<{ alertId: string; channelId: string; groupKey: string }[]> {
    if (alertIds.length === 0) return [];
    return rowsOf<{ alert_id: string; channel_id: string; group_key: string }>(
      await tx.execute(sql`
        select distinct alert_id, channel_id, group_key from notifications
        where alert_id = any(${sql.param(alertIds)}::uuid[]) and event in ('firing', 'reminder')`),
    ).map((r) => ({ alertId: r.alert_id, channelId: r.channel_id, groupKey: r.group_key }));
  },

  /**
   * Enqueues in the caller's transaction; a key already enqueued is skipped. A row joins
   * the group already waiting for its channel, if any, and is due with it; otherwise it
   * is due after its policy's group wait.
   */
  async enqueue(tx: Db, rows: Enqueued[], now: Date): Promise<number> {
    if (rows.length === 0) return 0;
    const json = rows.map((r) => ({
      key: r.key,
      event: r.event,
      channel_id: r.channelId,
      group_key: r.groupKey,
      alert_id: r.alertId,
      event_id: r.eventId?.toString() ?? null,
      alert: r.alert,
      wait: r.groupWaitMs,
    }));
    const result = await tx.execute(sql`
      with incoming as (
        select * from jsonb_to_recordset(${JSON.stringify(json)}::jsonb)
          as r(key text, event text, channel_id uuid, group_key text, alert_id uuid, event_id bigint, alert jsonb, wait int)
      ),
      waiting as (
        select channel_id, group_key, min(due_at) as due_at from notifications
        where delivery_id is null and (channel_id, group_key) in (select channel_id, group_key from incoming)
        group by 1, 2
      )
      insert into notifications (key, event, channel_id, group_key, alert_id, event_id, alert, created_at, due_at)
      select i.key, i.event, i.channel_id, i.group_key, i.alert_id, i.event_id, i.alert, ${now}::timestamptz,
             coalesce(w.due_at, ${now}::timestamptz + make_interval(secs => i.wait / 1000.0))
      from incoming i left join waiting w on w.channel_id = i.channel_id and w.group_key = i.group_key
      on conflict (key) do nothing
      returning id`);
    return rowsOf(result).length;
  },

  /**
   * Claims the groups that are due: their waiting rows, locked (SKIP LOCKED, so replicas
   * never claim one row twice) for the caller's transaction, oldest first.
   */
  async claimDue(tx: Db, now: Date, limit: number): Promise<ClaimedRow[]> {
    const rows = rowsOf<{ id: string; channel_id: string; group_key: string; event: NotificationAlert['event']; alert: NotificationAlert | null; event_alert: unknown }>(
      await tx.execute(sql`
        select n.id::text as id, n.channel_id, n.group_key, n.event, n.alert, e.payload->'alert' as event_alert
        from notifications n left join events e on e.id = n.event_id
        where n.delivery_id is null and n.due_at <= ${now}
        order by n.due_at, n.id
        limit ${limit}
        for update of n skip locked`),
    );
    return rows.map((r) => ({ id: r.id, channelId: r.channel_id, groupKey: r.group_key, event: r.event, alert: r.alert, eventAlert: r.event_alert }));
  },

  async insertDelivery(tx: Db, values: typeof deliveries.$inferInsert, notificationIds: string[]): Promise<void> {
    await tx.insert(deliveries).values(values);
    if (notificationIds.length > 0) {
      await tx.execute(sql`update notifications set delivery_id = ${values.id} where id = any(${sql.param(notificationIds)}::bigint[])`);
    }
  },

  /**
   * Leases deliveries that are due, on enabled channels, for `leaseMs`: taken under SKIP
   * LOCKED, so two replicas never take the same one; a sender that dies leaves its lease
   * to run out, and the delivery is sent again (with the same webhook-id).
   */
  async lease(db: Db, now: Date, leaseMs: number, limit: number, onlyId?: string): Promise<DeliveryRow[]> {
    const rows = await db.execute(sql`
      update deliveries d set lease_until = ${now}::timestamptz + make_interval(secs => ${leaseMs / 1000}), attempts = d.attempts + 1
      where d.id in (
        select x.id from deliveries x join notification_channels c on c.id = x.channel_id
        where x.status = 'pending' and c.enabled and x.next_attempt_at <= ${now} and (x.lease_until is null or x.lease_until <= ${now})
          ${onlyId ? sql`and x.id = ${onlyId}::uuid` : sql``}
        order by x.next_attempt_at limit ${limit}
        for update of x skip locked)
      returning ${DELIVERY_COLUMNS}`);
    return rowsOf<Record<string, unknown>>(rows).map(toDelivery);
  },

  /** Records an attempt and where the delivery stands after it, in one transaction. */
  async recordAttempt(db: Db, attempt: typeof deliveryAttempts.$inferInsert, outcome: { status: DeliveryRow['status']; nextAttemptAt: Date | null }, disableChannel?: { id: string; reason: string }): Promise<void> {
    await db.transaction(async (tx) => {
      await tx.insert(deliveryAttempts).values(attempt);
      await tx
        .update(deliveries)
        .set({ status: outcome.status, nextAttemptAt: outcome.nextAttemptAt, leaseUntil: null, deliveredAt: outcome.status === 'delivered' ? attempt.at : null })
        .where(eq(deliveries.id, attempt.deliveryId));
      if (disableChannel) {
        await tx.update(notificationChannels).set({ enabled: false, disabledReason: disableChannel.reason, updatedAt: attempt.at }).where(eq(notificationChannels.id, disableChannel.id));
      }
    });
  },

  /**
   * Fails a delivery without recording an attempt (see DeliveryWorker.giveUp), unless a
   * redeliver has counted its attempts afresh since it was leased.
   */
  async giveUp(db: Db, leased: DeliveryRow): Promise<void> {
    await db
      .update(deliveries)
      .set({ status: 'failed', nextAttemptAt: null, leaseUntil: null })
      .where(and(eq(deliveries.id, leased.id), eq(deliveries.status, 'pending'), eq(deliveries.attempts, leased.attempts)));
  },

  /** Sends a delivery again from now: a fresh schedule of attempts, the same webhook-id and body. */
  /**
   * Makes one delivery pending and due with its attempts counted afresh (the test and
   * redeliver buttons) and, when its channel is enabled, holds it for the caller to send
   * at once, in one write, so the background sender never takes it first. `held` is
   * false for a disabled channel's: it waits until the channel is enabled again.
   */
  async claim(db: Db, id: string, now: Date, leaseMs: number): Promise<{ delivery: DeliveryRow; held: boolean } | undefined> {
    const rows = await db.execute(sql`
      update deliveries d set status = 'pending', next_attempt_at = ${now}, attempts = case when c.enabled then 1 else 0 end,
        lease_until = case when c.enabled then ${now}::timestamptz + make_interval(secs => ${leaseMs / 1000}) end
      from notification_channels c
      where c.id = d.channel_id and d.id = ${id}::uuid
      returning ${DELIVERY_COLUMNS}, c.enabled`);
    const [row] = rowsOf<Record<string, unknown>>(rows);
    return row && { delivery: toDelivery(row), held: row.enabled as boolean };
  },

  async delivery(db: Db, id: string): Promise<DeliveryRow | undefined> {
    const [row] = await db.select().from(deliveries).where(eq(deliveries.id, id));
    return row;
  },

  async deliveries(db: Db, opts: { channelId?: string; alertId?: string; limit: number }): Promise<DeliveryRow[]> {
    if (opts.alertId) {
      const ids = rowsOf<{ id: string }>(await db.execute(sql`select distinct delivery_id as id from notifications where alert_id = ${opts.alertId}::uuid and delivery_id is not null`)).map((r) => r.id);
      if (ids.length === 0) return [];
      return db.select().from(deliveries).where(inArray(deliveries.id, ids)).orderBy(desc(deliveries.createdAt)).limit(opts.limit);
    }
    return db.select().from(deliveries).where(opts.channelId ? eq(deliveries.channelId, opts.channelId) : undefined).orderBy(desc(deliveries.createdAt)).limit(opts.limit);
  },

  async attempts(db: Db, deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
    const result = new Map<string, AttemptRow[]>(deliveryIds.map((id) => [id, []]));
    if (deliveryIds.length === 0) return result;
    const rows = await db.select().from(deliveryAttempts).where(inArray(deliveryAttempts.deliveryId, deliveryIds)).orderBy(asc(deliveryAttempts.at), asc(deliveryAttempts.id));
    for (const r of rows) result.get(r.deliveryId)?.push(r);
    return result;
  },

  /** Pending notifications and deliveries, for the operators and /metrics. */
  async backlog(db: Db): Promise<{ waiting: number; pending: number }> {
    const [row] = rowsOf<{ waiting: number; pending: number }>(
      await db.execute(sql`select (select count(*) from notifications where delivery_id is null)::int as waiting,
                                  (select count(*) from deliveries where status = 'pending')::int as pending`),
    );
    return row;
  },
};
