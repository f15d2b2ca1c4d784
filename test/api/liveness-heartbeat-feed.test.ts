import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeartbeatFeed } from '../../api/liveness/heartbeat.feed';
import { graphql } from '../helpers/client';
import { heartbeatRest, registerAgent, subscribeSse, subscribeWs, waitFor, wsClient, type Agent, type Collected } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

// The feed reads the subscribed agents every 50 ms, so a heartbeat arrives within a few.
const FEED_MS = 50;
let server: TestServer;
let ws: Client;
beforeAll(async () => {
  server = await startTestServer({ env: { HEARTBEAT_FEED_MS: String(FEED_MS), HEARTBEAT_FLUSH_MS: '1' } });
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  await server?.close();
});

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `feed-${++counter}` });
const beat = async (agent: Agent, status = 'healthy') => {
  const res = await heartbeatRest(server.url, agent.id, agent.token, { health: { status } });
  expect(res.status).toBe(200);
  return res.body;
};

const HEARTBEATS = `subscription($ids: [ID!]!) {
  agentHeartbeats(agentIds: $ids) { heartbeats { at health agent { id status health lastHeartbeat offlineAt tags } } }
}`;

/** Resolves once the feed has made a whole read since now: one that began after this call. */
async function primed(): Promise<void> {
  const reads = server.app.heartbeats.reads;
  await waitFor(() => server.app.heartbeats.reads >= reads + 2, { what: 'a read of the feed' });
}

/**
 * Subscribes and resolves once the feed has primed the subscription, so every
 * heartbeat from now on is reported.
 */
async function live(ids: string[], client: Client = ws): Promise<Collected<any>> {
  const subscribers = server.app.heartbeats.subscriberCount;
  const sub = subscribeWs(client, HEARTBEATS, { ids });
  await waitFor(() => server.app.heartbeats.subscriberCount > subscribers, { what: 'the subscription to join the feed' });
  await primed();
  return sub;
}

async function end(sub: Collected<any>): Promise<void> {
  const subscribers = server.app.heartbeats.subscriberCount;
  sub.dispose();
  await waitFor(() => server.app.heartbeats.subscriberCount < subscribers, { what: 'the subscription to end' });
}

const flat = (batches: any[]) => batches.flatMap((b) => b.heartbeats);

