import { sql } from 'drizzle-orm';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

// Sequential heartbeats, each answered before the next is sent, are each written in a
// batch of their own: every one of them is one entry of the history.
let server: TestServer;
let ws: Client;
beforeAll(async () => {
  server = await startTestServer({ env: { HEARTBEAT_FLUSH_MS: '1' } });
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  await server?.close();
});

let counter = 0;
const newAgent = (fields: Record<string, unknown> = {}) => registerAgent(server.url, server.enrollmentToken, { name: `history-${++counter}`, ...fields });

async function beatRest(agent: Agent, body: Record<string, unknown> = {}) {
  const res = await heartbeatRest(server.url, agent.id, agent.token, body);
  expect(res.status).toBe(200);
  return res.body;
}

async function beatGraphQL(agent: Agent, input: Record<string, unknown>) {
  const res = await graphql(server.url, agent.token, 'mutation($input: HeartbeatInput!) { heartbeat(input: $input) { serverTime staleSequence } }', {
    input: { agentId: agent.id, ...input },
  });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.heartbeat;
}

interface Beat {
  at: string;
  health: string;
}

async function historyOf(id: string): Promise<{ lastHeartbeat: string | null; recentHeartbeats: Beat[] }> {
  const res = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { lastHeartbeat recentHeartbeats { at health } } }', { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.agent;
}

describe('Agent.recentHeartbeats', () => {
  it('is empty for an agent that never sent a heartbeat', async () => {
    const agent = await newAgent();
    expect((await historyOf(agent.id)).recentHeartbeats).toEqual([]);
  });

  it('lists heartbeats newest first with the health of each, whether they came over REST or GraphQL', async () => {
    const agent = await newAgent();
    await beatRest(agent, { health: { status: 'healthy' } });
    await beatGraphQL(agent, { health: { status: 'DEGRADED', message: 'disk 91%' } });
    await beatRest(agent, { health: { status: 'unhealthy' } });
    await beatGraphQL(agent, {});

    const { lastHeartbeat, recentHeartbeats } = await historyOf(agent.id);
    expect(recentHeartbeats.map((h) => h.health)).toEqual(['HEALTHY', 'UNHEALTHY', 'DEGRADED', 'HEALTHY']);
    const times = recentHeartbeats.map((h) => Date.parse(h.at));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]);
    expect(recentHeartbeats[0].at).toBe(lastHeartbeat);
  });

  it('records the kept health for a heartbeat whose sequence went backwards, as Agent.health does', async () => {
    const agent = await newAgent();
    await beatRest(agent, { sequence: 5, health: { status: 'degraded' } });
    expect(await beatRest(agent, { sequence: 3, health: { status: 'healthy' } })).toMatchObject({ stale_sequence: true });
    const { recentHeartbeats } = await historyOf(agent.id);
    expect(recentHeartbeats.map((h) => h.health)).toEqual(['DEGRADED', 'DEGRADED']);
  });

  it('keeps only the last 30: after 33 heartbeats the oldest three are gone', async () => {
    const agent = await newAgent();
    const healths = Array.from({ length: 33 }, (_, i) => (i % 3 === 0 ? 'degraded' : 'healthy'));
    const serverTimes: number[] = [];
    for (const status of healths) serverTimes.push(Date.parse((await beatRest(agent, { health: { status } })).server_time));

    const { recentHeartbeats } = await historyOf(agent.id);
    expect(recentHeartbeats).toHaveLength(30);
    expect(recentHeartbeats.map((h) => h.health)).toEqual(healths.slice(3).reverse().map((s) => s.toUpperCase()));
    // Each entry was written before its answer: the oldest kept is after the third answer.
    expect(Date.parse(recentHeartbeats.at(-1)!.at)).toBeGreaterThan(serverTimes[2] - 1);
    expect(Date.parse(recentHeartbeats[0].at)).toBeLessThanOrEqual(serverTimes[32]);
  });

  it('is left out of the event log: an event’s agent carries an empty list, the agent itself its history', async () => {
    const agent = await newAgent({ tags: ['history-event'] });
    await beatRest(agent);
    await beatRest(agent);
    const sub = subscribeWs(ws, 'subscription { agentEvents(filter: { tags: ["history-event"] }) { type agent { id recentHeartbeats { at } } } }');
    await waitFor(() => server.app.feed.subscriberCount > 0, { what: 'the subscription to go live' });
    await beatRest(agent, { health: { status: 'degraded' } });
    const [event] = await sub.until((items) => items.length > 0);
    expect(event).toMatchObject({ type: 'STATUS_CHANGED', agent: { id: agent.id, recentHeartbeats: [] } });
    expect((await historyOf(agent.id)).recentHeartbeats).toHaveLength(3);

    const log = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agentEventLog(agentId: $id) { agent { recentHeartbeats { at } } } }', { id: agent.id });
    expect(log.body.data.agentEventLog.map((e: any) => e.agent.recentHeartbeats)).toEqual([[], []]);
    sub.dispose();
  });

  it('lives in a table that leaves a fifth of each page free (fillfactor 80), so a heartbeat’s new row version fits beside the old', async () => {
    const result = (await server.app.database.db.execute(sql`select reloptions from pg_class where oid = 'agents'::regclass`)) as unknown as {
      rows: { reloptions: string[] | string | null }[];
    };
    expect(String(result.rows[0].reloptions)).toContain('fillfactor=80');
  });
});
