import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGraphQL } from '../helpers/agents';
import { alertIn, expectFields, gql } from '../helpers/alerts';
import { graphql, request } from '../helpers/client';
import { heartbeatRest, OffsetClock, subscribeWs, waitFor, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
const clock = new OffsetClock();

type Spec = { name: string; environment: string; type: string; tags: string[]; metadata: Record<string, unknown>; healthy?: boolean };
const FLEET: Spec[] = [
  { name: 'edge-1', environment: 'production', type: 'api_gateway', tags: ['edge', 'critical'], metadata: { region: 'us-east-1', team: 'platform', rack: 7 }, healthy: true },
  { name: 'edge-2', environment: 'production', type: 'api_gateway', tags: ['edge'], metadata: { region: 'US-EAST-1', team: 'platform' } },
  { name: 'db-1', environment: 'production', type: 'database_monitor', tags: ['critical'], metadata: { region: 'eu-west-1', team: 'data' }, healthy: true },
  { name: 'db-2', environment: 'staging', type: 'database_monitor', tags: [], metadata: { region: 'eu-west-1' }, healthy: false },
  { name: 'cache-1', environment: 'staging', type: 'cache_monitor', tags: ['edge'], metadata: { note: 'moved from us-east-1 last week' }, healthy: true },
];
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer({ clock, env: { SWEEP_INTERVAL_MS: '50' } });
  const tokens: Record<string, string> = {};
  for (const [i, a] of FLEET.entries()) {
    const { healthy: _h, ...fields } = a;
    const res = await registerGraphQL(server.url, server.enrollmentToken, { ...fields, host: `${a.name}.example.net`, port: 7000 + i, heartbeatIntervalSeconds: 60 });
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    ids[a.name] = res.body.data.registerAgent.agent.id;
    tokens[a.name] = res.body.data.registerAgent.token;
  }
  // edge-2 stays silent and goes offline; db-2 reports degraded; the others healthy.
  clock.advance(150_000);
  for (const a of FLEET) {
    if (a.healthy === undefined) continue;
    const res = await heartbeatRest(server.url, ids[a.name], tokens[a.name], { health: { status: a.healthy ? 'healthy' : 'degraded' } });
    if (res.status !== 200) throw new Error(`heartbeat answered ${res.status}`);
  }
  clock.advance(40_000);
  await waitFor(async () => (await gql(server.url, server.viewerToken, '{ agentStatusCounts { offline } }')).agentStatusCounts.offline === 1, { what: 'edge-2 offline' });
}, 60_000);
afterAll(() => server?.close());

const namesWhere = async (filter: Record<string, unknown>) => {
  const data = await gql(server.url, server.viewerToken, 'query($f: AgentFilter) { agents(filter: $f, first: 100, orderBy: { field: NAME }) { nodes { name } } }', { f: filter });
  return data.agents.nodes.map((n: { name: string }) => n.name);
};

