import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { expectFields, gql, routeTo } from '../helpers/alerts';
import { graphql } from '../helpers/client';
import { registerAgent, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Webhook receivers that answer what a PostgreSQL text column refuses, a database that
 * refuses the record of an attempt, and webhook URLs that name the cloud metadata address
 * through an IPv6 prefix that carries an IPv4 address (NAT64, 6to4).
 */
const SCHEDULE = ['200ms', '200ms'];
let server: TestServer;
let receiver: Awaited<ReturnType<typeof startHostileReceiver>>;

/** Answers each path with the bytes it names; remembers every request's path and webhook-id. */
async function startHostileReceiver() {
  const answers: Record<string, [number, Buffer]> = {
    '/nul200': [200, Buffer.from('ok\u0000 fine')],
    '/binary': [500, Buffer.from([0x00, 0xff, 0xfe, 0xd8, 0x00, 0x41])],
    '/poison': [200, Buffer.from('poison')],
  };
  const received: { path: string; webhookId: string }[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ path: req.url ?? '/', webhookId: String(req.headers['webhook-id']) });
      const [status, body] = answers[req.url ?? '/'] ?? [200, Buffer.from('ok')];
      res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    urlFor: (path: string) => `http://127.0.0.1:${port}${path}`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '50', ALERT_TICK_MS: '100', WEBHOOK_POLL_MS: '50', WEBHOOK_RETRY_SCHEDULE: SCHEDULE.join(','), WEBHOOK_TIMEOUT_MS: '1000' } });
  receiver = await startHostileReceiver();
  // A database that refuses some records of attempts: an answer it will not store, and
  // every attempt to channels named "unrecordable…".
  const db = server.app.database.db;
  await db.execute(sql.raw(`
    create function refuse_attempts() returns trigger language plpgsql as $$
    begin
      if new.response_body like '%poison%' then raise exception 'refusing a poisoned answer'; end if;
      if exists (select 1 from deliveries d join notification_channels c on c.id = d.channel_id where d.id = new.delivery_id and c.name like 'unrecordable%') then
        raise exception 'refusing every attempt to this channel';
      end if;
      return new;
    end $$`));
  await db.execute(sql.raw('create trigger refuse_attempts before insert on delivery_attempts for each row execute function refuse_attempts()'));
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const DELIVERIES = 'query($id: ID!) { notificationChannel(id: $id) { deliveries { id webhookId status attemptCount attempts { statusCode errorClass error responseBody nextAttemptAt } } } }';
const deliveriesOf = async (channelId: string) => (await gql(server.url, server.viewerToken, DELIVERIES, { id: channelId })).notificationChannel.deliveries as any[];

async function channelTo(name: string, url: string): Promise<string> {
  const data = await gql(server.url, server.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } } }', { i: { name, url } });
  return data.createNotificationChannel.channel.id;
}

const TEST = 'mutation($id: ID!) { testNotificationChannel(id: $id) { deliveryId result { ok statusCode errorClass error } } }';

describe('a receiver whose answer PostgreSQL would not store', () => {
  it('records a test message answered 200 with a NUL byte, NUL made U+FFFD, and marks it delivered', async () => {
    const channelId = await channelTo('nul 200', receiver.urlFor('/nul200'));
    const res = await graphql(server.url, server.adminToken, TEST, { id: channelId });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.testNotificationChannel.result).toMatchObject({ ok: true, statusCode: 200, errorClass: 'ok' });
    const [delivery] = await deliveriesOf(channelId);
    expect(delivery).toMatchObject({ status: 'DELIVERED', attemptCount: 1 });
    expect(delivery.attempts).toEqual([expect.objectContaining({ statusCode: 200, errorClass: 'ok', responseBody: 'ok\uFFFD fine' })]);
  });

  it('records an answer of NUL and bytes that are not UTF-8, decoded with U+FFFD, and retries the 500 as usual until it has failed', async () => {
    const channelId = await channelTo('binary 500', receiver.urlFor('/binary'));
    const sent = await gql(server.url, server.adminToken, TEST, { id: channelId });
    expect(sent.testNotificationChannel.result).toMatchObject({ ok: false, statusCode: 500, errorClass: 'http_error' });
    const delivery = await waitFor(async () => (await deliveriesOf(channelId)).find((d) => d.status === 'FAILED'), { what: 'the delivery to fail after its retries' });
    expect(delivery.attempts).toHaveLength(SCHEDULE.length + 1);
    for (const a of delivery.attempts) expect(a).toMatchObject({ statusCode: 500, errorClass: 'http_error', responseBody: '\uFFFD\uFFFD\uFFFD\uFFFD\uFFFDA' });
    expect(receiver.received.filter((r) => r.webhookId === delivery.webhookId)).toHaveLength(SCHEDULE.length + 1);
  });

  it('delivers an alert once to a receiver that answers 200 with a NUL byte, and never sends it again', async () => {
    const { channelId } = await routeTo(server.url, server.adminToken, receiver.urlFor('/nul200'), { name: 'nul alert', matchers: [{ name: 'environment', op: 'EQ', value: 'nul-alert' }] });
    await registerAgent(server.url, server.enrollmentToken, { name: 'nul-victim', environment: 'nul-alert', heartbeat_interval_seconds: 1 });
    const delivery = await waitFor(async () => (await deliveriesOf(channelId)).find((d) => d.status === 'DELIVERED'), { what: 'the alert delivered' });
    expect(delivery.attempts).toEqual([expect.objectContaining({ errorClass: 'ok', responseBody: 'ok\uFFFD fine' })]);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.filter((r) => r.webhookId === delivery.webhookId)).toHaveLength(1);
  });
});

