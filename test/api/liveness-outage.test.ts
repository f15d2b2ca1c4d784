import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The outage grace on one server: its sweeper is stopped for longer than the outage gap,
 * as it would be with every replica down (the real-process version, with the server
 * killed or its database cut for 20 s, is in liveness-outage.timing.test.ts).
 */
const GAP_MS = 1_000;
let server: TestServer;
let ws: Client;
beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '50', OUTAGE_GAP_MS: String(GAP_MS), MISSED_HEARTBEATS: '1' } });
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  await server?.close();
});

const CHANGES = 'subscription { agentStatusChanged(filter: { tags: ["outage"] }) { agent { id offlineAt } previousStatus status reason at } }';

describe('after a gap with no sweeping', () => {
  it('gives agents one full deadline from the moment sweeping resumes: one that heartbeats within it stays online, one that does not goes offline when it ends, saying why', async () => {
    const changes = subscribeWs(ws, CHANGES);
    await waitFor(() => server.app.feed.subscriberCount > 0, { what: 'the subscription' });
    const [talker, silent] = await Promise.all(
      ['talker', 'silent'].map((name) => registerAgent(server.url, server.enrollmentToken, { name: `outage-${name}`, tags: ['outage'], heartbeat_interval_seconds: 2 })),
    );

    // The server is "away": nothing sweeps for longer than both the gap and the agents'
    // 2 s deadline, and no heartbeat gets through.
    await server.app.sweeper.stop();
    await new Promise((r) => setTimeout(r, 2_500));
    const resumed = Date.now();
    server.app.sweeper.start();

    // Their deadlines have passed, yet neither goes offline on the first sweep: each got
    // a full deadline (2 s) from now.
    await waitFor(async () => {
      const res = await graphql(server.url, server.viewerToken, `{ agent(id: "${silent.id}") { status offlineAt } }`);
      return Date.parse(res.body.data.agent.offlineAt) >= resumed + 1_500;
    }, { what: 'the grace to be given' });
    expect(changes.items).toEqual([]);
    // The talker keeps heartbeating from now on; the silent one never does.
    let talking = true;
    const talk = (async () => {
      while (talking) {
        expect((await heartbeatRest(server.url, talker.id, talker.token)).status).toBe(200);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    const [offline] = await changes.until((items) => items.length >= 1, 10_000).finally(() => (talking = false));
    await talk;
    expect(offline).toMatchObject({
      agent: { id: silent.id },
      previousStatus: 'ONLINE',
      status: 'OFFLINE',
      reason: expect.stringMatching(/^no heartbeat within the grace period after the server was unavailable/),
    });
    expect(Date.parse(offline.at)).toBeGreaterThanOrEqual(resumed + 1_900);
    // The one that spoke up stays online.
    const talkerState = await graphql(server.url, server.viewerToken, `{ agent(id: "${talker.id}") { status } }`);
    expect(talkerState.body.data.agent.status).toBe('ONLINE');
    expect(changes.items.filter((e) => e.agent.id === talker.id)).toEqual([]);
    changes.dispose();
  });

  it('goes back to the ordinary rule once sweeps run again: a silent agent goes offline at its own deadline, with the ordinary reason', async () => {
    const changes = subscribeWs(ws, 'subscription { agentStatusChanged(filter: { tags: ["after-outage"] }) { reason } }');
    await waitFor(() => server.app.feed.subscriberCount > 0, { what: 'the subscription' });
    await registerAgent(server.url, server.enrollmentToken, { name: 'outage-later', tags: ['after-outage'], heartbeat_interval_seconds: 1 });
    const [change] = await changes.until((items) => items.length >= 1, 10_000);
    expect(change.reason).toBe('no heartbeat for 1 × 1 s since registration');
    changes.dispose();
  });
});
