import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { onPostgres } from '../helpers/database';
import { heartbeatRest, rawWs, registerAgent, subscribeSse, subscribeWs, waitFor, wsClient, type Agent } from '../helpers/liveness';
import { compareCursors } from '../helpers/cursors';
import { startTestServer, type TestServer } from '../helpers/server';
import { isAfter } from '../../api/events/position';

// Real clock and the default sweep interval. (Keep-alive has a suite of its own: pings
// every 200 ms would drop these in-process sockets whenever a busy machine stalls the loop.)
let server: TestServer;
let ws: Client;
beforeAll(async () => {
  server = await startTestServer();
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  await server?.close();
});

let counter = 0;
const newAgent = (fields: Record<string, unknown> = {}) => registerAgent(server.url, server.enrollmentToken, { name: `sub-${++counter}`, ...fields });
const beat = (agent: Agent, status = 'healthy', message?: string) => heartbeatRest(server.url, agent.id, agent.token, { health: { status, message } });

/** Resolves once `subscribe()` has registered one more subscriber with the event feed. */
async function live<T>(subscribe: () => T): Promise<T> {
  const before = server.app.feed.subscriberCount;
  const sub = subscribe();
  await waitFor(() => server.app.feed.subscriberCount > before, { what: 'the subscription to go live' });
  return sub;
}

/** Ends a live subscription and waits until the server has let go of it, so `live` counts right. */
async function end(sub: { dispose(): void }): Promise<void> {
  const before = server.app.feed.subscriberCount;
  sub.dispose();
  await waitFor(() => server.app.feed.subscriberCount < before, { what: 'the subscription to end' });
}

const STATUS_CHANGES = `subscription($filter: AgentFilter) {
  agentStatusChanged(filter: $filter) { cursor agent { id name status environment tags offlineAt } previousStatus status reason at }
}`;
const EVENTS = `subscription($after: String, $filter: AgentFilter) {
  agentEvents(after: $after, filter: $filter) { cursor type agentId }
}`;

/** Every cursor in the event log after `cursor`, oldest first, paging back from the newest. */
async function logCursorsAfter(cursor: string): Promise<string[]> {
  const out: string[] = [];
  let before: string | undefined;
  for (;;) {
    const res = await graphql(server.url, server.viewerToken, 'query($before: String) { agentEventLog(before: $before, last: 1000) { cursor } }', { before });
    const page: string[] = res.body.data.agentEventLog.map((e: { cursor: string }) => e.cursor);
    const newer = page.filter((c) => compareCursors(c, cursor) > 0);
    out.unshift(...newer);
    if (page.length < 1000 || newer.length < page.length) return out;
    before = page[0];
  }
}

/** Runs `tasks` with at most `width` at a time. */
async function pool(n: number, width: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await task(next++);
  }));
}

describe('WebSocket authentication', () => {
  it('acknowledges connection_init carrying the admin or the viewer token as {"authorization": "Bearer …"}', async () => {
    for (const token of [server.adminToken, server.viewerToken]) {
      const socket = rawWs(server.url, { authorization: `Bearer ${token}` });
      await waitFor(() => socket.acked(), { what: 'connection_ack' });
      socket.socket.close(1000);
      expect((await socket.closed).code).toBe(1000);
    }
  });

  const refused: [string, () => unknown][] = [
    ['no payload', () => undefined],
    ['an empty payload', () => ({})],
    ['a token the server never issued', () => ({ authorization: 'Bearer not-a-real-token-at-all' })],
    ['an authorization that is not a bearer token', () => ({ authorization: `Basic ${server.adminToken}` })],
    ['the enrollment token', () => ({ authorization: `Bearer ${server.enrollmentToken}` })],
  ];
  for (const [what, payload] of refused) {
    it(`closes the socket with 4403 when connection_init carries ${what}`, async () => {
      const socket = rawWs(server.url, payload());
      expect((await socket.closed).code).toBe(4403);
      expect(socket.acked()).toBe(false);
    });
  }

  it('closes the socket with 4403 for an agent token, as the graphql-ws client sees it', async () => {
    const agent = await newAgent();
    let code: number | undefined;
    const client = wsClient(server.url, agent.token, (c) => (code = c));
    const sub = subscribeWs(client, STATUS_CHANGES, {});
    await waitFor(() => code !== undefined, { what: 'the socket to close' });
    expect(code).toBe(4403);
    expect(sub.items).toEqual([]);
    await client.dispose();
  });
});