describe('a database that refuses the record of an attempt', () => {
  it('records the attempt without the answer it refused, rather than sending again', async () => {
    const channelId = await channelTo('poisoned', receiver.urlFor('/poison'));
    const sent = await gql(server.url, server.adminToken, TEST, { id: channelId });
    expect(sent.testNotificationChannel.result).toMatchObject({ ok: true, statusCode: 200 });
    const [delivery] = await deliveriesOf(channelId);
    expect(delivery).toMatchObject({ status: 'DELIVERED', attemptCount: 1 });
    expect(delivery.attempts).toEqual([expect.objectContaining({ statusCode: 200, errorClass: 'ok', responseBody: null, error: expect.stringMatching(/refused/) })]);
    expect(receiver.received.filter((r) => r.webhookId === delivery.webhookId)).toHaveLength(1);
  });

  it('sends no more than the schedule allows when no attempt can be recorded, then fails the delivery', async () => {
    const { channelId } = await routeTo(server.url, server.adminToken, receiver.urlFor('/unrecordable'), { name: 'unrecordable', matchers: [{ name: 'environment', op: 'EQ', value: 'unrecordable' }] });
    await registerAgent(server.url, server.enrollmentToken, { name: 'unrecorded', environment: 'unrecordable', heartbeat_interval_seconds: 1 });
    // Each unrecorded attempt leaves its lease to run out (6 s here): run them out now.
    const expire = () => server.app.database.db.execute(sql`update deliveries set lease_until = now() - interval '1 second' where channel_id = ${channelId}::uuid and status = 'pending' and lease_until is not null`);
    const delivery = await waitFor(async () => {
      await expire();
      return (await deliveriesOf(channelId)).find((d) => d.status !== 'PENDING');
    }, { interval: 100, what: 'the delivery to end' });
    expect(delivery.status).toBe('FAILED');
    expect(delivery.attempts).toEqual([]);
    const sends = () => receiver.received.filter((r) => r.webhookId === delivery.webhookId).length;
    expect(sends()).toBe(SCHEDULE.length + 1);
    await expire();
    await new Promise((r) => setTimeout(r, 500));
    expect(sends()).toBe(SCHEDULE.length + 1);
    expect((await deliveriesOf(channelId))[0].status).toBe('FAILED');
  });
});

describe('IPv6 addresses that carry an IPv4 one', () => {
  const METADATA = ['http://[64:ff9b::a9fe:a9fe]/', 'http://[64:ff9b::169.254.169.254]/latest/meta-data', 'http://[64:ff9b:1::a9fe:a9fe]/', 'http://[2002:a9fe:a9fe::]/', 'http://[2002:a9fe:a9fe:1::1]/', 'http://[::a9fe:a9fe]/', 'http://[::ffff:0:a9fe:a9fe]/', 'http://[::ffff:a9fe:a9fe]/'];

  it('refuses to save a URL whose NAT64, 6to4 or IPv4-compatible address carries a refused IPv4 address', async () => {
    for (const url of METADATA) {
      const res = await graphql(server.url, server.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { secret } }', { i: { name: `embedded ${url}`, url } });
      expectFields(res, 'BAD_USER_INPUT', ['url']);
      expect(res.body.errors?.[0]?.extensions?.fields?.url).toMatch(/169\.254\.169\.254/);
    }
    // The IPv4 address decides: one that may be called may be called by these names too.
    for (const url of ['http://[64:ff9b::a00:1]/', 'http://[2002:a00:1::1]/', 'http://[::1]/']) await channelTo(`embedded ok ${url}`, url);
  });

  it('refuses at send time a channel saved with such a URL before it was refused, without connecting', async () => {
    const channelId = await channelTo('saved before', receiver.urlFor('/hook'));
    await server.app.database.db.execute(sql`update notification_channels set url = 'http://[64:ff9b::a9fe:a9fe]/latest/meta-data' where id = ${channelId}::uuid`);
    const sent = await gql(server.url, server.adminToken, TEST, { id: channelId });
    expect(sent.testNotificationChannel.result).toMatchObject({ ok: false, statusCode: null, errorClass: 'refused_address', error: expect.stringMatching(/169\.254\.169\.254/) });
  });

  it('applies WEBHOOK_ALLOW and WEBHOOK_DENY to the IPv4 address carried, and to the IPv6 one', async () => {
    const other = await startTestServer({ env: { WEBHOOK_ALLOW: '169.254.169.254', WEBHOOK_DENY: '10.0.0.0/8,2002::/16' } });
    try {
      const create = (url: string) => graphql(other.url, other.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { secret } }', { i: { name: url, url } });
      expect((await create('http://[64:ff9b::a9fe:a9fe]/')).body.errors).toBeUndefined();
      expectFields(await create('http://[64:ff9b::a00:1]/'), 'BAD_USER_INPUT', ['url']);
      expectFields(await create('http://[2002:c000:201::]/'), 'BAD_USER_INPUT', ['url']);
    } finally {
      await other.close();
    }
  });
});
