import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { listAgents, registerGraphQL } from '../helpers/agents';
import { heartbeatRest, OffsetClock, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
const clock = new OffsetClock();

// Lower-case names so that every collation orders them alike; two agents share a name
// so that ordering by name needs its tie-breaker. `beat` is the agent's place in the order
// of heartbeats; agents without one never send any and end up offline.
type Spec = { name: string; type: string; environment: string; host: string; tags: string[]; beat?: number; health?: 'degraded' };
const FLEET: Spec[] = [
  { name: 'aardvark', type: 'web_server', environment: 'production', host: 'web-01.example.net', tags: ['frontend', 'critical'], beat: 3 },
  { name: 'badger', type: 'database_monitor', environment: 'production', host: 'db-01.example.net', tags: ['database', 'critical'], beat: 0 },
  { name: 'cheetah', type: 'api_gateway', environment: 'production', host: 'gw-01.example.net', tags: ['edge'] },
  { name: 'dingo', type: 'cache_monitor', environment: 'staging', host: 'cache-01.example.net', tags: ['cache'], beat: 5, health: 'degraded' },
  { name: 'eagle', type: 'security_scanner', environment: 'production', host: 'sec-01.example.net', tags: ['security', 'critical'], beat: 1 },
  { name: 'falcon', type: 'log_processor', environment: 'development', host: 'logs-01.example.net', tags: [] },
  { name: 'gecko', type: 'web_server', environment: 'staging', host: 'web-02.example.net', tags: ['frontend'], beat: 6 },
  { name: 'gecko', type: 'web_server', environment: 'production', host: 'web-03.example.net', tags: ['frontend', 'critical'], beat: 2 },
  { name: 'heron', type: 'web_server', environment: 'development', host: 'HERON-Box.Example.net', tags: [] },
  { name: 'ibex', type: 'api_gateway', environment: 'staging', host: 'gw-02.example.net', tags: ['edge', 'critical'], beat: 4 },
  { name: 'jackal', type: 'database_monitor', environment: 'development', host: 'db-02.example.net', tags: ['database'], beat: 7 },
];
const statusOf = (a: Spec) => (a.beat === undefined ? 'offline' : (a.health ?? 'online') === 'degraded' ? 'degraded' : 'online');
const ids: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ clock, env: { SWEEP_INTERVAL_MS: '50' } });
  const tokens: string[] = [];
  for (const [i, agent] of FLEET.entries()) {
    const { beat: _beat, health: _health, ...fields } = agent;
    const res = await registerGraphQL(server.url, server.enrollmentToken, { ...fields, port: 9000 + i, metadata: { index: i } });
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    ids.push(res.body.data.registerAgent.agent.id);
    tokens.push(res.body.data.registerAgent.token);
  }
  // Every agent misses its deadline; then those with a `beat` report, a second apart, well
  // within their next deadline, so that only the silent ones stay offline.
  clock.advance(10 * 60_000);
  const beating = FLEET.map((a, i) => ({ ...a, i })).filter((a) => a.beat !== undefined).sort((a, b) => a.beat! - b.beat!);
  for (const a of beating) {
    clock.advance(1_000);
    const res = await heartbeatRest(server.url, ids[a.i], tokens[a.i], { health: { status: a.health ?? 'healthy' } });
    if (res.status !== 200) throw new Error(`heartbeat answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  const silent = FLEET.filter((a) => a.beat === undefined).length;
  await waitFor(
    async () => (await graphql(server.url, server.viewerToken, '{ agentStatusCounts { offline } }')).body.data?.agentStatusCounts.offline === silent,
    { what: 'the sweeper to mark the silent agents offline' },
  );
});
afterAll(() => server?.close());

const idsWhere = (pred: (a: Spec) => boolean) => FLEET.flatMap((a, i) => (pred(a) ? [ids[i]] : [])).sort();

const CONNECTION = `
  query Fleet($first: Int, $after: String, $last: Int, $before: String, $filter: AgentFilter, $orderBy: AgentOrder) {
    agents(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id name host createdAt lastHeartbeat } }
      nodes { id }
    }
  }`;

interface Node { id: string; name: string; host: string; createdAt: string; lastHeartbeat: string | null }

async function connection(vars: Record<string, unknown>, token = server.viewerToken) {
  const res = await graphql(server.url, token, CONNECTION, vars);
  if (res.status !== 200 || res.body.errors) throw new Error(`agents answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.data.agents as {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    edges: { cursor: string; node: Node }[];
    nodes: { id: string }[];
  };
}