describe('agentStatusChanged', () => {
  it('yields agent, previousStatus, status, reason and at for each change, only for agents that match the filter', async () => {
    const byTag = await live(() => subscribeWs(ws, STATUS_CHANGES, { filter: { tags: ['filter-a'] } }));
    const byEnvironment = await live(() => subscribeWs(ws, STATUS_CHANGES, { filter: { environment: 'staging' } }));
    const byStatus = await live(() => subscribeWs(ws, STATUS_CHANGES, { filter: { status: ['DEGRADED'], search: 'sub-filter' } }));

    const a = await newAgent({ name: 'sub-filter-a', tags: ['filter-a'] });
    const b = await newAgent({ name: 'sub-filter-b', environment: 'staging' });
    const c = await newAgent({ name: 'sub-filter-c' });
    for (const agent of [a, b, c]) {
      await beat(agent, 'degraded', 'slow');
      await beat(agent, 'healthy');
    }
    // Matches every filter; once it has arrived everywhere, so has everything before it.
    const d = await newAgent({ name: 'sub-filter-d', tags: ['filter-a'], environment: 'staging' });
    await beat(d, 'degraded');
    const seen = (sub: typeof byTag) => sub.until((items) => items.some((e) => e.agent.id === d.id));
    const ids = (items: any[]) => items.map((e) => e.agent.name);

    const tagged = await seen(byTag);
    expect(ids(tagged)).toEqual(['sub-filter-a', 'sub-filter-a', 'sub-filter-d']);
    expect(tagged[0]).toMatchObject({
      agent: { id: a.id, status: 'DEGRADED', tags: ['filter-a'] },
      previousStatus: 'ONLINE',
      status: 'DEGRADED',
      reason: 'agent reported degraded: slow',
    });
    expect(tagged[1]).toMatchObject({ agent: { status: 'ONLINE' }, previousStatus: 'DEGRADED', status: 'ONLINE', reason: 'agent reported healthy' });
    for (const e of tagged) expect(Math.abs(Date.parse(e.at) - Date.now())).toBeLessThan(60_000);

    expect(ids(await seen(byEnvironment))).toEqual(['sub-filter-b', 'sub-filter-b', 'sub-filter-d']);
    // A status filter matches a change into or out of that status.
    const byStatusItems = await seen(byStatus);
    expect(ids(byStatusItems)).toEqual(['sub-filter-a', 'sub-filter-a', 'sub-filter-b', 'sub-filter-b', 'sub-filter-c', 'sub-filter-c', 'sub-filter-d']);
    for (const sub of [byTag, byEnvironment, byStatus]) await end(sub);
  });

  it('streams status changes over Server-Sent Events, authenticated by the Authorization header', async () => {
    const sse = await live(() => subscribeSse(server.url, server.viewerToken, STATUS_CHANGES, { filter: { tags: ['over-sse'] } }));
    expect(await sse.status).toBe(200);
    const agent = await newAgent({ tags: ['over-sse'] });
    await beat(agent, 'unhealthy', 'no disk');
    const [change] = await sse.until((items) => items.length >= 1);
    expect(change).toMatchObject({ agent: { id: agent.id, status: 'DEGRADED' }, previousStatus: 'ONLINE', status: 'DEGRADED', reason: 'agent reported unhealthy: no disk' });
    await end(sse);
  });

  it('lets go of an SSE subscription once its client disconnects', async () => {
    const sse = await live(() => subscribeSse(server.url, server.viewerToken, STATUS_CHANGES, { filter: { tags: ['sse-gone'] } }));
    expect(await sse.status).toBe(200);
    const before = server.app.feed.subscriberCount;
    sse.dispose();
    await waitFor(() => server.app.feed.subscriberCount < before, { timeout: 3_000, what: 'the server to release the SSE subscriber' });
  });

  it('refuses an SSE subscription without a token (401) and one with an agent token (FORBIDDEN)', async () => {
    const anonymous = subscribeSse(server.url, undefined, STATUS_CHANGES, {});
    expect(await anonymous.status).toBe(401);
    anonymous.dispose();
    const agent = await newAgent();
    const asAgent = subscribeSse(server.url, agent.token, STATUS_CHANGES, {});
    await waitFor(() => asAgent.errors.length > 0 || asAgent.completed, { what: 'the refusal' });
    expect((asAgent.errors[0] as any[])[0].extensions.code).toBe('FORBIDDEN');
    asAgent.dispose();
  });
});

