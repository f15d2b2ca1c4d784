import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGraphQL } from '../helpers/agents';
import { gql } from '../helpers/alerts';
import { graphql, request } from '../helpers/client';
import { heartbeatRest, OffsetClock, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
const clock = new OffsetClock();
const ids: Record<string, string> = {};

const register = async (name: string, port: number) => {
  const res = await registerGraphQL(server.url, server.enrollmentToken, { name, type: 'web_server', host: `${name}.example.net`, port, environment: 'production', heartbeatIntervalSeconds: 60, tags: ['t'] });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  ids[name] = res.body.data.registerAgent.agent.id;
  return res.body.data.registerAgent.token as string;
};
const offlineCount = async () => (await gql(server.url, server.viewerToken, '{ agentStatusCounts { offline } }')).agentStatusCounts.offline;

beforeAll(async () => {
  server = await startTestServer({ clock, env: { SWEEP_INTERVAL_MS: '50', INACTIVE_AFTER_SECONDS: '3600' } });
  await register('old-1', 1);
  await register('old-2', 2);
  const recent = await register('recent', 3);
  // All three go offline; `recent` comes back, then goes offline again an hour later.
  clock.advance(200_000);
  await waitFor(async () => (await offlineCount()) === 3, { what: 'three agents offline' });
  expect((await heartbeatRest(server.url, ids.recent, recent, { health: { status: 'healthy' } })).status).toBe(200);
  clock.advance(3_600_000);
  await waitFor(async () => (await offlineCount()) === 3, { what: 'recent offline again' });
  await register('fresh', 4);
}, 60_000);
afterAll(() => server?.close());

const names = async (filter: Record<string, unknown>) =>
  (await gql(server.url, server.viewerToken, 'query($f: AgentFilter) { agents(filter: $f, orderBy: { field: NAME }) { nodes { name } } }', { f: filter })).agents.nodes.map(
    (n: { name: string }) => n.name,
  );
const counts = async (filter?: Record<string, unknown>) =>
  (await gql(server.url, server.viewerToken, 'query($f: AgentFilter) { agentStatusCounts(filter: $f) { online degraded offline total inactive } }', { f: filter })).agentStatusCounts;

describe('inactive agents: offline longer than INACTIVE_AFTER_SECONDS', () => {
  it('are selected by inactive: true, left out by inactive: false, and listed with the rest when it is absent', async () => {
    expect(await names({ inactive: true })).toEqual(['old-1', 'old-2']);
    expect(await names({ inactive: false })).toEqual(['fresh', 'recent']);
    expect(await names({})).toEqual(['fresh', 'old-1', 'old-2', 'recent']);
    expect(await names({ inactive: false, status: ['OFFLINE'] })).toEqual(['recent']);
  });

  it('are counted apart: the status counts follow the filter, inactive counts what inactive: false hides', async () => {
    expect(await counts()).toEqual({ online: 1, degraded: 0, offline: 3, total: 4, inactive: 2 });
    expect(await counts({ inactive: false })).toEqual({ online: 1, degraded: 0, offline: 1, total: 2, inactive: 2 });
    expect(await counts({ inactive: true })).toEqual({ online: 0, degraded: 0, offline: 2, total: 2, inactive: 2 });
    const groups = (await gql(server.url, server.viewerToken, '{ agentGroups(by: { field: TAG }, filter: { inactive: false }) { key counts { offline total inactive } } }')).agentGroups;
    expect(groups).toEqual([{ key: 't', counts: { offline: 1, total: 2, inactive: 2 } }]);
  });

  it('are filtered the same way through REST, and a bad value is refused naming the field', async () => {
    const res = await request(`${server.url}/api/v1/agents/?inactive=true`, { token: server.viewerToken });
    expect(res.body.agents.map((a: { name: string }) => a.name).sort()).toEqual(['old-1', 'old-2']);
    const bad = await request(`${server.url}/api/v1/agents/?inactive=maybe`, { token: server.viewerToken });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty(['filter.inactive']);
  });
});

describe('a deregistered agent', () => {
  const AGENT = 'query($id: ID!, $all: Boolean) { agent(id: $id, includeDeregistered: $all) { id name status tags deregisteredAt statusChangedAt recentHeartbeats { at } } }';

  it('is null by default, and with includeDeregistered is answered as it was, marked with deregisteredAt; its events stay readable', async () => {
    const before = (await gql(server.url, server.viewerToken, AGENT, { id: ids['old-2'], all: true })).agent;
    expect(before.deregisteredAt).toBeNull();
    await gql(server.url, server.adminToken, 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }', { id: ids['old-2'] });

    expect((await gql(server.url, server.viewerToken, AGENT, { id: ids['old-2'] })).agent).toBeNull();
    const gone = (await gql(server.url, server.viewerToken, AGENT, { id: ids['old-2'], all: true })).agent;
    expect(gone).toMatchObject({ id: ids['old-2'], name: 'old-2', status: 'OFFLINE', tags: ['t'], statusChangedAt: before.statusChangedAt, recentHeartbeats: [] });
    expect(Date.parse(gone.deregisteredAt)).toBeGreaterThan(Date.parse(before.statusChangedAt));

    const log = (await gql(server.url, server.viewerToken, 'query($id: ID) { agentEventLog(agentId: $id) { type status } }', { id: ids['old-2'] })).agentEventLog;
    expect(log.map((e: { type: string }) => e.type)).toEqual(['REGISTERED', 'STATUS_CHANGED', 'DEREGISTERED']);
  });

  it('is not made up: an id that never was, or a malformed one, is still null', async () => {
    const res = await graphql(server.url, server.viewerToken, AGENT, { id: '00000000-0000-4000-8000-000000000000', all: true });
    expect(res.body).toEqual({ data: { agent: null } });
    expect((await graphql(server.url, server.viewerToken, AGENT, { id: 'nope', all: true })).body).toEqual({ data: { agent: null } });
  });

  it('needs a token that may read', async () => {
    const res = await graphql(server.url, undefined, AGENT, { id: ids['old-2'], all: true });
    expect(res.status).toBe(401);
  });
});