describe('agentHeartbeats', () => {
  it('pushes a heartbeat of a watched agent within a few feed intervals, with the agent as it is now', async () => {
    const agent = await newAgent();
    await beat(agent);
    const sub = await live([agent.id]);
    // First the agent's current state (its latest heartbeat), then what is new.
    await sub.until((items) => items.length > 0);
    const answer = await beat(agent, 'degraded');
    const started = Date.now();
    const [, batch] = await sub.until((items) => items.length > 1, 5_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(batch.heartbeats).toHaveLength(1);
    const [hb] = batch.heartbeats;
    expect(hb).toMatchObject({ health: 'DEGRADED', agent: { id: agent.id, status: 'DEGRADED', health: 'DEGRADED', offlineAt: answer.offline_at, tags: [] } });
    expect(hb.agent.lastHeartbeat).toBe(hb.at);
    expect(Date.parse(hb.at)).toBeLessThanOrEqual(Date.parse(answer.server_time));
    await end(sub);
  });

  it('first hands a new subscription each agent’s current state, so a heartbeat taken after the client’s query is not missed', async () => {
    const [agent, silent] = await Promise.all([newAgent(), newAgent()]);
    await beat(agent);
    const query = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { lastHeartbeat } }', { id: agent.id });
    const seenByQuery = Date.parse(query.body.data.agent.lastHeartbeat);
    // Taken after the client's query, before its subscription: only the priming read sees it.
    const answer = await beat(agent, 'unhealthy');
    const sub = subscribeWs(ws, HEARTBEATS, { ids: [agent.id, silent.id] });
    const [first] = await sub.until((items) => items.length > 0);
    expect(first.heartbeats).toHaveLength(1);
    const [hb] = first.heartbeats;
    expect(hb).toMatchObject({ health: 'UNHEALTHY', agent: { id: agent.id, status: 'DEGRADED', offlineAt: answer.offline_at } });
    expect(hb.agent.lastHeartbeat).toBe(hb.at);
    expect(Date.parse(hb.at)).toBeGreaterThan(seenByQuery);
    // The agent that never sent one has no entry; nothing repeats at later reads.
    await primed();
    await primed();
    expect(sub.items).toHaveLength(1);
    await end(sub);
  });

  it('a client that resubscribes gets the heartbeats taken meanwhile, whether it closes the old subscription first or last', async () => {
    const agent = await newAgent();
    await beat(agent);
    // Closed first: this replica then watches nothing and keeps nothing of what it read.
    const old = await live([agent.id]);
    await old.until((items) => items.length > 0);
    await end(old);
    expect(server.app.heartbeats.subscriberCount).toBe(0);
    const missed = await beat(agent, 'degraded');
    const again = subscribeWs(ws, HEARTBEATS, { ids: [agent.id] });
    const [first] = await again.until((items) => items.length > 0);
    expect(first.heartbeats.map((h: any) => [h.health, h.agent.offlineAt])).toEqual([['DEGRADED', missed.offline_at]]);

    // Closed last: the new one still starts from the current state, not from the old one's.
    const later = await beat(agent, 'healthy');
    const next = subscribeWs(ws, HEARTBEATS, { ids: [agent.id] });
    const [state] = await next.until((items) => items.length > 0);
    again.dispose();
    expect(state.heartbeats.map((h: any) => [h.health, h.agent.offlineAt])).toEqual([['HEALTHY', later.offline_at]]);
    await end(next);
  });

  it('hands subscribers that watch the same agents the same batch object, so it is executed once for them', async () => {
    const [a, b] = await Promise.all([newAgent(), newAgent()]);
    await Promise.all([beat(a), beat(b)]);
    const feed = server.app.heartbeats;
    const viewer = { role: 'viewer' } as const;
    const one = feed.subscribe(viewer, [a.id, b.id]);
    const two = feed.subscribe(viewer, [b.id, a.id]);
    const other = feed.subscribe(viewer, [a.id]);
    try {
      const [x, y, z] = await Promise.all([one.next(), two.next(), other.next()]);
      expect(x.value).toBe(y.value);
      expect(x.value!.heartbeats).toHaveLength(2);
      expect(z.value).not.toBe(x.value);
      // The per-agent entries are shared all the same.
      expect(x.value!.heartbeats).toContain(z.value!.heartbeats[0]);
    } finally {
      await Promise.all([one.return(), two.return(), other.return()]);
    }
  });

  it('reports heartbeats over REST and GraphQL alike, each once, and only those of the agents asked for', async () => {
    const [watched, other] = await Promise.all([newAgent(), newAgent()]);
    const sub = await live([watched.id]);
    await beat(watched);
    await beat(other);
    await sub.until((items) => flat(items).length >= 1);
    const viaGraphQL = await graphql(server.url, watched.token, 'mutation($id: ID!) { heartbeat(input: { agentId: $id, health: { status: UNHEALTHY } }) { serverTime } }', { id: watched.id });
    expect(viaGraphQL.body.errors).toBeUndefined();
    await beat(other);
    const items = flat(await sub.until((all) => flat(all).length >= 2));
    expect(items.map((h) => [h.agent.id, h.health])).toEqual([
      [watched.id, 'HEALTHY'],
      [watched.id, 'UNHEALTHY'],
    ]);
    // A few more reads: nothing else arrives, neither repeats nor the other agent.
    const reads = server.app.heartbeats.reads;
    await waitFor(() => server.app.heartbeats.reads >= reads + 3, { what: 'three more reads' });
    expect(flat(sub.items)).toHaveLength(2);
    await end(sub);
  });

  it('reports every heartbeat, oldest first, also when several fall between two reads', async () => {
    const agent = await newAgent();
    const sub = await live([agent.id]);
    // Sent back to back, usually within one feed interval: the row's history holds them all.
    for (const status of ['healthy', 'degraded', 'unhealthy']) await beat(agent, status);
    const items = flat(await sub.until((all) => flat(all).length >= 3));
    expect(items.map((h) => h.health)).toEqual(['HEALTHY', 'DEGRADED', 'UNHEALTHY']);
    for (let i = 1; i < items.length; i++) expect(Date.parse(items[i].at)).toBeGreaterThanOrEqual(Date.parse(items[i - 1].at));
    await end(sub);
  });

  it('never reports an id that names no agent, and sends no empty batches', async () => {
    const agent = await newAgent();
    const unknown = randomUUID();
    const sub = await live([unknown, agent.id]);
    const reads = server.app.heartbeats.reads;
    await waitFor(() => server.app.heartbeats.reads >= reads + 3, { what: 'three reads' });
    expect(sub.items).toEqual([]);
    await beat(agent);
    const [batch] = await sub.until((items) => items.length > 0);
    expect(batch.heartbeats.map((h: any) => h.agent.id)).toEqual([agent.id]);
    await end(sub);
  });

  it('stops reading once the last subscriber has gone', async () => {
    const agent = await newAgent();
    const sub = await live([agent.id]);
    expect(server.app.heartbeats.active).toBe(true);
    await end(sub);
    expect(server.app.heartbeats.subscriberCount).toBe(0);
    // The interval timer is gone, not merely idle.
    expect(server.app.heartbeats.active).toBe(false);
    const reads = server.app.heartbeats.reads;
    await new Promise((r) => setTimeout(r, FEED_MS * 4));
    expect(server.app.heartbeats.reads).toBeLessThanOrEqual(reads + 1);
  });

  it('refuses a subscription once stopped, without starting to read', async () => {
    const feed = new HeartbeatFeed({ db: undefined as never, store: undefined as never, intervalMs: FEED_MS, onError: (err) => expect.unreachable(String(err)) });
    await feed.stop();
    expect(() => feed.subscribe({ role: 'viewer' }, [randomUUID()])).toThrow(/stopped/);
    expect(feed.subscriberCount).toBe(0);
    expect(feed.active).toBe(false);
  });

  it('serves Server-Sent Events too', async () => {
    const agent = await newAgent();
    const subscribers = server.app.heartbeats.subscriberCount;
    const sse = subscribeSse(server.url, server.viewerToken, HEARTBEATS, { ids: [agent.id] });
    expect(await sse.status).toBe(200);
    await waitFor(() => server.app.heartbeats.subscriberCount > subscribers, { what: 'the subscription to join the feed' });
    await primed();
    await beat(agent);
    const [batch] = await sse.until((items) => items.length > 0);
    expect(batch.heartbeats[0].agent.id).toBe(agent.id);
    sse.dispose();
    await waitFor(() => server.app.heartbeats.subscriberCount === subscribers, { what: 'the SSE subscriber to be released' });
  });
});