describe('bad subscription input', () => {
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['a tag with an invalid character', STATUS_CHANGES, { filter: { tags: ['bad tag!'] } }, 'filter.tags.0'],
    ['an after cursor that is not a number', EVENTS, { after: 'not-a-cursor' }, 'after'],
    ['a negative after cursor', EVENTS, { after: '-1' }, 'after'],
  ];
  for (const [what, query, variables, field] of cases) {
    it(`answers ${what} with BAD_USER_INPUT naming ${field}, over WebSocket and SSE`, async () => {
      const overWs = subscribeWs(ws, query, variables);
      await waitFor(() => overWs.errors.length > 0, { what: 'the error' });
      const [wsError] = overWs.errors[0] as any[];
      expect(wsError.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { [field]: expect.any(String) } });

      const overSse = subscribeSse(server.url, server.viewerToken, query, variables);
      expect(await overSse.status).toBe(400);
      await waitFor(() => overSse.errors.length > 0, { what: 'the error' });
      expect((overSse.errors[0] as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { [field]: expect.any(String) } });
      overSse.dispose();
    });
  }
});

describe('events of an agent that is gone', () => {
  it('delivers a deregistration with every field of the agent as it was, though its row no longer exists', async () => {
    const agent = await newAgent({ tags: ['leaving'], metadata: { team: 'ops' } });
    const sub = await live(() =>
      subscribeWs(ws, `subscription { agentEvents(filter: { tags: ["leaving"] }) {
        type agent { id name type host port environment status health healthMessage metadata tags configuration { key } configurationRevision heartbeatIntervalSeconds lastHeartbeat offlineAt createdAt updatedAt }
      } }`),
    );
    const gone = await graphql(server.url, server.adminToken, `mutation { deregisterAgent(id: "${agent.id}") { id } }`);
    expect(gone.body.data.deregisterAgent.id).toBe(agent.id);
    // The registration may still reach it: committed before it subscribed, but relayed after.
    const items = await sub.until((all) => all.some((e: any) => e.type === 'DEREGISTERED'));
    const event = items.find((e: any) => e.type === 'DEREGISTERED');
    expect(items.filter((e: any) => e.type !== 'REGISTERED')).toHaveLength(1);
    expect(event).toMatchObject({ type: 'DEREGISTERED', agent: { id: agent.id, name: expect.stringMatching(/^sub-/), tags: ['leaving'], metadata: { team: 'ops' }, status: 'ONLINE' } });
    expect(Date.parse(event.agent.createdAt)).not.toBeNaN();
    // Its configuration is gone with it: an empty list, not an error.
    expect(event.agent.configuration).toEqual([]);
    await end(sub);
  });
});

