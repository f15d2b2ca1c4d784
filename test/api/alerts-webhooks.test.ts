import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { alertIn, expectFields, gql, routeTo } from '../helpers/alerts';
import { graphql } from '../helpers/client';
import { heartbeatRest, registerAgent, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';
import { startReceiver } from '../helpers/webhooks';

/**
 * Notifications through a real local receiver: each request is verified with the
 * `standardwebhooks` package (an implementation independent of the server's), retried
 * with the same webhook-id, grouped, and logged attempt by attempt.
 */
let server: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '50', ALERT_TICK_MS: '100', WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_SCHEDULE: '200ms,200ms,200ms,200ms', WEBHOOK_TIMEOUT_MS: '1000' } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

let counter = 0;
const quickAgent = (environment: string, fields: Record<string, unknown> = {}) =>
  registerAgent(server.url, server.enrollmentToken, { name: `hook-${++counter}`, environment, heartbeat_interval_seconds: 1, ...fields });
const forEnv = (environment: string) => [{ name: 'environment', op: 'EQ', value: environment }];
const about = (env: string) => receiver.received.filter((r) => r.json?.alerts?.some((a: any) => a.agent?.environment === env || a.labels?.environment === env));

describe('webhook channels', () => {
  it('sends a signed message when an alert fires and another when it resolves; the secret is shown only once', async () => {
    const { channelId, secret } = await routeTo(server.url, server.adminToken, receiver.url, { name: 'signed', matchers: forEnv('signed') });
    expect(secret).toMatch(/^whsec_/);
    receiver.setSecret(secret);
    const channel = await graphql(server.url, server.adminToken, 'query($id: ID!) { notificationChannel(id: $id) { id secret } }', { id: channelId });
    expect(channel.status).toBe(400);
    const agent = await quickAgent('signed');
    const fired = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING');
    await receiver.until(() => about('signed').length >= 1);
    const [first] = about('signed');
    expect(first.verified).toBe(true);
    expect(first.json).toMatchObject({ type: 'alerts', status: 'firing', alerts: [{ id: fired.id, event: 'firing', severity: 'critical', agent: { id: agent.id } }] });
    expect(Math.abs(Number(first.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(Date.now() - Date.parse(fired.firedAt)).toBeLessThan(5000);
    await heartbeatRest(server.url, agent.id, agent.token);
    await receiver.until(() => about('signed').length >= 2);
    const second = about('signed')[1];
    expect(second.verified).toBe(true);
    expect(second.json).toMatchObject({ status: 'resolved', alerts: [{ id: fired.id, event: 'resolved' }] });
    expect(second.headers['webhook-id']).not.toBe(first.headers['webhook-id']);
  });

  it('reminds of an alert still firing once its reminder is due, telling the alert as it stands', async () => {
    const { secret } = await routeTo(server.url, server.adminToken, receiver.url, { name: 'remind', matchers: forEnv('remind'), repeatIntervalSeconds: 60 });
    receiver.setSecret(secret);
    const agent = await quickAgent('remind');
    const fired = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING');
    await receiver.until(() => about('remind').length >= 1);
    expect(about('remind')[0].json).toMatchObject({ status: 'firing', alerts: [{ id: fired.id, event: 'firing' }] });
    // A minute is the shortest repeat: bring this one's reminder due now.
    await server.app.database.db.execute(sql`update alerts set next_reminder_at = now() where id = ${fired.id}`);
    await receiver.until(() => about('remind').length >= 2);
    const reminder = about('remind')[1];
    expect(reminder.verified).toBe(true);
    expect(reminder.json).toMatchObject({
      status: 'firing',
      alerts: [{ id: fired.id, event: 'reminder', state: 'firing', severity: 'critical', agent: { id: agent.id, environment: 'remind' }, labels: { environment: 'remind' } }],
    });
    expect(reminder.headers['webhook-id']).not.toBe(about('remind')[0].headers['webhook-id']);
  });

  it('retries a receiver that fails three times with the same webhook-id, delivers once, and logs every attempt', async () => {
    const { channelId, secret } = await routeTo(server.url, server.adminToken, receiver.urlFor('flaky'), { name: 'flaky', matchers: forEnv('flaky') });
    receiver.setSecret(secret);
    receiver.answer('flaky', { status: 500 }, { status: 503, headers: { 'retry-after': '1' } }, { status: 502 });
    const started = Date.now();
    await quickAgent('flaky');
    await receiver.until(() => about('flaky').some((r) => r.status === 200));
    // Only the first message to this channel (the agent goes offline again after that).
    const tries = about('flaky').filter((r) => r.headers['webhook-id'] === about('flaky')[0].headers['webhook-id']);
    expect(tries.map((r) => r.status)).toEqual([500, 503, 502, 200]);
    expect(new Set(tries.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(tries.every((r) => r.verified)).toBe(true);
    // The 503 asked for a second: the retry after it waited at least that long.
    expect(Date.now() - started).toBeGreaterThan(1000);
    // The receiver has answered; the server records the attempt once it has read that answer.
    const delivery = await waitFor(async () => {
      const log = await gql(server.url, server.viewerToken, 'query($id: ID!) { notificationChannel(id: $id) { deliveries { webhookId status attemptCount attempts { statusCode errorClass responseBody durationMs nextAttemptAt } } } }', { id: channelId });
      const d = log.notificationChannel.deliveries.find((d: any) => d.webhookId === tries[0].headers['webhook-id']);
      return d?.status === 'DELIVERED' ? d : undefined;
    }, { what: 'the delivery recorded as delivered' });
    expect(delivery).toMatchObject({ status: 'DELIVERED', attemptCount: 4, webhookId: tries[0].headers['webhook-id'] });
    expect(delivery.attempts.map((a: any) => a.errorClass)).toEqual(['http_error', 'http_error', 'http_error', 'ok']);
    expect(delivery.attempts[0].responseBody).toBe('failing on purpose (500)');
    expect(delivery.attempts[0].nextAttemptAt).not.toBeNull();
    expect(delivery.attempts[3].nextAttemptAt).toBeNull();
    await new Promise((r) => setTimeout(r, 500));
    expect(about('flaky').filter((r) => r.headers['webhook-id'] === tries[0].headers['webhook-id'])).toHaveLength(4);
  });

  it('disables a channel whose receiver answers 410 Gone, and says why', async () => {
    const { channelId } = await routeTo(server.url, server.adminToken, receiver.urlFor('gone'), { name: 'gone', matchers: forEnv('gone') });
    receiver.answer('gone', { status: 410 });
    await quickAgent('gone');
    const channel = await waitFor(async () => {
      const c = (await gql(server.url, server.viewerToken, 'query($id: ID!) { notificationChannel(id: $id) { enabled disabledReason deliveries { status } } }', { id: channelId })).notificationChannel;
      return !c.enabled && c;
    }, { what: 'the channel to be disabled' });
    expect(channel.disabledReason).toMatch(/410/);
    expect(channel.deliveries[0].status).toBe('FAILED');
  });

  it('groups alerts of one rule and environment that start together into one request', async () => {
    await routeTo(server.url, server.adminToken, receiver.url, { name: 'grouped', matchers: forEnv('grouped'), groupWaitSeconds: 3 });
    await Promise.all(Array.from({ length: 12 }, () => quickAgent('grouped')));
    await receiver.until(() => about('grouped').reduce((n, r) => n + r.json.alerts.length, 0) >= 12);
    expect(about('grouped')).toHaveLength(1);
  });

  it('speaks Alertmanager’s webhook format (version 4) and a Slack-compatible text', async () => {
    await routeTo(server.url, server.adminToken, receiver.url, { name: 'am', format: 'ALERTMANAGER', matchers: forEnv('am') });
    await routeTo(server.url, server.adminToken, receiver.url, { name: 'slack', format: 'SLACK', matchers: forEnv('slack') });
    const am = await quickAgent('am');
    await quickAgent('slack');
    const amMessage = await waitFor(() => receiver.received.find((r) => r.json?.version === '4' && r.json.alerts.some((a: any) => a.labels.agent_id === am.id)), { what: 'the Alertmanager message' });
    expect(amMessage.json).toMatchObject({
      status: 'firing',
      receiver: 'am',
      groupLabels: { alertname: 'Agent offline', environment: 'am' },
      commonLabels: { alertname: 'Agent offline', severity: 'critical', environment: 'am' },
      alerts: [{ status: 'firing', endsAt: '0001-01-01T00:00:00Z', annotations: { summary: expect.stringContaining('is offline') } }],
    });
    expect(amMessage.json.alerts[0].fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const slack = await waitFor(() => receiver.received.find((r) => typeof r.json?.text === 'string' && r.json.text.includes('(slack)')), { what: 'the Slack message' });
    expect(Object.keys(slack.json)).toEqual(['text']);
    expect(slack.json.text).toMatch(/1 firing/);
  });

  it('sends a test message on demand and answers how it went; redelivers with the same webhook-id', async () => {
    const { channelId, secret } = await routeTo(server.url, server.adminToken, receiver.url, { name: 'tested', matchers: forEnv('none') });
    receiver.setSecret(secret);
    const sent = await gql(server.url, server.adminToken, 'mutation($id: ID!) { testNotificationChannel(id: $id) { deliveryId result { ok statusCode errorClass } } }', { id: channelId });
    expect(sent.testNotificationChannel.result).toMatchObject({ ok: true, statusCode: 200, errorClass: 'ok' });
    const test = receiver.received.at(-1)!;
    expect(test.json).toMatchObject({ type: 'test' });
    expect(test.verified).toBe(true);
    const again = await gql(server.url, server.adminToken, 'mutation($id: ID!) { redeliver(deliveryId: $id) { result { ok } } }', { id: sent.testNotificationChannel.deliveryId });
    expect(again.redeliver.result.ok).toBe(true);
    expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(test.headers['webhook-id']);
    const viewer = await graphql(server.url, server.viewerToken, 'mutation($id: ID!) { testNotificationChannel(id: $id) { deliveryId } }', { id: channelId });
    expect(viewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('signs with both secrets for a day after a rotation, so a receiver holding either verifies', async () => {
    const { channelId, secret: old } = await routeTo(server.url, server.adminToken, receiver.url, { name: 'rotated', matchers: forEnv('none') });
    const rotated = await gql(server.url, server.adminToken, 'mutation($id: ID!) { rotateNotificationChannelSecret(id: $id) { secret channel { secretRotatedUntil } } }', { id: channelId });
    expect(rotated.rotateNotificationChannelSecret.secret).not.toBe(old);
    for (const secret of [old, rotated.rotateNotificationChannelSecret.secret]) {
      receiver.setSecret(secret);
      await gql(server.url, server.adminToken, 'mutation($id: ID!) { testNotificationChannel(id: $id) { deliveryId } }', { id: channelId });
      expect(receiver.received.at(-1)!.verified).toBe(true);
    }
    expect(String(receiver.received.at(-1)!.headers['webhook-signature']).split(' ')).toHaveLength(2);
  });
});

describe('where webhooks may go', () => {
  it('refuses URLs that are not http(s), carry credentials, or name link-local and metadata addresses', async () => {
    for (const url of ['ftp://example.com/x', 'http://user:pw@example.com/x', 'http://169.254.169.254/latest/meta-data', 'http://[fe80::1]/x', 'http://[::ffff:169.254.169.254]/x', 'http://0.0.0.0/x', 'not a url']) {
      const res = await graphql(server.url, server.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { secret } }', { i: { name: `bad ${url}`, url } });
      expectFields(res, 'BAD_USER_INPUT', ['url']);
    }
  });

  it('refuses at send time a host name that resolves to a refused address, and logs why', async () => {
    const ssrf = await startTestServer({ env: { WEBHOOK_DENY: '127.0.0.0/8', WEBHOOK_POLL_MS: '50' } });
    try {
      const { channelId } = await routeTo(ssrf.url, ssrf.adminToken, receiver.url.replace('127.0.0.1', 'localhost'), { name: 'local', matchers: forEnv('none') });
      const sent = await gql(ssrf.url, ssrf.adminToken, 'mutation($id: ID!) { testNotificationChannel(id: $id) { result { ok errorClass error } } }', { id: channelId });
      expect(sent.testNotificationChannel.result).toMatchObject({ ok: false, errorClass: 'refused_address' });
      const literal = await graphql(ssrf.url, ssrf.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { secret } }', { i: { name: 'literal', url: receiver.url } });
      expectFields(literal, 'BAD_USER_INPUT', ['url']);
    } finally {
      await ssrf.close();
    }
  });
});