describe('agentHeartbeats refuses', () => {
  /** The first error of a subscription over graphql-ws, and that it delivered nothing. */
  async function refusal(variables: Record<string, unknown>, client: Client = ws) {
    const sub = subscribeWs(client, HEARTBEATS, variables);
    await waitFor(() => sub.errors.length > 0, { what: 'the error' });
    expect(sub.items).toEqual([]);
    return (sub.errors[0] as any[])[0];
  }

  it('more than 500 ids with BAD_USER_INPUT naming the limit, and takes exactly 500', async () => {
    const error = await refusal({ ids: Array.from({ length: 501 }, () => randomUUID()) });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { agentIds: expect.stringContaining('at most 500') } });
    expect(error.message).toContain('500');

    const fine = await live(Array.from({ length: 500 }, () => randomUUID()));
    expect(fine.errors).toEqual([]);
    await end(fine);
  });

  it('an empty list with BAD_USER_INPUT', async () => {
    const error = await refusal({ ids: [] });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { agentIds: 'give at least one agent id' } });
  });

  it('a malformed UUID with BAD_USER_INPUT naming its position, over WebSocket and SSE', async () => {
    const agent = await newAgent();
    const error = await refusal({ ids: [agent.id, 'not-a-uuid'] });
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { 'agentIds.1': expect.any(String) } });

    const sse = subscribeSse(server.url, server.viewerToken, HEARTBEATS, { ids: ['12345'] });
    expect(await sse.status).toBe(400);
    await waitFor(() => sse.errors.length > 0, { what: 'the error' });
    expect((sse.errors[0] as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { 'agentIds.0': expect.any(String) } });
    sse.dispose();
  });

  it('an agent token: the socket closes with 4403, and over SSE the answer is FORBIDDEN', async () => {
    const agent = await newAgent();
    let code: number | undefined;
    const client = wsClient(server.url, agent.token, (c) => (code = c));
    const sub = subscribeWs(client, HEARTBEATS, { ids: [agent.id] });
    await waitFor(() => code !== undefined, { what: 'the socket to close' });
    expect(code).toBe(4403);
    expect(sub.items).toEqual([]);
    await client.dispose();

    const sse = subscribeSse(server.url, agent.token, HEARTBEATS, { ids: [agent.id] });
    await waitFor(() => sse.errors.length > 0 || sse.completed, { what: 'the refusal' });
    expect((sse.errors[0] as any[])[0].extensions.code).toBe('FORBIDDEN');
    sse.dispose();
  });

  it('no token over SSE with 401', async () => {
    const anonymous = subscribeSse(server.url, undefined, HEARTBEATS, { ids: [randomUUID()] });
    expect(await anonymous.status).toBe(401);
    anonymous.dispose();
  });
});
