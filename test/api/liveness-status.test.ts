import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { onlyError, registerGraphQL, registerRest } from '../helpers/agents';
import { heartbeatRest, OffsetClock, registerAgent, subscribeWs, waitFor, wsClient, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

// The server's clock is real time plus an offset the tests move forward, so the
// default 30 s interval and three missed intervals pass without waiting for them.
const clock = new OffsetClock();
let server: TestServer;
let ws: Client;
beforeAll(async () => {
  server = await startTestServer({ clock, env: { SWEEP_INTERVAL_MS: '50' } });
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  await server?.close();
});

let counter = 0;
const newAgent = (fields: Record<string, unknown> = {}) => registerAgent(server.url, server.enrollmentToken, { name: `status-${++counter}`, ...fields });
const beat = (agent: Agent, status = 'healthy', message?: string) => heartbeatRest(server.url, agent.id, agent.token, { health: { status, message } });

async function stateOf(id: string) {
  const res = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { status heartbeatIntervalSeconds offlineAt lastHeartbeat createdAt } }', { id });
  return res.body.data.agent as { status: string; heartbeatIntervalSeconds: number; offlineAt: string; lastHeartbeat: string | null; createdAt: string };
}

interface LoggedEvent {
  cursor: string;
  type: string;
  previousStatus: string | null;
  status: string | null;
  reason: string | null;
  at: string;
}
async function transitionsOf(id: string): Promise<LoggedEvent[]> {
  const res = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agentEventLog(agentId: $id, last: 1000) { cursor type previousStatus status reason at } }', { id });
  return (res.body.data.agentEventLog as LoggedEvent[]).filter((e) => e.type === 'STATUS_CHANGED');
}

/**
 * Moves the server clock forward and waits until a sweep has run at the new time: a
 * witness agent due only after the jump goes OFFLINE, and every sweep handles all
 * agents due at its time, so what is still ONLINE afterwards was not due.
 */
async function advanceAndSweep(ms: number): Promise<void> {
  expect(ms).toBeGreaterThanOrEqual(4_000); // the witness is due 3 s after registration
  const witness = await newAgent({ heartbeat_interval_seconds: 1, tags: ['witness'] });
  clock.advance(ms);
  await waitFor(async () => (await stateOf(witness.id)).status === 'OFFLINE', { what: 'a sweep after the clock moved' });
}

const STATUS_CHANGES = `subscription($filter: AgentFilter) {
  agentStatusChanged(filter: $filter) { cursor agent { id name status offlineAt } previousStatus status reason at }
}`;
/** A filtered status subscription that is live (registered with the event feed) when this resolves. */
async function watchStatus(filter: Record<string, unknown>) {
  const before = server.app.feed.subscriberCount;
  const sub = subscribeWs(ws, STATUS_CHANGES, { filter });
  await waitFor(() => server.app.feed.subscriberCount > before, { what: 'the subscription to go live' });
  return sub;
}

describe('the heartbeat interval', () => {
  it('defaults to 30 s at registration, with the agent ONLINE and offlineAt three intervals (90 s) later', async () => {
    const res = await registerRest(server.url, server.enrollmentToken, { name: 'status-default-interval' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'online', heartbeat_interval_seconds: 30 });
    expect(Date.parse(res.body.offline_at) - Date.parse(res.body.created_at)).toBe(90_000);
    expect(await stateOf(res.body.id)).toMatchObject({ status: 'ONLINE', heartbeatIntervalSeconds: 30, offlineAt: res.body.offline_at });
  });

  it('is taken from heartbeat_interval_seconds over REST and heartbeatIntervalSeconds over GraphQL, from 1 s to 1 h', async () => {
    const rest = await registerRest(server.url, server.enrollmentToken, { name: 'status-interval-1', heartbeat_interval_seconds: 1 });
    expect(rest.status).toBe(201);
    expect(rest.body.heartbeat_interval_seconds).toBe(1);
    expect(Date.parse(rest.body.offline_at) - Date.parse(rest.body.created_at)).toBe(3_000);

    const gql = await registerGraphQL(server.url, server.enrollmentToken, { name: 'status-interval-3600', type: 't', host: 'h', port: 1, heartbeatIntervalSeconds: 3600 });
    expect(gql.body.errors).toBeUndefined();
    const { agent } = gql.body.data.registerAgent;
    expect(agent.heartbeatIntervalSeconds).toBe(3600);
    expect(Date.parse((await stateOf(agent.id)).offlineAt) - Date.parse(agent.createdAt)).toBe(3 * 3_600_000);
  });

  it('refuses 0 and 3601 seconds with 400 BAD_USER_INPUT over REST and GraphQL, registering nothing', async () => {
    for (const seconds of [0, 3601]) {
      const name = `status-bad-interval-${seconds}`;
      const rest = await registerRest(server.url, server.enrollmentToken, { name, heartbeat_interval_seconds: seconds });
      expect(rest.status).toBe(400);
      expect(rest.body.error).toMatchObject({ code: 'BAD_USER_INPUT', fields: { heartbeat_interval_seconds: expect.any(String) } });
      const gql = await registerGraphQL(server.url, server.enrollmentToken, { name, type: 't', host: 'h', port: 1, heartbeatIntervalSeconds: seconds });
      expect(onlyError(gql).extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { heartbeatIntervalSeconds: expect.any(String) } });
      const found = await request(`${server.url}/api/v1/agents/?search=${name}`, { token: server.viewerToken });
      expect(found.body.agents).toEqual([]);
    }
  });
});

