import { createHash } from 'node:crypto';
import type { ChannelFormat, NotificationAlert } from './notifications.types';

export interface MessageContext {
  channel: { id: string; name: string };
  groupKey: string;
  /** Where the dashboard is, for links; empty when unknown. */
  externalUrl: string;
  test?: boolean;
}

const status = (alerts: NotificationAlert[]) => (alerts.some((a) => a.event !== 'resolved') ? 'firing' : 'resolved');

function common(alerts: NotificationAlert[], pick: (a: NotificationAlert) => Record<string, string>): Record<string, string> {
  const [first, ...rest] = alerts.map(pick);
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((r) => r[k] === v)));
}

const alertUrl = (ctx: MessageContext, a: NotificationAlert) => (ctx.externalUrl ? `${ctx.externalUrl}/dashboard/alerts/${a.id}` : '');

/** Our own format: the alerts as the API shows them. */
function json(alerts: NotificationAlert[], ctx: MessageContext) {
  return {
    type: ctx.test ? 'test' : 'alerts',
    version: 1,
    status: status(alerts),
    channel: ctx.channel,
    groupKey: ctx.groupKey,
    alerts: alerts.map((a) => ({ ...a, url: alertUrl(ctx, a) || null })),
  };
}

/**
 * Alertmanager's webhook payload (version "4"), so receivers written for it work
 * unchanged: the alert's labels, summary and description as annotations, endsAt at
 * resolution (the zero time while firing, as Alertmanager sends), and a fingerprint.
 */
function alertmanager(alerts: NotificationAlert[], ctx: MessageContext) {
  const annotations = (a: NotificationAlert) => ({ summary: a.summary, description: a.description, ...(a.value !== null ? { value: String(a.value) } : {}) });
  const groupLabels = Object.fromEntries([...ctx.groupKey.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], JSON.parse(`"${m[2]}"`) as string]));
  return {
    version: '4',
    groupKey: ctx.groupKey,
    truncatedAlerts: 0,
    status: status(alerts),
    receiver: ctx.channel.name,
    groupLabels,
    commonLabels: common(alerts, (a) => a.labels),
    commonAnnotations: common(alerts, annotations),
    externalURL: ctx.externalUrl,
    alerts: alerts.map((a) => ({
      status: a.event === 'resolved' ? 'resolved' : 'firing',
      labels: a.labels,
      annotations: annotations(a),
      startsAt: a.firedAt ?? a.startedAt,
      endsAt: a.resolvedAt ?? '0001-01-01T00:00:00Z',
      generatorURL: alertUrl(ctx, a),
      fingerprint: createHash('sha256').update(`${a.ruleId}:${a.agent.id}`).digest('hex').slice(0, 16),
    })),
  };
}

const ICON: Record<string, string> = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' };

/**
 * Text for Slack's mrkdwn, escaped as Slack requires: `&`, `<` and `>` become `&amp;`,
 * `&lt;` and `&gt;`, so text from agents and rules cannot make a link or a mention
 * (`<!channel>`, `<@U123>`) and reads as written.
 */
export const slackText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Slack-compatible message: one `text`, a line per alert (incoming webhooks, Mattermost, Rocket.Chat). */
function slack(alerts: NotificationAlert[], ctx: MessageContext) {
  const firing = alerts.filter((a) => a.event !== 'resolved');
  const resolved = alerts.filter((a) => a.event === 'resolved');
  const line = (a: NotificationAlert) => {
    const url = alertUrl(ctx, a);
    const title = slackText(a.summary || a.ruleName);
    // A link's own text ends at its first `|`; the URL is ours (the external URL and an id).
    const name = url ? `<${slackText(url).replace(/\|/g, '%7C')}|${title}>` : title;
    return `${a.event === 'resolved' ? ':white_check_mark:' : ICON[a.severity]} ${a.event === 'reminder' ? '(still firing) ' : ''}${name} — ${slackText(a.agent.name)} (${slackText(a.agent.environment)})`;
  };
  const head = ctx.test
    ? `Test message from Agent Monitor to ${slackText(ctx.channel.name)}`
    : [firing.length ? `*${firing.length} firing*` : '', resolved.length ? `*${resolved.length} resolved*` : ''].filter(Boolean).join(', ');
  return { text: [head, ...alerts.map(line)].join('\n') };
}

export function messageBody(format: ChannelFormat, alerts: NotificationAlert[], ctx: MessageContext): string {
  const body = format === 'alertmanager' ? alertmanager(alerts, ctx) : format === 'slack' ? slack(alerts, ctx) : json(alerts, ctx);
  return JSON.stringify(body);
}

/** The alert a test message carries: marked as a test, on no agent. */
export function testAlert(now: Date): NotificationAlert {
  return {
    id: '00000000-0000-0000-0000-000000000000',
    event: 'firing',
    state: 'firing',
    ruleId: null,
    ruleName: 'Test',
    severity: 'info',
    agent: { id: '00000000-0000-0000-0000-000000000000', name: 'test', type: 'test', host: 'test', port: 0, environment: 'test', status: 'online', tags: [] },
    labels: { alertname: 'Test', severity: 'info' },
    summary: 'Test message from Agent Monitor',
    description: 'Sent from the dashboard or the testChannel mutation to check that this channel receives and verifies messages.',
    value: null,
    startedAt: now.toISOString(),
    firedAt: now.toISOString(),
    resolvedAt: null,
    acknowledged: false,
  };
}
