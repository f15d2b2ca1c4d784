import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRest, rawWs, registerAgent, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

// The server pings every WebSocket subscriber every 200 ms and drops one whose pong
// has not arrived by the next ping.
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { WS_KEEPALIVE_MS: '200' } });
});
afterAll(() => server?.close());

const STATUS_CHANGES = `subscription($filter: AgentFilter) {
  agentStatusChanged(filter: $filter) { agent { id } previousStatus status }
}`;

describe('keep-alive', () => {
  it('pings every WS_KEEPALIVE_MS and terminates a subscriber that stops answering, while one that answers stays connected and served', async () => {
    const auth = { authorization: `Bearer ${server.viewerToken}` };
    // ws 8.18 answers pings by itself unless autoPong is off.
    const silent = rawWs(server.url, auth, { autoPong: false });
    const polite = rawWs(server.url, auth);
    await waitFor(() => silent.acked() && polite.acked(), { what: 'both sockets acknowledged' });

    const startedAt = Date.now();
    const { code } = await silent.closed;
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    expect(silent.pings).toBeGreaterThanOrEqual(1);
    // Terminated, not closed politely: no close frame arrives, so the client reports 1006.
    expect(code).toBe(1006);

    const pingsBefore = polite.pings;
    await waitFor(() => polite.pings >= pingsBefore + 3, { what: 'three more pings to the polite client' });
    expect(polite.socket.readyState).toBe(WebSocket.OPEN);

    // And it is still served: a subscription on it receives a change made now.
    const subscribers = server.app.feed.subscriberCount;
    polite.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: STATUS_CHANGES, variables: { filter: { tags: ['keep-alive'] } } } }));
    await waitFor(() => server.app.feed.subscriberCount > subscribers, { what: 'the subscription to go live' });
    const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'keep-alive', tags: ['keep-alive'] });
    expect((await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'degraded' } })).status).toBe(200);
    const next = await waitFor(() => polite.messages.find((m) => m.type === 'next' && m.id === '1'), { what: 'an event on the polite socket' });
    expect(next.payload.data.agentStatusChanged).toEqual({ agent: { id: agent.id }, previousStatus: 'ONLINE', status: 'DEGRADED' });
    polite.socket.close(1000);
    expect((await polite.closed).code).toBe(1000);
  });
});
