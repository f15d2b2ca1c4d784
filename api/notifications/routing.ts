import { alertLabels, matchesAll } from '../alerts/labels';
import type { Notifier } from '../alerts/lifecycle';
import type { Alert } from '../alerts/alerts.types';
import type { Db } from '../db';
import { notificationStore, type Enqueued } from './notifications.store';
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

/** The group an alert joins under a policy: the values of the policy's group_by labels. */
export function groupKey(policy: PolicyRow, labels: Record<string, string>): string {
  return `${policy.id}:{${policy.groupBy.map((l) => `${l}=${JSON.stringify(labels[l] ?? '')}`).join(',')}}`;
}

/**
 * Routes alerts to channels through the policies and enqueues one outbox row per
 * (transition, channel), keyed so that no transition is enqueued twice: `firing` and
 * `resolved` at most once per episode and channel, a reminder once per due time.
 */
export class OutboxNotifier implements Notifier {
  async enqueue(tx: Db, items: { alert: Alert; event: 'firing' | 'resolved' | 'reminder' }[], now: Date): Promise<Map<string, Date | null>> {
    const reminders = new Map<string, Date | null>();
    if (items.length === 0) return reminders;
    const { policies, channels } = await notificationStore.routing(tx);
    const rows: Enqueued[] = [];
    const resolved = items.filter((i) => i.event === 'resolved');
    const told = await notificationStore.firingRecipients(tx, resolved.map((i) => i.alert.id));
    const waits = new Map(policies.map((p) => [p.id, p.groupWaitMs]));
    for (const { alert } of resolved) {
      const payload = notificationAlert(alert, 'resolved');
      const seen = new Set<string>();
      for (const r of told.filter((t) => t.alertId === alert.id)) {
        if (seen.has(r.channelId)) continue;
        seen.add(r.channelId);
        const wait = waits.get(r.groupKey.slice(0, r.groupKey.indexOf(':'))) ?? 0;
        rows.push({ key: `${alert.id}/resolved/${r.channelId}`, channelId: r.channelId, groupKey: r.groupKey, alertId: alert.id, alert: payload, groupWaitMs: wait });
      }
    }
    for (const { alert, event } of items) {
      if (event === 'resolved') continue;
      const labels = alertLabels(alert);
      const payload = notificationAlert(alert, event);
      const seen = new Set<string>();
      let repeat = Infinity;
      for (const policy of policies) {
        if (!matchesAll(policy.matchers, labels, alert.agent.tags, alert.agent.metadata)) continue;
        if (policy.repeatIntervalSeconds > 0) repeat = Math.min(repeat, policy.repeatIntervalSeconds);
        for (const channelId of policy.channelIds) {
          if (!channels.has(channelId) || seen.has(channelId)) continue;
          seen.add(channelId);
          const transition = event === 'firing' ? 'firing' : `reminder-${now.getTime()}`;
          rows.push({ key: `${alert.id}/${transition}/${channelId}`, channelId, groupKey: groupKey(policy, labels), alertId: alert.id, alert: payload, groupWaitMs: policy.groupWaitMs });
        }
      }
      reminders.set(alert.id, seen.size > 0 && repeat !== Infinity ? new Date(now.getTime() + repeat * 1000) : null);
    }
    await notificationStore.enqueue(tx, rows, now);
    return reminders;
  }
}