/** Pages forward with first/after until the last page, returning every node in order. */
async function pageForward(vars: Record<string, unknown>, size: number): Promise<Node[]> {
  const seen: Node[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const page = await connection({ ...vars, first: size, after });
    expect(page.edges.length).toBeLessThanOrEqual(size);
    expect(page.pageInfo.hasPreviousPage || after === null).toBe(true);
    seen.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return seen;
    expect(page.edges).toHaveLength(size);
    after = page.pageInfo.endCursor;
  }
  throw new Error('paging forward never reached the end');
}

/** Pages backward with last/before from the end, returning every node in forward order. */
async function pageBackward(vars: Record<string, unknown>, size: number): Promise<Node[]> {
  const pages: Node[][] = [];
  let before: string | null = null;
  for (let n = 0; n < 100; n++) {
    const page = await connection({ ...vars, last: size, before });
    expect(page.edges.length).toBeLessThanOrEqual(size);
    pages.unshift(page.edges.map((e) => e.node));
    if (!page.pageInfo.hasPreviousPage) return pages.flat();
    expect(page.edges).toHaveLength(size);
    before = page.pageInfo.startCursor;
  }
  throw new Error('paging backward never reached the start');
}

describe('the fleet through REST', () => {
  it('lists every agent under "agents", oldest first', async () => {
    const res = await request(`${server.url}/api/v1/agents/`, { token: server.viewerToken });
    expect(res.status).toBe(200);
    expect(res.body.agents.map((a: { id: string }) => a.id)).toEqual(ids);
    const created = res.body.agents.map((a: { created_at: string }) => Date.parse(a.created_at));
    expect(created).toEqual([...created].sort((a, b) => a - b));
  });

  it('answers the same list without the trailing slash', async () => {
    const res = await request(`${server.url}/api/v1/agents`, { token: server.viewerToken });
    expect(res.status).toBe(200);
    expect(res.body.agents).toHaveLength(FLEET.length);
  });

  it('filters by type, environment, status (any of several) and all of several tags', async () => {
    const byIds = (agents: { id: string }[]) => agents.map((a) => a.id).sort();
    expect(byIds(await listAgents(server.url, server.viewerToken, '?type=web_server'))).toEqual(idsWhere((a) => a.type === 'web_server'));
    expect(byIds(await listAgents(server.url, server.viewerToken, '?environment=staging'))).toEqual(idsWhere((a) => a.environment === 'staging'));
    expect(byIds(await listAgents(server.url, server.viewerToken, '?tag=critical&tag=frontend'))).toEqual(
      idsWhere((a) => a.tags.includes('critical') && a.tags.includes('frontend')),
    );
    expect(byIds(await listAgents(server.url, server.viewerToken, '?type=web_server&environment=production'))).toEqual(
      idsWhere((a) => a.type === 'web_server' && a.environment === 'production'),
    );
    expect(byIds(await listAgents(server.url, server.viewerToken, '?status=online'))).toEqual(idsWhere((a) => statusOf(a) === 'online'));
    expect(byIds(await listAgents(server.url, server.viewerToken, '?status=offline'))).toEqual(idsWhere((a) => statusOf(a) === 'offline'));
    expect(byIds(await listAgents(server.url, server.viewerToken, '?status=degraded&status=offline'))).toEqual(idsWhere((a) => statusOf(a) !== 'online'));
    expect(await listAgents(server.url, server.viewerToken, '?tag=no-such-tag')).toEqual([]);
  });

  it('pages with limit and offset, visiting every agent exactly once', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < FLEET.length + 3; offset += 3) {
      const res = await request(`${server.url}/api/v1/agents/?limit=3&offset=${offset}`, { token: server.viewerToken });
      expect(res.body).toMatchObject({ limit: 3, offset });
      seen.push(...res.body.agents.map((a: { id: string }) => a.id));
    }
    expect(seen).toEqual(ids);
  });

  it('refuses a limit or offset outside its range with 400 and the field at fault', async () => {
    for (const [query, field] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=ten', 'limit'], ['offset=-1', 'offset'], ['limit=2.5', 'limit']]) {
      const res = await request(`${server.url}/api/v1/agents/?${query}`, { token: server.viewerToken });
      expect(res.status, query).toBe(400);
      expect(res.body.error.code).toBe('BAD_USER_INPUT');
      expect(Object.keys(res.body.error.fields)).toEqual([field]);
    }
  });

  it('refuses an unknown status filter with 400', async () => {
    const res = await request(`${server.url}/api/v1/agents/?status=sleeping`, { token: server.viewerToken });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toHaveProperty(['filter.status']);
  });

  it('reads one agent by id, and answers 404 for an id that does not exist', async () => {
    const one = await request(`${server.url}/api/v1/agents/${ids[3]}`, { token: server.viewerToken });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: ids[3], name: 'dingo', tags: ['cache'], metadata: { index: 3 } });
    const missing = await request(`${server.url}/api/v1/agents/00000000-0000-4000-8000-000000000000`, { token: server.viewerToken });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });
});

