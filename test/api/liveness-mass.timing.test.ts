import { sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken, newAgentToken } from '../../api/auth/tokens';
import { onPostgres } from '../helpers/database';
import { heartbeatRest, subscribeWs, wsClient, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Mass transitions: 10 000 agents whose deadlines pass in the same instant all become
 * OFFLINE, committed and delivered to a live subscriber, within 2 s; and 10 000 coming
 * back at once are ONLINE for that subscriber within 2 s of their heartbeats.
 */
const FLEET = 10_000;
/**
 * The target is 2 s (`npm run bench` reports the figures against it). Here the subscriber
 * runs in the server's own process on a 2-core test machine, beside every consumer of the
 * same 10 000 transitions (alert evaluation opening 10 000 alerts, the availability
 * roll-up), while other test files run beside it: on PostgreSQL the last change has
 * arrived 1.9–3.0 s after the deadline there. This test guards against a regression (a
 * sweep or a delivery path several times slower), not the target, so it allows 5 s. The
 * embedded database runs every statement on the server's own thread, one at a time, and
 * needs several times longer (7–10 s).
 */
const LEEWAY_MS = onPostgres() ? 5_000 : 12_000;
let server: TestServer;
let fleet: Agent[];

beforeAll(async () => {
  server = await startTestServer();
  // Setup only: registering 10 000 agents over HTTP is not what is measured. Each gets a
  // real token, so it can heartbeat through the public door later.
  fleet = Array.from({ length: FLEET }, () => {
    const id = randomUUID();
    return { id, token: newAgentToken(id) };
  });
  await server.app.database.db.execute(sql`
    insert into agents (id, name, type, host, port, environment, token_hash, offline_at, heartbeat_interval_seconds)
    select id, 'mass-' || n, 'web_server', 'mass-' || n || '.example.com', 8080, 'production', hash, now() + interval '1 hour', 60
    from unnest(${sql.param(fleet.map((a) => a.id))}::uuid[], ${sql.param(fleet.map((a) => hashToken(a.token)))}::text[]) with ordinality as f(id, hash, n)`);
}, 180_000);
afterAll(() => server?.close());

/** Runs `task` for every item with at most `width` at a time. */
async function inParallel<T>(items: T[], width: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await task(items[next++]);
  }));
}

describe(`${FLEET} agents at once`, () => {
  it(`go OFFLINE together within ${LEEWAY_MS} ms after their common deadline, and come back ONLINE within ${LEEWAY_MS} ms of their heartbeats, as a subscriber sees it`, async () => {
    const client = wsClient(server.url, server.viewerToken);
    const changes = subscribeWs(client, 'subscription { agentStatusChanged { agent { id } status } }');
    // Every change is stamped when the subscriber has it (to within 5 ms).
    const received = new Map<string, number>();
    const stamp = setInterval(() => {
      const now = Date.now();
      for (let i = received.size; i < changes.items.length; i++) received.set(`${changes.items[i].status}:${changes.items[i].agent.id}`, now);
    }, 5);
    const seen = (status: string) => changes.items.filter((e) => e.status === status);
    try {
      // Wait until the subscription is live before the deadline is set.
      await new Promise((r) => setTimeout(r, 1_000));
      const deadline = Date.now() + 2_000;
      await server.app.database.db.execute(sql`update agents set offline_at = ${new Date(deadline)}::timestamptz where name like 'mass-%'`);
      await changes.until(() => seen('OFFLINE').length >= FLEET, 30_000);
      const lastOffline = Math.max(...[...received].filter(([k]) => k.startsWith('OFFLINE:')).map(([, t]) => t));
      expect(new Set(seen('OFFLINE').map((e) => e.agent.id)).size).toBe(FLEET);
      expect(lastOffline - deadline).toBeLessThan(LEEWAY_MS);

      const answered = new Map<string, number>();
      await inParallel(fleet, 200, async (agent) => {
        const res = await heartbeatRest(server.url, agent.id, agent.token);
        expect(res.status).toBe(200);
        answered.set(agent.id, Date.now());
      });
      await changes.until((items) => items.filter((e) => e.status === 'ONLINE').length >= FLEET, 30_000);
      await new Promise((r) => setTimeout(r, 20));
      const late = fleet.map((a) => received.get(`ONLINE:${a.id}`)! - answered.get(a.id)!);
      expect(Math.max(...late)).toBeLessThan(LEEWAY_MS);
    } finally {
      clearInterval(stamp);
      changes.dispose();
      await client.dispose();
    }
  }, 180_000);
});