describe('status from the server clock alone', () => {
  it('stays ONLINE until three 30 s intervals pass with no heartbeat, then goes OFFLINE', async () => {
    const agent = await newAgent();
    const { offlineAt, createdAt } = await stateOf(agent.id);
    expect(Date.parse(offlineAt) - Date.parse(createdAt)).toBe(90_000);

    await advanceAndSweep(86_000);
    expect((await stateOf(agent.id)).status).toBe('ONLINE');
    await advanceAndSweep(5_000);
    expect((await stateOf(agent.id)).status).toBe('OFFLINE');
    expect(await transitionsOf(agent.id)).toMatchObject([
      { previousStatus: 'ONLINE', status: 'OFFLINE', reason: 'no heartbeat for 3 × 30 s since registration' },
    ]);
  });

  it('stays ONLINE while healthy heartbeats arrive, each moving offlineAt to three intervals after it', async () => {
    const agent = await newAgent();
    for (let i = 0; i < 3; i++) {
      await advanceAndSweep(60_000);
      const res = await beat(agent);
      expect(res.body.status).toBe('online');
      expect(Date.parse(res.body.offline_at)).toBeGreaterThan(Date.parse(res.body.server_time) + 89_000);
      expect(await stateOf(agent.id)).toMatchObject({ status: 'ONLINE', offlineAt: res.body.offline_at });
    }
    // 180 s after registration, never more than 60 s without a heartbeat: no transition at all.
    expect(await transitionsOf(agent.id)).toEqual([]);
    await advanceAndSweep(80_000);
    expect((await stateOf(agent.id)).status).toBe('ONLINE');
    await advanceAndSweep(11_000);
    expect((await stateOf(agent.id)).status).toBe('OFFLINE');
    expect((await transitionsOf(agent.id)).map((t) => t.reason)).toEqual(['no heartbeat for 3 × 30 s']);
  });

  it('is DEGRADED while the agent reports degraded or unhealthy, and ONLINE again with the next healthy heartbeat', async () => {
    const agent = await newAgent();
    expect((await beat(agent, 'degraded', 'disk 91%')).body.status).toBe('degraded');
    expect((await stateOf(agent.id)).status).toBe('DEGRADED');
    expect((await beat(agent, 'unhealthy', 'disk full')).body.status).toBe('degraded');
    expect((await stateOf(agent.id)).status).toBe('DEGRADED');
    expect((await beat(agent, 'healthy')).body.status).toBe('online');
    expect((await stateOf(agent.id)).status).toBe('ONLINE');
    expect((await transitionsOf(agent.id)).map((t) => [t.previousStatus, t.status, t.reason])).toEqual([
      ['ONLINE', 'DEGRADED', 'agent reported degraded: disk 91%'],
      ['DEGRADED', 'ONLINE', 'agent reported healthy'],
    ]);
  });

  it('comes back from OFFLINE with the next heartbeat: ONLINE when it reports healthy, DEGRADED when it does not', async () => {
    const healthy = await newAgent();
    const sick = await newAgent();
    await advanceAndSweep(91_000);
    expect((await stateOf(healthy.id)).status).toBe('OFFLINE');
    expect((await stateOf(sick.id)).status).toBe('OFFLINE');

    expect((await beat(healthy)).body.status).toBe('online');
    expect((await beat(sick, 'unhealthy', 'oom')).body.status).toBe('degraded');
    expect((await stateOf(healthy.id)).status).toBe('ONLINE');
    expect((await stateOf(sick.id)).status).toBe('DEGRADED');
    expect((await transitionsOf(healthy.id)).at(-1)).toMatchObject({ previousStatus: 'OFFLINE', status: 'ONLINE', reason: 'heartbeat received' });
    expect((await transitionsOf(sick.id)).at(-1)).toMatchObject({ previousStatus: 'OFFLINE', status: 'DEGRADED', reason: 'agent reported unhealthy: oom' });
  });

  it('marks a DEGRADED agent OFFLINE by the same deadline, using its own interval', async () => {
    const agent = await newAgent({ heartbeat_interval_seconds: 10 });
    const res = await beat(agent, 'degraded');
    expect(Date.parse(res.body.offline_at)).toBeLessThanOrEqual(Date.parse(res.body.server_time) + 30_000);
    await advanceAndSweep(31_000);
    expect((await stateOf(agent.id)).status).toBe('OFFLINE');
    expect((await transitionsOf(agent.id)).at(-1)).toMatchObject({ previousStatus: 'DEGRADED', status: 'OFFLINE', reason: 'no heartbeat for 3 × 10 s' });
  });
});

