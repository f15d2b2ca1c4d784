import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The sweeper ticks every SWEEP_INTERVAL_MS, and each sweep also looks for the earliest
 * deadline before its next tick, waking for it. An agent goes offline on its deadline,
 * not up to one interval after it: with a 5 s interval, ticking alone would deliver the
 * change 0–5 s late.
 */
const INTERVAL_MS = 5_000;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: String(INTERVAL_MS), MISSED_HEARTBEATS: '1' } });
});
afterAll(() => server?.close());

describe('an agent’s deadline', () => {
  it('turns it OFFLINE at the subscriber within 500 ms after the deadline, though sweeps tick every 5 s', async () => {
    const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'on-time', tags: ['on-time'], heartbeat_interval_seconds: 6 });
    const client = wsClient(server.url, server.viewerToken);
    try {
      const changes = subscribeWs<{ status: string }>(
        client,
        'subscription($filter: AgentFilter) { agentStatusChanged(filter: $filter) { status } }',
        { filter: { tags: ['on-time'] } },
      );
      await waitFor(() => server.app.feed.subscriberCount > 0, { what: 'the subscription to go live' });
      const res = await heartbeatRest(server.url, agent.id, agent.token);
      expect(res.status).toBe(200);
      // One missed 6 s interval: more than one tick away, so some sweep sees it coming.
      const deadline = Date.parse(res.body.offline_at);
      await changes.until((items) => items.some((c) => c.status === 'OFFLINE'), 15_000);
      const late = Date.now() - deadline;
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(500);
    } finally {
      await client.dispose();
    }
  });
});