describe('filtering and searching on metadata', () => {
  it('selects agents whose metadata key holds a value, exactly; a key alone selects those that have it; matchers all hold', async () => {
    expect(await namesWhere({ metadata: [{ key: 'region', value: 'us-east-1' }] })).toEqual(['edge-1']);
    expect(await namesWhere({ metadata: [{ key: 'region', value: 'eu-west-1' }] })).toEqual(['db-1', 'db-2']);
    expect(await namesWhere({ metadata: [{ key: 'team' }] })).toEqual(['db-1', 'edge-1', 'edge-2']);
    expect(await namesWhere({ metadata: [{ key: 'region', value: 'eu-west-1' }, { key: 'team', value: 'data' }] })).toEqual(['db-1']);
    expect(await namesWhere({ metadata: [{ key: 'rack', value: '7' }] })).toEqual(['edge-1']);
    expect(await namesWhere({ metadata: [{ key: 'region', value: 'eu-west-1' }], environment: 'staging' })).toEqual(['db-2']);
  });

  it('searches metadata string values as text, and `key=value` as that metadata, case aside', async () => {
    expect(await namesWhere({ search: 'us-east' })).toEqual(['cache-1', 'edge-1', 'edge-2']);
    expect(await namesWhere({ search: 'region=us-east-1' })).toEqual(['edge-1', 'edge-2']);
    expect(await namesWhere({ search: 'REGION=US-EAST-1' })).toEqual([]);
    expect(await namesWhere({ search: 'region=us-east' })).toEqual([]);
    expect(await namesWhere({ search: 'platform' })).toEqual(['edge-1', 'edge-2']);
    expect(await namesWhere({ search: 'db-' })).toEqual(['db-1', 'db-2']);
  });

  it('filters REST lists the same way, with ?metadata=key=value', async () => {
    const res = await request(`${server.url}/api/v1/agents/?metadata=${encodeURIComponent('region=eu-west-1')}&metadata=team`, { token: server.viewerToken });
    expect(res.status).toBe(200);
    expect(res.body.agents.map((a: { name: string }) => a.name)).toEqual(['db-1']);
  });

  it('refuses more than 20 matchers and an empty key, naming the field', async () => {
    const query = 'query($f: AgentFilter) { agents(filter: $f) { totalCount } }';
    expectFields(await graphql(server.url, server.viewerToken, query, { f: { metadata: Array.from({ length: 21 }, (_, i) => ({ key: `k${i}` })) } }), 'BAD_USER_INPUT', ['filter.metadata']);
    expectFields(await graphql(server.url, server.viewerToken, query, { f: { metadata: [{ key: ' ', value: 'x' }] } }), 'BAD_USER_INPUT', ['filter.metadata.0.key']);
  });
});

describe('agentGroups', () => {
  const groups = async (by: Record<string, unknown>, filter?: Record<string, unknown>) =>
    (await gql(server.url, server.viewerToken, 'query($by: AgentGroupBy!, $f: AgentFilter) { agentGroups(by: $by, filter: $f) { key counts { online degraded offline total } } }', { by, f: filter }))
      .agentGroups;

  it('counts each environment and type by status, in natural order of the key', async () => {
    expect(await groups({ field: 'ENVIRONMENT' })).toEqual([
      { key: 'production', counts: { online: 2, degraded: 0, offline: 1, total: 3 } },
      { key: 'staging', counts: { online: 1, degraded: 1, offline: 0, total: 2 } },
    ]);
    expect((await groups({ field: 'TYPE' })).map((g: { key: string }) => g.key)).toEqual(['api_gateway', 'cache_monitor', 'database_monitor']);
  });

  it('counts an agent in each of its tags, and agents without tags or without the metadata key in a null group, last', async () => {
    expect(await groups({ field: 'TAG' })).toEqual([
      { key: 'critical', counts: { online: 2, degraded: 0, offline: 0, total: 2 } },
      { key: 'edge', counts: { online: 2, degraded: 0, offline: 1, total: 3 } },
      { key: null, counts: { online: 0, degraded: 1, offline: 0, total: 1 } },
    ]);
    expect(await groups({ metadataKey: 'region' })).toEqual([
      { key: 'eu-west-1', counts: { online: 1, degraded: 1, offline: 0, total: 2 } },
      { key: 'US-EAST-1', counts: { online: 0, degraded: 0, offline: 1, total: 1 } },
      { key: 'us-east-1', counts: { online: 1, degraded: 0, offline: 0, total: 1 } },
      { key: null, counts: { online: 1, degraded: 0, offline: 0, total: 1 } },
    ]);
  });

  it('honours the filter, but not its status, so each count can serve as a filter', async () => {
    expect(await groups({ field: 'ENVIRONMENT' }, { status: ['ONLINE'], metadata: [{ key: 'team' }] })).toEqual([
      { key: 'production', counts: { online: 2, degraded: 0, offline: 1, total: 3 } },
    ]);
  });

  it('refuses a grouping that names both a field and a metadata key, or neither', async () => {
    const query = 'query($by: AgentGroupBy!) { agentGroups(by: $by) { key } }';
    expectFields(await graphql(server.url, server.viewerToken, query, { by: { field: 'TAG', metadataKey: 'region' } }), 'BAD_USER_INPUT', ['by']);
    expectFields(await graphql(server.url, server.viewerToken, query, { by: {} }), 'BAD_USER_INPUT', ['by']);
  });
});

