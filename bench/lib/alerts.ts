/**
 * Alerting's figures on PostgreSQL, in a scratch database of its own with the server in
 * this process: how soon an OFFLINE transition becomes a firing alert and its webhook
 * reaches a local receiver; and `agents` agents going offline at once: every alert
 * created exactly once, how many requests carried their notifications, and how long it
 * all took.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createApp } from '../../api/app';
import { loadConfig } from '../../api/config';
import { createHttpServer } from '../../api/server';
import { BENCH_TOKENS, createScratchDatabase, seedAgents } from './fixtures';

export interface AlertsResult {
  agents: number;
  /** One agent: its OFFLINE event to its alert firing, and firing to its webhook received (group wait 500 ms). */
  one: { offlineToFiringMs: number; firingToWebhookMs: number };
  /** All the others at once. */
  mass: {
    alerts: number;
    alertedAgents: number;
    firingEvents: number;
    notified: number;
    requests: number;
    allOfflineMs: number;
    allFiringMs: number;
    allReceivedMs: number;
  };
}

export async function measureAlerts(opts: { baseUrl: string; agents: number; log(s: string): void }): Promise<AlertsResult> {
  const { agents: count, log } = opts;
  const scratch = await createScratchDatabase(opts.baseUrl);
  const received: { at: number; alerts: { id: string; agent: { id: string } }[] }[] = [];
  const receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ at: Date.now(), alerts: JSON.parse(Buffer.concat(chunks).toString()).alerts });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const db = new pg.Client({ connectionString: scratch.url });
  await db.connect();
  try {
    await seedAgents(scratch.url, count + 1);
    const config = loadConfig({ DATABASE_URL: scratch.url, DATA_DIR: 'memory://', LOG_LEVEL: 'warn', ...BENCH_TOKENS });
    const app = await createApp(config);
    const server = createHttpServer(app);
    await new Promise<void>((r) => server.server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    const gql = async (query: string, variables: Record<string, unknown>) => {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKENS.ADMIN_TOKEN}` }, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as { data?: any; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const channel = await gql('mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } } }', { i: { name: 'bench', url: hook } });
    await gql('mutation($i: NotificationPolicyInput!) { createNotificationPolicy(input: $i) { id } }', { i: { name: 'all', channelIds: [channel.createNotificationChannel.channel.id], groupWaitSeconds: 0.5 } });
    const { rows: ids } = await db.query<{ id: string }>('select id from agents order by id');
    const until = async (check: () => boolean | Promise<boolean>, ms: number) => {
      const end = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    // One agent: transition → firing alert → webhook received.
    const one = ids[0].id;
    await db.query('update agents set offline_at = now() where id = $1', [one]);
    await until(() => received.some((r) => r.alerts.some((a) => a.agent.id === one)), 10_000);
    const got = received.find((r) => r.alerts.some((a) => a.agent.id === one))!.at;
    const {
      rows: [t],
    } = await db.query(
      `select (select extract(epoch from at) * 1000 from events where subject_id = $1::text and type = 'status_changed') as offline,
              (select extract(epoch from updated_at) * 1000 from alerts where agent_id = $1::uuid) as fired`,
      [one],
    );
    const result: AlertsResult = { agents: count, one: { offlineToFiringMs: t.fired - t.offline, firingToWebhookMs: got - t.fired }, mass: undefined as never };
    log(`  alerts, one agent: OFFLINE → firing ${result.one.offlineToFiringMs.toFixed(0)} ms; firing → webhook received ${result.one.firingToWebhookMs.toFixed(0)} ms (group wait 500 ms)`);

    // Everyone else at once.
    received.length = 0;
    // Durations within this process on the monotonic clock: a step of the wall clock would be one of their terms.
    const started = performance.now();
    await db.query('update agents set offline_at = now() where id <> $1', [one]);
    let allOfflineMs = 0;
    let allFiringMs = 0;
    const progress = setInterval(async () => {
      const {
        rows: [p],
      } = await db.query(`select (select count(*)::int from agents where status = 'offline') as offline, (select count(*)::int from alerts) as alerts`);
      if (!allOfflineMs && p.offline >= count + 1) allOfflineMs = Math.round(performance.now() - started);
      if (!allFiringMs && p.alerts >= count + 1) allFiringMs = Math.round(performance.now() - started);
    }, 100);
    await until(() => received.reduce((n, r) => n + r.alerts.length, 0) >= count, 60_000);
    const allReceivedMs = Math.round(performance.now() - started);
    clearInterval(progress);
    const {
      rows: [c],
    } = await db.query(
      `select count(*)::int as alerts, count(distinct agent_id)::int as agents, (select count(*)::int from events where subject_kind = 'alert' and type = 'firing') as fired from alerts`,
    );
    const notified = new Set(received.flatMap((r) => r.alerts.map((a) => a.id)));
    result.mass = { alerts: c.alerts - 1, alertedAgents: c.agents - 1, firingEvents: c.fired - 1, notified: notified.size, requests: received.length, allOfflineMs, allFiringMs, allReceivedMs };
    log(
      `  alerts, ${count} agents offline at once: ${result.mass.alerts} alerts for ${result.mass.alertedAgents} agents (${result.mass.firingEvents} firing events), ` +
        `${notified.size} notified in ${received.length} requests; all offline after ${allOfflineMs} ms, all firing after ${allFiringMs} ms (sampled every 100 ms), all received after ${allReceivedMs} ms`,
    );
    await server.close();
    await app.close();
    return result;
  } finally {
    await db.end();
    receiver.close();
    await scratch.drop();
  }
}

/** The targets for alerting, each PASS or FAIL (or "not run"). */
export function alertTargets(a: AlertsResult | undefined) {
  const check = (ok: boolean | undefined) => (ok === undefined ? 'not run' : ok ? 'PASS' : 'FAIL');
  return {
    'alerts: OFFLINE → firing ≤ 1 s': check(a && a.one.offlineToFiringMs <= 1_000),
    'alerts: firing → webhook received ≤ 1 s': check(a && a.one.firingToWebhookMs <= 1_000),
    [`alerts: ${a?.agents ?? 10_000} agents offline → each alert created exactly once`]: check(a && a.mass.alerts === a.agents && a.mass.alertedAgents === a.agents && a.mass.firingEvents === a.agents),
    [`alerts: ${a?.agents ?? 10_000} agents offline → all notified within 5 s`]: check(a && a.mass.notified === a.agents && a.mass.allReceivedMs <= 5_000),
  };
}