describe('agents that leave a filtered stream', () => {
  it('tells a filter on tags of an agent that lost the tag, and of one re-registered with another type, but not of agents that never matched', async () => {
    const tagged = await newAgent({ tags: ['leaves-by-tag'] });
    const identity = { name: 'leaver-by-type', host: 'leaver.example', port: 7001, environment: 'production' };
    const typed = await newAgent({ ...identity, type: 'leaving_type', tags: ['elsewhere'] });
    const stranger = await newAgent({ tags: ['elsewhere'] });
    const byTag = await live(() => subscribeWs(ws, 'subscription { agentEvents(filter: { tags: ["leaves-by-tag"] }) { type agent { id tags } } }'));
    const byType = await live(() => subscribeWs(ws, 'subscription { agentEvents(filter: { type: "leaving_type" }) { type agent { id type } } }'));
    const admin = (query: string) => graphql(server.url, server.adminToken, query);
    await admin(`mutation { removeAgentTags(agentId: "${tagged.id}", tags: ["leaves-by-tag"]) { id } }`);
    await admin(`mutation { removeAgentTags(agentId: "${stranger.id}", tags: ["elsewhere"]) { id } }`);
    const again = await graphql(server.url, typed.token, `mutation($i: RegisterAgentInput!) { registerAgent(input: $i) { created } }`, {
      i: { ...identity, type: 'another_type' },
    });
    expect(again.body.errors).toBeUndefined();
    const left = await byTag.until((items: any[]) => items.some((e) => e.type === 'TAGS_CHANGED'));
    expect(left.filter((e: any) => e.type === 'TAGS_CHANGED')).toEqual([{ type: 'TAGS_CHANGED', agent: { id: tagged.id, tags: [] } }]);
    const changed = await byType.until((items: any[]) => items.some((e) => e.type === 'UPDATED'));
    expect(changed.filter((e: any) => e.type === 'UPDATED')).toEqual([{ type: 'UPDATED', agent: { id: typed.id, type: 'another_type' } }]);
    // Nothing of the stranger reached either.
    expect([...byTag.items, ...byType.items].some((e: any) => e.agent.id === stranger.id)).toBe(false);
    await end(byTag);
    await end(byType);
  });
});

describe('a cursor past the end of the log', () => {
  it('ends the subscription with BAD_USER_INPUT naming after, rather than waiting in silence', async () => {
    const ahead = subscribeWs(ws, EVENTS, { after: '99999999999:1' });
    await waitFor(() => ahead.errors.length > 0, { what: 'the error' });
    expect((ahead.errors[0] as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { after: expect.any(String) } });
    expect(ahead.items).toEqual([]);
  });
});