describe('filter.group: the agents of one group', () => {
  const groups = async (by: Record<string, unknown>, filter?: Record<string, unknown>) =>
    (await gql(server.url, server.viewerToken, 'query($by: AgentGroupBy!, $f: AgentFilter) { agentGroups(by: $by, filter: $f) { key counts { total } } }', { by, f: filter }))
      .agentGroups as { key: string | null; counts: { total: number } }[];

  it('selects the agents without tags or without the metadata key (the null groups)', async () => {
    expect(await namesWhere({ group: { by: { field: 'TAG' }, key: null } })).toEqual(['db-2']);
    expect(await namesWhere({ group: { by: { field: 'TAG' } } })).toEqual(['db-2']);
    expect(await namesWhere({ group: { by: { metadataKey: 'region' }, key: null } })).toEqual(['cache-1']);
    expect(await namesWhere({ group: { by: { metadataKey: 'team' }, key: null } })).toEqual(['cache-1', 'db-2']);
    expect(await namesWhere({ group: { by: { field: 'ENVIRONMENT' }, key: null } })).toEqual([]);
  });

  it('selects a keyed group exactly, metadata values case and all, and combines with the rest of the filter', async () => {
    expect(await namesWhere({ group: { by: { field: 'TAG' }, key: 'edge' } })).toEqual(['cache-1', 'edge-1', 'edge-2']);
    expect(await namesWhere({ group: { by: { metadataKey: 'region' }, key: 'US-EAST-1' } })).toEqual(['edge-2']);
    expect(await namesWhere({ group: { by: { metadataKey: 'rack' }, key: '7' } })).toEqual(['edge-1']);
    expect(await namesWhere({ group: { by: { field: 'TYPE' }, key: 'database_monitor' }, environment: 'staging' })).toEqual(['db-2']);
    expect(await namesWhere({ group: { by: { field: 'TAG' }, key: 'edge' }, tags: ['critical'] })).toEqual(['edge-1']);
    expect(await namesWhere({ group: { by: { field: 'TAG' }, key: 'edge' }, status: ['OFFLINE'] })).toEqual(['edge-2']);
  });

  it('selects as many agents as agentGroups counts in every group, for every grouping', async () => {
    for (const by of [{ field: 'ENVIRONMENT' }, { field: 'TYPE' }, { field: 'TAG' }, { metadataKey: 'region' }, { metadataKey: 'team' }]) {
      for (const g of await groups(by, { search: 'e' })) {
        const data = await gql(server.url, server.viewerToken, 'query($f: AgentFilter) { agents(filter: $f) { totalCount } agentStatusCounts(filter: $f) { total } }', {
          f: { search: 'e', group: { by, key: g.key } },
        });
        expect({ by, key: g.key, n: data.agents.totalCount }).toEqual({ by, key: g.key, n: g.counts.total });
        expect(data.agentStatusCounts.total).toBe(g.counts.total);
      }
    }
  });

  it('refuses a group without a valid grouping, or with a key that is not a string, naming the field', async () => {
    const query = 'query($f: AgentFilter) { agents(filter: $f) { totalCount } }';
    expectFields(await graphql(server.url, server.viewerToken, query, { f: { group: { by: {} } } }), 'BAD_USER_INPUT', ['filter.group.by']);
    expectFields(await graphql(server.url, server.viewerToken, query, { f: { group: { by: { field: 'TAG', metadataKey: 'x' } } } }), 'BAD_USER_INPUT', ['filter.group.by']);
    expectFields(await graphql(server.url, server.viewerToken, query, { f: { group: { by: { metadataKey: 'region' }, key: 'x'.repeat(1025) } } }), 'BAD_USER_INPUT', ['filter.group.key']);
    const res = await graphql(server.url, server.viewerToken, query, { f: { group: { by: { field: 'TAG' }, key: 7 } } });
    expect(res.body.errors?.[0]?.message).toMatch(/String/);
  });
});

