import { alertLabels, labelValue, matchesAll } from '../alerts/labels';
import type { Notifier } from '../alerts/lifecycle';
import { alertOfPayload } from '../alerts/alerts.events';
import type { Alert } from '../alerts/alerts.types';
import type { Db } from '../db';
import { notificationStore, type ClaimedRow, type Enqueued } from './notifications.store';
import type { PolicyRow } from './notifications.table';
import type { NotificationAlert } from './notifications.types';

export const notificationAlert = (a: Alert, event: NotificationAlert['event']): NotificationAlert => ({
  id: a.id,
  event,
  state: a.state,
  ruleId: a.ruleId,
  ruleName: a.ruleName,
  severity: a.severity,
  agent: a.agent,
  labels: alertLabels(a),
  summary: a.summary,
  description: a.description,
  value: a.value,
  startedAt: a.startedAt.toISOString(),
  firedAt: a.firedAt?.toISOString() ?? null,
  resolvedAt: a.resolvedAt?.toISOString() ?? null,
  acknowledged: a.acknowledgement !== null,
});

/** What a claimed outbox row tells: its own alert, or the alert of the event it refers to, as it stood then. */
export const toldAlert = (row: ClaimedRow): NotificationAlert => row.alert ?? notificationAlert(alertOfPayload(row.eventAlert), row.event);

/** The group an alert joins under a policy: the values of the policy's group_by labels. */
export function groupKey(policy: PolicyRow, labels: Record<string, string>): string {
  return `${policy.id}:{${policy.groupBy.map((l) => `${l}=${JSON.stringify(labelValue(labels, l))}`).join(',')}}`;
}

/**
 * Routes alerts to channels through the policies and enqueues one outbox row per
 * (transition, channel), keyed so that no transition is enqueued twice: `firing` and
 * `resolved` at most once per episode and channel, a reminder once per due time.
 */
export class OutboxNotifier implements Notifier {
  async route(tx: Db, items: { alert: Alert; event: NotificationAlert['event'] }[], now: Date) {
    const reminders = new Map<string, Date | null>();
    if (items.length === 0) return { reminders, enqueue: async () => undefined };
    // Each row with the item it tells of.
    const rows: (Omit<Enqueued, 'eventId' | 'alert'> & { item: number })[] = [];
    const { policies, channels } = await notificationStore.routing(tx);
    const resolved = items.flatMap((i, item) => (i.event === 'resolved' ? [{ alert: i.alert, item }] : []));
    const told = await notificationStore.firingRecipients(tx, resolved.map((i) => i.alert.id));
    const waits = new Map(policies.map((p) => [p.id, p.groupWaitMs]));
    for (const { alert, item } of resolved) {
      const seen = new Set<string>();
      for (const r of told.filter((t) => t.alertId === alert.id)) {
        if (seen.has(r.channelId)) continue;
        seen.add(r.channelId);
        const wait = waits.get(r.groupKey.slice(0, r.groupKey.indexOf(':'))) ?? 0;
        rows.push({ key: `${alert.id}/resolved/${r.channelId}`, event: 'resolved', channelId: r.channelId, groupKey: r.groupKey, alertId: alert.id, groupWaitMs: wait, item });
      }
    }
    items.forEach(({ alert, event }, item) => {
      if (event === 'resolved') return;
      const labels = alertLabels(alert);
      const seen = new Set<string>();
      let repeat = Infinity;
      for (const policy of policies) {
        if (!matchesAll(policy.matchers, labels, alert.agent.tags, alert.agent.metadata)) continue;
        if (policy.repeatIntervalSeconds > 0) repeat = Math.min(repeat, policy.repeatIntervalSeconds);
        for (const channelId of policy.channelIds) {
          if (!channels.has(channelId) || seen.has(channelId)) continue;
          seen.add(channelId);
          const transition = event === 'firing' ? 'firing' : `reminder-${now.getTime()}`;
          rows.push({ key: `${alert.id}/${transition}/${channelId}`, event, channelId, groupKey: groupKey(policy, labels), alertId: alert.id, groupWaitMs: policy.groupWaitMs, item });
        }
      }
      reminders.set(alert.id, seen.size > 0 && repeat !== Infinity ? new Date(now.getTime() + repeat * 1000) : null);
    });
    const enqueue = async (eventIds?: readonly bigint[]) => {
      const payloads: (NotificationAlert | undefined)[] = [];
      const written = rows.map(({ item, ...row }) => {
        const eventId = eventIds?.[item];
        if (eventId !== undefined) return { ...row, eventId, alert: null };
        return { ...row, eventId: null, alert: (payloads[item] ??= notificationAlert(items[item].alert, items[item].event)) };
      });
      await notificationStore.enqueue(tx, written, now);
    };
    return { reminders, enqueue };
  }
}
