import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/client';
import { rawWs, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Subscriptions that their clients abandon in ways no client library would: each must be
 * ended on the server (its feed listener released), not left running for events nobody
 * reads.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const listeners = () => server.app.feed.subscriberCount;

describe('abandoned subscriptions', () => {
  it('ends a subscription over HTTP that was answered 406 (asked for as JSON)', async () => {
    const before = listeners();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        request(`${server.url}/graphql`, { token: server.viewerToken, headers: { accept: 'application/json' }, json: { query: 'subscription { agentEvents(after: "0:0") { cursor } }' } }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(406));
    expect(answers[0].body.errors[0].extensions.code).toBe('NOT_ACCEPTABLE');
    await waitFor(() => listeners() === before, { timeout: 3000, what: `the feed's listeners back to ${before} (now ${listeners()})` });
  });

  it('ends the subscriptions of a socket that closes while its subscribes are still queued', async () => {
    const before = listeners();
    for (let round = 0; round < 3; round++) {
      const ws = rawWs(server.url, { authorization: `Bearer ${server.viewerToken}` });
      await ws.opened;
      await waitFor(() => ws.acked());
      // One write of 100 subscribes, then gone: most are still queued when the socket closes.
      const frames = Array.from({ length: 100 }, (_, i) => JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: `subscription { x${i}: agentEvents { cursor } }` } }));
      for (const f of frames) ws.socket.send(f);
      await new Promise((r) => setTimeout(r, 5));
      ws.socket.terminate();
      await ws.closed;
    }
    await waitFor(() => listeners() === before, { timeout: 3000, what: `the feed's listeners back to ${before} (now ${listeners()})` });
    // And the door's own count agrees.
    const metrics = await request(`${server.url}/metrics`, { token: server.adminToken });
    expect(String(metrics.body)).toMatch(/^agent_monitor_websocket_subscriptions 0$/m);
  });
});
