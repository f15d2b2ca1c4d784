import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { onPostgres } from '../helpers/database';
import { heartbeatRest, rawWs, registerAgent, subscribeSse, waitFor, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

const METRICS_TOKEN = 'metrics-only-token-0123456789';
let server: TestServer;
let agent: Agent;
beforeAll(async () => {
  server = await startTestServer({ env: { METRICS_TOKEN, SWEEP_INTERVAL_MS: '50' } });
  agent = await registerAgent(server.url, server.enrollmentToken, { name: 'metrics-agent' });
});
afterAll(() => server?.close());

const scrape = async (token = server.viewerToken) => {
  const res = await request(`${server.url}/metrics`, { token });
  expect(res.status).toBe(200);
  return res.body as string;
};

/** The value of one sample: `name{labels}` exactly as the text writes the labels, in order. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics', () => {
  it('publishes each durable event consumer: events and seconds behind, and whether this replica runs it', async () => {
    await waitFor(async () => sample(await scrape(), 'agent_monitor_event_consumer_lag_events', { consumer: 'fleet-availability' }) === 0, { what: 'the consumer to catch up' });
    const text = await scrape();
    expect(sample(text, 'agent_monitor_event_consumer_lag_seconds', { consumer: 'fleet-availability' })).toBe(0);
    expect(sample(text, 'agent_monitor_event_consumer_active', { consumer: 'fleet-availability' })).toBe(1);
  });

  it('answers 401 without a token, 403 to enrollment and agent tokens, and Prometheus text to viewer, admin and METRICS_TOKEN', async () => {
    expect((await request(`${server.url}/metrics`)).status).toBe(401);
    for (const token of [server.enrollmentToken, agent.token]) expect((await request(`${server.url}/metrics`, { token })).status).toBe(403);
    for (const token of [server.viewerToken, server.adminToken, METRICS_TOKEN]) {
      const res = await request(`${server.url}/metrics`, { token });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    }
    // METRICS_TOKEN opens nothing else.
    expect((await request(`${server.url}/api/v1/agents/`, { token: METRICS_TOKEN })).status).toBe(401);
  });

  it('counts requests by route pattern and status, never by raw path', async () => {
    const id = randomUUID();
    for (let i = 0; i < 3; i++) expect((await request(`${server.url}/api/v1/agents/${id}`, { token: server.viewerToken })).status).toBe(404);
    const text = await scrape();
    expect(sample(text, 'agent_monitor_http_requests_total', { route: 'GET /api/v1/agents/:id', method: 'GET', status: '404' })).toBe(3);
    expect(sample(text, 'agent_monitor_http_request_duration_seconds_count', { route: 'GET /api/v1/agents/:id', method: 'GET' })).toBe(3);
    // Cumulative buckets: none below zero seconds, all three by +Inf.
    const route = { route: 'GET /api/v1/agents/:id', method: 'GET' };
    expect(sample(text, 'agent_monitor_http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBe(3);
    expect(sample(text, 'agent_monitor_http_request_duration_seconds_bucket', { ...route, le: '15' })).toBe(3);
    expect(sample(text, 'agent_monitor_http_request_duration_seconds_sum', route)).toBeGreaterThan(0);
    expect(text).not.toContain(id);
  });

  it('counts heartbeats accepted over REST and GraphQL, those refused by code, and the batches that wrote them', async () => {
    expect((await heartbeatRest(server.url, agent.id, agent.token)).status).toBe(200);
    const gql = await graphql(server.url, agent.token, 'mutation($id: ID!) { heartbeat(input: { agentId: $id }) { status } }', { id: agent.id });
    expect(gql.body.errors).toBeUndefined();
    expect((await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'sleepy' } })).status).toBe(400);
    const text = await scrape();
    expect(sample(text, 'agent_monitor_heartbeats_accepted_total')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'agent_monitor_heartbeats_refused_total', { code: 'BAD_USER_INPUT' })).toBe(1);
    expect(sample(text, 'agent_monitor_heartbeat_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'agent_monitor_heartbeat_flush_seconds_count', { outcome: 'written' })).toBeGreaterThanOrEqual(1);
    // The count carries on from scrape to scrape: one more heartbeat, one more.
    const before = sample(text, 'agent_monitor_heartbeats_accepted_total')!;
    expect((await heartbeatRest(server.url, agent.id, agent.token)).status).toBe(200);
    expect(sample(await scrape(), 'agent_monitor_heartbeats_accepted_total')).toBe(before + 1);
  });

  it('reports open sockets and subscriptions, sweeper runs, the process’s memory and event-loop lag', async () => {
    const socket = rawWs(server.url, { authorization: `Bearer ${server.viewerToken}` });
    await waitFor(() => socket.acked());
    socket.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { agentEvents { cursor } }' } }));
    const text = await waitFor(async () => {
      const t = await scrape();
      return sample(t, 'agent_monitor_websocket_subscriptions') === 1 ? t : undefined;
    }, { what: 'one subscription in the metrics' });
    expect(sample(text, 'agent_monitor_websocket_sockets')).toBe(1);
    expect(sample(text, 'agent_monitor_sweeper_runs_total', { outcome: 'ok' })).toBeGreaterThan(0);
    expect(sample(text, 'agent_monitor_sweeper_transitions_total')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    if (onPostgres()) {
      expect(sample(text, 'agent_monitor_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
      expect(sample(text, 'agent_monitor_db_pool_max')).toBe(10);
    }
    socket.socket.close();
    await socket.closed;
    await waitFor(async () => sample(await scrape(), 'agent_monitor_websocket_subscriptions') === 0, { what: 'the subscription to be gone' });

    const sse = subscribeSse(server.url, server.viewerToken, 'subscription { agentEvents { cursor } }');
    expect(await sse.status).toBe(200);
    await waitFor(async () => sample(await scrape(), 'agent_monitor_sse_streams') === 1, { what: 'one SSE stream' });
    sse.dispose();
    await waitFor(async () => sample(await scrape(), 'agent_monitor_sse_streams') === 0, { what: 'the SSE stream to be gone' });
  });
});
