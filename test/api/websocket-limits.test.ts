import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRest, rawWs, registerAgent, subscribeWs, waitFor, wsClient, wsUrl } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    env: { WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '5', WS_MAX_UNAUTHENTICATED_PER_ADDRESS: '3', WS_INIT_TIMEOUT_MS: '500', WS_MAX_SOCKETS: '8' },
  });
});
afterAll(() => server?.close());

const EVENTS = 'subscription { agentEvents { cursor } }';
/** A socket that says nothing after the handshake. */
function silentSocket() {
  const socket = new WebSocket(wsUrl(server.url), 'graphql-transport-ws');
  socket.on('error', () => {});
  const opened = new Promise<void>((resolve) => socket.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return { socket, opened, closed };
}

describe('limits on live connections', () => {
  it('refuses a sixth subscription on one socket with a RATE_LIMITED error naming the limit, and takes one again once another completes', async () => {
    const client = wsClient(server.url, server.viewerToken);
    try {
      const five = Array.from({ length: 5 }, () => subscribeWs(client, EVENTS));
      // Each of the five is live once the server acknowledges nothing wrong; a sixth is refused.
      const sixth = subscribeWs(client, EVENTS);
      const errors = await waitFor(() => sixth.errors.length > 0 && sixth.errors, { what: 'the sixth to be refused' });
      expect(JSON.stringify(errors)).toContain('RATE_LIMITED');
      expect(JSON.stringify(errors)).toContain('WS_MAX_SUBSCRIPTIONS_PER_SOCKET');
      expect(five.every((s) => s.errors.length === 0)).toBe(true);
      // The client's `complete` reaches the server before the next `subscribe`, so the slot is free.
      five[0].dispose();
      const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'ws-limits' });
      expect((await heartbeatRest(server.url, agent.id, agent.token)).status).toBe(200);
      const again = subscribeWs(client, 'subscription($ids: [ID!]!) { agentHeartbeats(agentIds: $ids) { heartbeats { at } } }', { ids: [agent.id] });
      await again.until((items) => items.length > 0);
      for (const s of five) s.dispose();
      again.dispose();
    } finally {
      await client.dispose();
    }
  });

  it('closes a socket that sends no connection_init within WS_INIT_TIMEOUT_MS with 4408', async () => {
    const s = silentSocket();
    await s.opened;
    const started = Date.now();
    const { code } = await s.closed;
    expect(code).toBe(4408);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('closes a fourth unauthenticated socket from one address with 1013, and admits more once the first are accepted', async () => {
    const waiting = [silentSocket(), silentSocket(), silentSocket()];
    await Promise.all(waiting.map((s) => s.opened));
    const fourth = silentSocket();
    const refused = await fourth.closed;
    expect(refused.code).toBe(1013);
    expect(refused.reason).toContain('WS_MAX_UNAUTHENTICATED_PER_ADDRESS');
    for (const s of waiting) s.socket.close();
    await Promise.all(waiting.map((s) => s.closed));
    const accepted = rawWs(server.url, { authorization: `Bearer ${server.viewerToken}` });
    await waitFor(() => accepted.acked(), { what: 'an accepted socket' });
    accepted.socket.close();
  });

  it('closes sockets past WS_MAX_SOCKETS with 1013, and keeps those it holds', async () => {
    const held = Array.from({ length: 8 }, () => rawWs(server.url, { authorization: `Bearer ${server.viewerToken}` }));
    await waitFor(() => held.every((s) => s.acked()), { what: 'eight accepted sockets' });
    const ninth = rawWs(server.url, { authorization: `Bearer ${server.viewerToken}` });
    const { code, reason } = await ninth.closed;
    expect(code).toBe(1013);
    expect(reason).toContain('WS_MAX_SOCKETS');
    expect(held.every((s) => s.socket.readyState === WebSocket.OPEN)).toBe(true);
    for (const s of held) s.socket.close();
    await Promise.all(held.map((s) => s.closed));
  });
});