describe('the fleet through GraphQL', () => {
  it('answers the same agents as REST, with totalCount', async () => {
    const all = await connection({ first: 100 });
    expect(all.totalCount).toBe(FLEET.length);
    expect(all.nodes.map((n) => n.id).sort()).toEqual([...ids].sort());
    expect(all.edges.map((e) => e.node.id)).toEqual(all.nodes.map((n) => n.id));
  });

  it('filters by status (any of several), type, environment, all of several tags, and combinations', async () => {
    const idsOf = async (filter: Record<string, unknown>) => (await connection({ filter, first: 100 })).nodes.map((n) => n.id).sort();
    expect(await idsOf({ type: 'database_monitor' })).toEqual(idsWhere((a) => a.type === 'database_monitor'));
    expect(await idsOf({ environment: 'development' })).toEqual(idsWhere((a) => a.environment === 'development'));
    expect(await idsOf({ tags: ['critical'] })).toEqual(idsWhere((a) => a.tags.includes('critical')));
    expect(await idsOf({ tags: ['critical', 'edge'] })).toEqual(idsWhere((a) => a.tags.includes('critical') && a.tags.includes('edge')));
    expect(await idsOf({ tags: ['edge', 'cache'] })).toEqual([]);
    expect(await idsOf({ status: ['ONLINE'] })).toEqual(idsWhere((a) => statusOf(a) === 'online'));
    expect(await idsOf({ status: ['DEGRADED'] })).toEqual(idsWhere((a) => statusOf(a) === 'degraded'));
    expect(await idsOf({ status: ['OFFLINE', 'DEGRADED'] })).toEqual(idsWhere((a) => statusOf(a) !== 'online'));
    // A status named 70 000 times is the one status (not a statement with 70 000 parameters).
    expect(await idsOf({ status: [...Array(70_000).fill('ONLINE'), 'DEGRADED'] })).toEqual(idsWhere((a) => statusOf(a) !== 'offline'));
    expect(await idsOf({ status: ['OFFLINE'], type: 'web_server' })).toEqual(idsWhere((a) => statusOf(a) === 'offline' && a.type === 'web_server'));
    expect(await idsOf({ type: 'web_server', environment: 'production', tags: ['frontend'] })).toEqual(
      idsWhere((a) => a.type === 'web_server' && a.environment === 'production' && a.tags.includes('frontend')),
    );
  });

  it('searches a case-insensitive substring of the name or the host', async () => {
    const idsOf = async (search: string) => (await connection({ filter: { search }, first: 100 })).nodes.map((n) => n.id).sort();
    expect(await idsOf('GECKO')).toEqual(idsWhere((a) => a.name === 'gecko'));
    expect(await idsOf('heron-box')).toEqual(idsWhere((a) => a.name === 'heron'));
    expect(await idsOf('db-0')).toEqual(idsWhere((a) => a.host.startsWith('db-0')));
    expect(await idsOf('EXAMPLE.NET')).toEqual([...ids].sort());
  });

  it('searches LIKE wildcards literally: "%" and "_" match only themselves', async () => {
    expect((await connection({ filter: { search: '%' }, first: 100 })).totalCount).toBe(0);
    expect((await connection({ filter: { search: '_' }, first: 100 })).totalCount).toBe(0);
    expect((await connection({ filter: { search: 'web_0' }, first: 100 })).totalCount).toBe(0);
  });

  it('counts the filtered agents in totalCount, whatever the page size', async () => {
    const filter = { environment: 'production' };
    const page = await connection({ filter, first: 2 });
    expect(page.edges).toHaveLength(2);
    expect(page.totalCount).toBe(idsWhere((a) => a.environment === 'production').length);
    expect((await connection({ filter: { tags: ['database'] }, first: 1 })).totalCount).toBe(2);
  });

  it('pages forward with first/after through all agents, visiting each exactly once', async () => {
    const whole = (await connection({ first: 100 })).nodes.map((n) => n.id);
    for (const size of [1, 3, 4, FLEET.length]) {
      const paged = (await pageForward({}, size)).map((n) => n.id);
      expect(paged).toEqual(whole);
    }
  });

  it('pages backward with last/before through all agents, visiting each exactly once', async () => {
    const whole = (await connection({ first: 100 })).nodes.map((n) => n.id);
    for (const size of [1, 3, 4]) {
      expect((await pageBackward({}, size)).map((n) => n.id)).toEqual(whole);
    }
  });

  it('pages a filtered connection forward and backward over exactly the filtered agents', async () => {
    const filter = { environment: 'production' };
    const expected = idsWhere((a) => a.environment === 'production');
    const forward = (await pageForward({ filter }, 2)).map((n) => n.id);
    expect([...forward].sort()).toEqual(expected);
    expect((await pageBackward({ filter }, 2)).map((n) => n.id)).toEqual(forward);
  });

  it('reports hasPreviousPage after the first page and hasNextPage before the last', async () => {
    const first = await connection({ first: 4 });
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = await connection({ first: 4, after: first.pageInfo.endCursor });
    expect(second.pageInfo.hasPreviousPage).toBe(true);
    const last = await connection({ last: 4 });
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const empty = await connection({ first: 4, filter: { type: 'nothing_of_this_type' } });
    expect(empty).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false } });
  });

  const byName = (a: Node, b: Node) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const byCreated = (a: Node, b: Node) => Date.parse(a.createdAt) - Date.parse(b.createdAt);
  const byHeartbeat = (a: Node, b: Node) => (a.lastHeartbeat ?? '').localeCompare(b.lastHeartbeat ?? '');
  const ORDERINGS = [
    ['NAME', byName],
    ['CREATED_AT', byCreated],
    ['LAST_HEARTBEAT', byHeartbeat],
  ] as const;

  for (const [field, compare] of ORDERINGS) {
    for (const direction of ['ASC', 'DESC'] as const) {
      it(`orders by ${field} ${direction}, and paging in either direction keeps that order`, async () => {
        const orderBy = { field, direction };
        const whole = (await connection({ orderBy, first: 100 })).edges.map((e) => e.node);
        expect(whole.map((n) => n.id).sort()).toEqual([...ids].sort());
        for (let i = 1; i < whole.length; i++) {
          const c = compare(whole[i - 1], whole[i]);
          expect(direction === 'ASC' ? c <= 0 : c >= 0, `${whole[i - 1].name} before ${whole[i].name}`).toBe(true);
        }
        expect((await pageForward({ orderBy }, 3)).map((n) => n.id)).toEqual(whole.map((n) => n.id));
        expect((await pageBackward({ orderBy }, 3)).map((n) => n.id)).toEqual(whole.map((n) => n.id));
      });
    }
  }

  it('orders by LAST_HEARTBEAT in the order the heartbeats came, agents that never sent one first (ASC) or last (DESC)', async () => {
    const beatOrder = FLEET.filter((a) => a.beat !== undefined).sort((a, b) => a.beat! - b.beat!).map((a) => a.host);
    const silent = FLEET.filter((a) => a.beat === undefined).map((a) => a.host).sort();
    const asc = (await connection({ orderBy: { field: 'LAST_HEARTBEAT', direction: 'ASC' }, first: 100 })).edges.map((e) => e.node);
    expect(asc.slice(0, silent.length).map((n) => n.host).sort()).toEqual(silent);
    expect(asc.slice(0, silent.length).every((n) => n.lastHeartbeat === null)).toBe(true);
    expect(asc.slice(silent.length).map((n) => n.host)).toEqual(beatOrder);
    const desc = (await connection({ orderBy: { field: 'LAST_HEARTBEAT', direction: 'DESC' }, first: 100 })).edges.map((e) => e.node);
    expect(desc.slice(0, beatOrder.length).map((n) => n.host)).toEqual([...beatOrder].reverse());
    expect(desc.slice(beatOrder.length).every((n) => n.lastHeartbeat === null)).toBe(true);
  });

  it('orders by name with names in the expected sequence, both ways', async () => {
    const asc = (await connection({ orderBy: { field: 'NAME', direction: 'ASC' }, first: 100 })).edges.map((e) => e.node.name);
    expect(asc).toEqual(FLEET.map((a) => a.name).sort());
    const desc = (await connection({ orderBy: { field: 'NAME', direction: 'DESC' }, first: 100 })).edges.map((e) => e.node.name);
    expect(desc).toEqual(FLEET.map((a) => a.name).sort().reverse());
  });

  it('reads one agent by the same UUID as REST, and answers null for an unknown or malformed id', async () => {
    const res = await graphql(
      server.url,
      server.viewerToken,
      `query($id: ID!) {
        agent(id: $id) { id name host port environment tags metadata }
        unknown: agent(id: "00000000-0000-4000-8000-000000000000") { id }
        malformed: agent(id: "not-a-uuid") { id }
        empty: agent(id: "") { id }
      }`,
      { id: ids[0] },
    );
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({
      agent: { id: ids[0], name: 'aardvark', host: 'web-01.example.net', port: 9000, environment: 'production', tags: ['critical', 'frontend'], metadata: { index: 0 } },
      unknown: null,
      malformed: null,
      empty: null,
    });
  });

  it('counts agents per status, honouring the filter but ignoring its status', async () => {
    const res = await graphql(
      server.url,
      server.viewerToken,
      `{
        all: agentStatusCounts { online degraded offline total }
        staging: agentStatusCounts(filter: { environment: "staging" }) { online degraded offline total }
        offlineOnly: agentStatusCounts(filter: { status: [OFFLINE] }) { online degraded offline total }
        critical: agentStatusCounts(filter: { tags: ["critical"] }) { online degraded offline total }
      }`,
    );
    expect(res.body.errors).toBeUndefined();
    const counts = (pred: (a: Spec) => boolean) => {
      const of = (status: string) => FLEET.filter((a) => pred(a) && statusOf(a) === status).length;
      return { online: of('online'), degraded: of('degraded'), offline: of('offline'), total: FLEET.filter(pred).length };
    };
    const all = counts(() => true);
    expect(all).toEqual({ online: 7, degraded: 1, offline: 3, total: 11 });
    expect(res.body.data).toEqual({
      all,
      staging: counts((a) => a.environment === 'staging'),
      offlineOnly: all,
      critical: counts((a) => a.tags.includes('critical')),
    });
  });

  it('lists the types, environments and tags in use as facets, sorted and distinct', async () => {
    const res = await graphql(server.url, server.viewerToken, '{ agentFacets { types environments tags } }');
    const distinct = (xs: string[]) => [...new Set(xs)].sort();
    expect(res.body.data.agentFacets).toEqual({
      types: distinct(FLEET.map((a) => a.type)),
      environments: distinct(FLEET.map((a) => a.environment)),
      tags: distinct(FLEET.flatMap((a) => a.tags)),
    });
  });

  it('tells each token its role through viewer, and an agent its own id', async () => {
    const role = async (token: string) => (await graphql(server.url, token, '{ viewer { role agentId } }')).body.data.viewer;
    expect(await role(server.adminToken)).toEqual({ role: 'ADMIN', agentId: null });
    expect(await role(server.viewerToken)).toEqual({ role: 'VIEWER', agentId: null });
    expect(await role(server.enrollmentToken)).toEqual({ role: 'ENROLLMENT', agentId: null });
    const reg = await registerGraphQL(server.url, server.enrollmentToken, { name: 'zebra', type: 'web_server', host: 'z.example.net', port: 1 });
    const { token, agent } = reg.body.data.registerAgent;
    expect(await role(token)).toEqual({ role: 'AGENT', agentId: agent.id });
    await graphql(server.url, server.adminToken, 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }', { id: agent.id });
  });
});