describe('transitions are recorded and published once', () => {
  it('writes every transition once to the event log with from, to, reason and at, and a filtered subscriber receives exactly those', async () => {
    const tag = 'once-each';
    const sub = await watchStatus({ tags: [tag] });
    const agent = await newAgent({ tags: [tag] });
    const expected: [string, string][] = [];

    // Heartbeats that repeat a status, and sweeps that find nothing due, must add nothing.
    await beat(agent, 'degraded');
    await beat(agent, 'unhealthy');
    expected.push(['ONLINE', 'DEGRADED']);
    await advanceAndSweep(91_000);
    await advanceAndSweep(30_000);
    expected.push(['DEGRADED', 'OFFLINE']);
    await beat(agent, 'degraded');
    expected.push(['OFFLINE', 'DEGRADED']);
    await beat(agent, 'healthy');
    await beat(agent, 'healthy');
    expected.push(['DEGRADED', 'ONLINE']);
    await advanceAndSweep(91_000);
    await advanceAndSweep(91_000);
    expected.push(['ONLINE', 'OFFLINE']);

    const logged = await transitionsOf(agent.id);
    expect(logged.map((e) => [e.previousStatus, e.status])).toEqual(expected);
    for (const e of logged) {
      expect(e.reason).toEqual(expect.any(String));
      expect(e.reason!.length).toBeGreaterThan(0);
      expect(Number.isNaN(Date.parse(e.at))).toBe(false);
    }

    // A later change of another matching agent: once it arrives, anything published before it has too.
    const sentinel = await newAgent({ tags: [tag] });
    await beat(sentinel, 'degraded');
    const items = await sub.until((all) => all.some((e) => e.agent.id === sentinel.id));
    const mine = items.filter((e) => e.agent.id === agent.id);
    expect(mine.map((e) => e.cursor)).toEqual(logged.map((e) => e.cursor));
    expect(mine.map((e) => [e.previousStatus, e.status, e.reason, e.at])).toEqual(logged.map((e) => [e.previousStatus, e.status, e.reason, e.at]));
    expect(mine.map((e) => e.agent.status)).toEqual(expected.map(([, to]) => to));
    sub.dispose();
  });

  it('records in each OFFLINE event the agent as the sweep left it: its tags sorted (none as []), metadata and status', async () => {
    const tagged = await newAgent({ name: 'snapshot-tagged', tags: ['zeta', 'alpha', 'mid'], metadata: { region: 'eu-west-1' } });
    const bare = await newAgent({ name: 'snapshot-bare', tags: [], metadata: {} });
    await advanceAndSweep(91_000);
    const query = 'query($id: ID!) { agentEventLog(agentId: $id, last: 10) { type status agent { id name tags metadata status } } }';
    const offlineOf = async (id: string) => {
      const res = await graphql(server.url, server.viewerToken, query, { id });
      return (res.body.data.agentEventLog as { type: string; status: string; agent: Record<string, unknown> }[]).find((e) => e.type === 'STATUS_CHANGED' && e.status === 'OFFLINE');
    };
    expect((await offlineOf(tagged.id))?.agent).toEqual({ id: tagged.id, name: 'snapshot-tagged', tags: ['alpha', 'mid', 'zeta'], metadata: { region: 'eu-west-1' }, status: 'OFFLINE' });
    expect((await offlineOf(bare.id))?.agent).toEqual({ id: bare.id, name: 'snapshot-bare', tags: [], metadata: {}, status: 'OFFLINE' });
  });

  it('stamps an OFFLINE transition with the server clock, at or after the offlineAt it enforces', async () => {
    const agent = await newAgent();
    const { offlineAt } = await stateOf(agent.id);
    await advanceAndSweep(91_000);
    const [offline] = await transitionsOf(agent.id);
    expect(offline.status).toBe('OFFLINE');
    expect(Date.parse(offline.at)).toBeGreaterThanOrEqual(Date.parse(offlineAt));
  });
});