describe('alert scopes and silences understand metadata', () => {
  it('scopes a rule by metadata matchers and by a `key=value` search', async () => {
    const preview = async (scope: Record<string, unknown>) =>
      (await gql(server.url, server.adminToken, 'query($i: AlertRuleInput!) { previewAlertRule(input: $i) { matchingAgents wouldFire } }', {
        i: { name: 'p', kind: 'AGENT_STATUS', scope, condition: { statuses: ['OFFLINE'] } },
      })).previewAlertRule;
    expect(await preview({ metadata: [{ key: 'region', value: 'eu-west-1' }] })).toEqual({ matchingAgents: 2, wouldFire: 0 });
    expect(await preview({ search: 'region=us-east-1' })).toEqual({ matchingAgents: 2, wouldFire: 1 });
    expect(await preview({ metadata: [{ key: 'team', value: 'platform' }], tags: ['critical'] })).toEqual({ matchingAgents: 1, wouldFire: 0 });
  });

  it('silences alerts by `metadata.<key>` matchers', async () => {
    const silence = await gql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id } }', {
      i: { matchers: [{ name: 'metadata.region', value: 'US-EAST-1' }], endsAt: new Date(clock.now().getTime() + 3_600_000).toISOString(), comment: 'region move' },
    });
    const other = await gql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id } }', {
      i: { matchers: [{ name: 'metadata.region', op: 'NE', value: 'US-EAST-1' }, { name: 'alertname', value: 'never' }], endsAt: new Date(clock.now().getTime() + 3_600_000).toISOString(), comment: 'other' },
    });
    const alert = await waitFor(async () => {
      const a = await alertIn(server.url, server.viewerToken, ids['edge-2'], 'FIRING', 'Agent offline');
      return a.silenced ? a : undefined;
    }, { what: 'the offline alert of edge-2 silenced' });
    expect(alert.silencedBy).toEqual([silence.createSilence.id]);
    expect(alert.silencedBy).not.toContain(other.createSilence.id);
  });

  it('refuses a matcher name that is neither a label, "tag" nor "metadata.<key>"', async () => {
    const res = await graphql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id } }', {
      i: { matchers: [{ name: 'meta data', value: 'x' }], endsAt: new Date(clock.now().getTime() + 60_000).toISOString(), comment: 'bad' },
    });
    expectFields(res, 'BAD_USER_INPUT', ['matchers.0.name']);
  });
});

// Last: it registers more agents, which the counts above leave out.
describe('filter.group on a live stream', () => {
  it('delivers the events of the group\'s agents only, the untagged group included', async () => {
    const ws = wsClient(server.url, server.viewerToken);
    const sub = subscribeWs<{ type: string; agent: { name: string } }>(ws, 'subscription($f: AgentFilter) { agentEvents(filter: $f) { type agent { name } } }', {
      f: { group: { by: { field: 'TAG' }, key: null } },
    });
    try {
      await waitFor(() => server.app.feed.subscriberCount > 0, { what: 'the subscription to go live' });
      for (const [i, a] of [{ name: 'late-tagged', tags: ['edge'] }, { name: 'late-bare', tags: [] }].entries()) {
        const res = await registerGraphQL(server.url, server.enrollmentToken, { ...a, environment: 'staging', type: 'cache_monitor', host: `${a.name}.example.net`, port: 7100 + i, metadata: {}, heartbeatIntervalSeconds: 60 });
        if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
      }
      const [event] = await sub.until((items) => items.length > 0);
      expect(event).toEqual({ type: 'REGISTERED', agent: { name: 'late-bare' } });
      await new Promise((r) => setTimeout(r, 300));
      expect(sub.items.map((e) => e.agent.name)).toEqual(['late-bare']);
    } finally {
      sub.dispose();
      await ws.dispose();
    }
  });
});