describe('agentEvents is resumable', () => {
  const AWAY_TAG_CHANGES = onPostgres() ? 520 : 100;

  it('replays every event after the last cursor a client saw, then goes live, with no gap and no duplicate across the seam', async () => {
    const first = await live(() => subscribeWs(ws, EVENTS, {}));
    for (let i = 0; i < 3; i++) await newAgent({ tags: ['resume'] });
    const seen = await first.until((items) => items.length >= 3);
    const lastSeen = seen[2].cursor;
    await end(first);

    // While the client is away: more events than several replay pages.
    const away = await Promise.all(Array.from({ length: 20 }, () => newAgent({ tags: ['resume'] })));
    await pool(AWAY_TAG_CHANGES, 8, (i) =>
      graphql(server.url, server.adminToken, 'mutation($id: ID!, $tags: [String!]!) { setAgentTags(agentId: $id, tags: $tags) { id } }', {
        id: away[i % away.length].id,
        tags: [`away-${i}`],
      }),
    );

    // And while the replay runs: after each page it reads, more events commit and reach
    // the live feed before the replay goes on. Those after an early page are then read by
    // the replay as well as held from the live feed (a seam that does not de-duplicate
    // doubles them); those after the last page come only from the live feed (a seam that
    // drops what arrived during the replay loses them).
    const stream = server.app.services.agentEvents;
    const pages: string[][] = [];
    let completed = -1;
    stream.replayPage = 40;
    stream.onReplayPage = async () => {
      const page = pages.push([]) - 1;
      pages[page] = (await Promise.all(Array.from({ length: 3 }, () => newAgent({ tags: ['resume'] })))).map((a) => a.id);
      const head = await server.app.events.head();
      await waitFor(() => !isAfter(head, server.app.feed.current), { what: 'the live feed to deliver what just committed' });
      completed = page;
    };
    try {
      const resumed = subscribeWs(ws, EVENTS, { after: lastSeen });
      // The replay is over once the newest hook has finished and its events have arrived:
      // a later page would have started another hook first.
      await waitFor(
        () => completed >= 0 && completed === pages.length - 1 && pages[completed].every((id) => resumed.items.some((e) => e.agentId === id)),
        { timeout: 30_000, what: 'the replay to end' },
      );
      const expected = await logCursorsAfter(lastSeen);
      expect(expected.length).toBeGreaterThanOrEqual(20 + AWAY_TAG_CHANGES + 3 * pages.length);
      expect(pages.length).toBeGreaterThanOrEqual(Math.ceil((20 + AWAY_TAG_CHANGES) / 40));
      const newest = expected.at(-1)!;
      const received = (await resumed.until((items) => items.some((e) => e.cursor === newest), 60_000)).map((e) => e.cursor);
      const upToNewest = received.slice(0, received.indexOf(newest) + 1);
      // In log order, and exactly the log's cursors: none missing, none twice.
      for (let i = 1; i < upToNewest.length; i++) expect(compareCursors(upToNewest[i], upToNewest[i - 1])).toBe(1);
      expect(upToNewest).toEqual(expected);
      expect(pages.length).toBeGreaterThanOrEqual(2);
      await end(resumed);
    } finally {
      stream.onReplayPage = undefined;
      stream.replayPage = 500;
    }
  }, 120_000);

  it('replays only the events that match the filter when resuming with one', async () => {
    const before = await live(() => subscribeWs(ws, EVENTS, {}));
    const marker = await newAgent();
    const { cursor } = (await before.until((items) => items.some((e) => e.agentId === marker.id))).find((e) => e.agentId === marker.id);
    await end(before);

    const wanted = await newAgent({ tags: ['resume-filtered'] });
    await newAgent({ tags: ['resume-other'] });
    await graphql(server.url, server.adminToken, 'mutation($id: ID!) { addAgentTags(agentId: $id, tags: ["x"]) { id } }', { id: wanted.id });
    const last = await newAgent({ tags: ['resume-filtered'] });

    const resumed = subscribeWs(ws, EVENTS, { after: cursor, filter: { tags: ['resume-filtered'] } });
    const items = await resumed.until((all) => all.some((e) => e.agentId === last.id));
    expect(items.map((e) => [e.type, e.agentId])).toEqual([
      ['REGISTERED', wanted.id],
      ['TAGS_CHANGED', wanted.id],
      ['REGISTERED', last.id],
    ]);
    await end(resumed);
  });
});

describe('the offline deadline, in real time', () => {
  it('marks agents with a 1 s interval OFFLINE within 1 s after their deadline, by the server’s own times', async () => {
    const sub = await live(() => subscribeWs(ws, STATUS_CHANGES, { filter: { tags: ['deadline'], status: ['OFFLINE'] } }));
    const agents = await Promise.all(Array.from({ length: 5 }, () => registerAgent(server.url, server.enrollmentToken, { name: `sub-deadline-${++counter}`, tags: ['deadline'], heartbeat_interval_seconds: 1 })));
    const changes = await sub.until((items) => items.length >= agents.length, 15_000);
    expect(new Set(changes.map((e) => e.agent.id))).toEqual(new Set(agents.map((a) => a.id)));
    for (const change of changes) {
      expect(change).toMatchObject({ previousStatus: 'ONLINE', status: 'OFFLINE' });
      const late = Date.parse(change.at) - Date.parse(change.agent.offlineAt);
      expect(late).toBeLessThan(1_000);
      expect(late).toBeGreaterThanOrEqual(0);
    }
    await end(sub);
  });
});
