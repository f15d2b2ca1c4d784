import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, subscribeWs, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

const FLEET = 100_000;
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { MISSED_HEARTBEATS: '1' } });
  // Setup only: a fleet of healthy agents whose deadlines lie an hour ahead, written in
  // one statement because registering 100 000 agents over HTTP is not what is measured.
  await server.app.database.db.execute(sql`
    insert into agents (name, type, host, port, environment, token_hash, offline_at, heartbeat_interval_seconds)
    select 'fleet-' || g, 'web_server', 'host-' || g || '.example.com', 8080, 'production',
           md5(g::text) || md5((g + 1)::text), now() + interval '1 hour', 1200
    from generate_series(1, ${FLEET}) g`);
}, 180_000);
afterAll(() => server?.close());

describe('offline detection with a large fleet', () => {
  it(`marks an agent offline within 1 s after its deadline while ${FLEET} other agents are registered`, async () => {
    const client = wsClient(server.url, server.adminToken);
    const changes = subscribeWs(client, `subscription { agentStatusChanged(filter: { type: "probe" }) { agent { id offlineAt } previousStatus status at } }`);
    try {
      // Only the OFFLINE changes matter, and they come a full interval after registration,
      // by when the subscription is long established.
      const probes = await Promise.all(
        [1, 2, 3].map((i) => registerAgent(server.url, server.enrollmentToken, { name: `probe-${i}`, type: 'probe', heartbeat_interval_seconds: 1 })),
      );
      const offline = await changes.until((items) => items.filter((c) => c.status === 'OFFLINE').length === probes.length, 15_000);
      for (const change of offline) {
        expect(change.previousStatus).toBe('ONLINE');
        // Both instants come from the server's clock: when it noticed, and the deadline it had set.
        const lateBy = Date.parse(change.at) - Date.parse(change.agent.offlineAt);
        expect(lateBy).toBeGreaterThanOrEqual(0);
        expect(lateBy).toBeLessThan(1000);
      }
      expect(new Set(offline.map((c) => c.agent.id))).toEqual(new Set(probes.map((p) => p.id)));
    } finally {
      changes.dispose();
      await client.dispose();
    }
  }, 60_000);
});
