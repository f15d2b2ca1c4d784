import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAgents, compareNames, naturalKey, type AgentOrder, type OrderedAgent } from '../../shared/agent-order';
import { registerGraphQL } from '../helpers/agents';
import { graphql } from '../helpers/client';
import { heartbeatRest, OffsetClock, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
const clock = new OffsetClock();

// Digits, case, leading zeros, punctuation below and above the digits, and characters
// whose UTF-16 order differs from their code-point order ('ｚ' U+FF5A sorts before
// '😀' U+1F600 by code point, after it by UTF-16 unit).
const NAMES = [
  'gw-10', 'gw-2', 'GW-3', 'gw-1', 'gw-02', 'Gw-2', 'gw-2a', 'gw-2-b', 'gw-100', 'gw',
  'alpha9', 'Alpha10', 'alpha', 'beta', 'Beta 2', 'beta-2', 'beta.2', 'beta_2',
  'x😀', 'xｚ', 'node-ä', 'node-z', '007', '7', 'v1.10.2', 'v1.9.12', 'zz-0', 'ZZ-00',
];

/** An agent as GraphQL sends it: the status enum's name, upper case. */
interface Node extends Omit<OrderedAgent, 'status'> {
  status: string;
}
const lower = (n: Node): OrderedAgent => ({ ...n, status: n.status.toLowerCase() as OrderedAgent['status'] });
const ids = new Map<string, string>();
const tokens = new Map<string, string>();

const FIELDS = 'id name status statusChangedAt type environment createdAt lastHeartbeat';
async function fleet(vars: Record<string, unknown> = {}) {
  const res = await graphql(
    server.url,
    server.viewerToken,
    `query($first: Int, $after: String, $last: Int, $before: String, $orderBy: AgentOrder) {
      agents(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
        nodes { ${FIELDS} } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }`,
    vars,
  );
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.agents as { nodes: Node[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string } };
}

async function pageForward(orderBy: unknown, size: number): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await fleet({ orderBy, first: size, after });
    seen.push(...page.nodes.map((n) => n.id));
    if (!page.pageInfo.hasNextPage) return seen;
    after = page.pageInfo.endCursor;
  }
}

async function pageBackward(orderBy: unknown, size: number): Promise<string[]> {
  const pages: string[][] = [];
  let before: string | null = null;
  for (;;) {
    const page = await fleet({ orderBy, last: size, before });
    pages.unshift(page.nodes.map((n) => n.id));
    if (!page.pageInfo.hasPreviousPage) return pages.flat();
    before = page.pageInfo.startCursor;
  }
}

const register = async (name: string, i: number, extra: Record<string, unknown> = {}, token = server.enrollmentToken) => {
  const res = await registerGraphQL(server.url, token, {
    name, type: i % 2 ? 'web_server' : 'api_gateway', host: `host-${i}.example.net`, port: 9000 + i,
    environment: i % 3 ? 'production' : 'staging', heartbeatIntervalSeconds: 60, ...extra,
  });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  ids.set(name, res.body.data.registerAgent.agent.id);
  tokens.set(name, res.body.data.registerAgent.token);
  return res.body.data.registerAgent.agent as { id: string };
};
const beat = async (name: string, status = 'healthy') => {
  const res = await heartbeatRest(server.url, ids.get(name)!, tokens.get(name)!, { health: { status, message: status === 'healthy' ? undefined : 'disk full' } });
  if (res.status !== 200) throw new Error(`heartbeat answered ${res.status}`);
};

beforeAll(async () => {
  server = await startTestServer({ clock, env: { SWEEP_INTERVAL_MS: '50' } });
  // Half the fleet registers at one instant, so time in status ties and names decide.
  for (const [i, name] of NAMES.entries()) {
    if (i % 2 === 0) clock.advance(1_000);
    await register(name, i);
  }
  // Past every deadline (3 × 60 s): all go offline, in one sweep, at one instant.
  clock.advance(200_000);
  await waitFor(async () => (await fleet({ first: 100 })).nodes.every((n) => n.status === 'OFFLINE'), { what: 'every agent offline' });
  // Some come back, a second apart; some of those report trouble.
  for (const [i, name] of NAMES.entries()) {
    if (i % 3 === 0) continue;
    clock.advance(1_000);
    await beat(name, i % 4 === 1 ? 'degraded' : 'healthy');
  }
}, 60_000);
afterAll(() => server?.close());

describe('natural name order, the same in PostgreSQL and in the browser', () => {
  it('natural_sort_key in SQL gives the key naturalKey gives in TypeScript, for every tricky name', async () => {
    const extra = ['', '0', '000', 'a0b00c000', 'ABC-XYZ-123456789012345678901234567890', 'ÄÖÜ-Straße 12'];
    for (const name of [...NAMES, ...extra]) {
      const result = await server.app.database.db.execute(sql`select natural_sort_key(${name}) as key`);
      expect((result as unknown as { rows: { key: string }[] }).rows[0].key, name).toBe(naturalKey(name));
    }
  });

  it('orders digits by number and ignores ASCII case, then breaks ties by the name as written', () => {
    const sorted = ['gw-10', 'gw-2', 'GW-3', 'gw-1', 'gw-02', 'Gw-2', 'gw-100', 'gw'].sort(compareNames);
    expect(sorted).toEqual(['gw', 'gw-1', 'Gw-2', 'gw-02', 'GW-3', 'gw-10', 'gw-100'].flatMap((n) => (n === 'gw-02' ? ['gw-02', 'gw-2'] : [n])));
    expect(['v1.10.2', 'v1.9.12'].sort(compareNames)).toEqual(['v1.9.12', 'v1.10.2']);
    expect(['xｚ', 'x😀'].sort(compareNames)).toEqual(['xｚ', 'x😀']);
    expect(['007', '7'].sort(compareNames)).toEqual(['007', '7']);
  });

  for (const direction of ['ASC', 'DESC'] as const) {
    it(`NAME ${direction} from the server is compareAgents' order, and paging through it in either direction keeps it`, async () => {
      const orderBy = { field: 'NAME', direction };
      const nodes = (await fleet({ orderBy, first: 100 })).nodes;
      expect(nodes).toHaveLength(NAMES.length);
      const order: AgentOrder = { field: 'name', direction: direction === 'ASC' ? 'asc' : 'desc' };
      expect(nodes.map((n) => n.name)).toEqual(nodes.map(lower).sort((a, b) => compareAgents(a, b, order)).map((n) => n.name));
      expect(await pageForward(orderBy, 3)).toEqual(nodes.map((n) => n.id));
      expect(await pageBackward(orderBy, 4)).toEqual(nodes.map((n) => n.id));
    });
  }

  it('orders names naturally: gw-1, Gw-2, gw-02, gw-2, gw-2-b, gw-2a, GW-3, gw-10, gw-100', async () => {
    const names = (await fleet({ orderBy: { field: 'NAME', direction: 'ASC' }, first: 100 })).nodes.map((n) => n.name);
    expect(names.filter((n) => /^gw-\d/i.test(n))).toEqual(['gw-1', 'Gw-2', 'gw-02', 'gw-2', 'gw-2-b', 'gw-2a', 'GW-3', 'gw-10', 'gw-100']);
  });
});

describe('worst first', () => {
  it('is the default: offline, degraded, online, each longest in its status first, ties by natural name', async () => {
    const nodes = (await fleet({ first: 100 })).nodes;
    const statuses = nodes.map((n) => n.status);
    const rank = { OFFLINE: 0, DEGRADED: 1, ONLINE: 2 } as Record<string, number>;
    expect(statuses).toEqual([...statuses].sort((a, b) => rank[a] - rank[b]));
    expect(new Set(statuses)).toEqual(new Set(['OFFLINE', 'DEGRADED', 'ONLINE']));
    for (let i = 1; i < nodes.length; i++) {
      if (nodes[i].status !== nodes[i - 1].status) continue;
      expect(Date.parse(nodes[i - 1].statusChangedAt as string)).toBeLessThanOrEqual(Date.parse(nodes[i].statusChangedAt as string));
    }
    expect(nodes.map((n) => n.id)).toEqual(nodes.map(lower).sort((a, b) => compareAgents(a, b)).map((n) => n.id));
    // The offline ones all went offline in one sweep: their order is their names'.
    const offline = nodes.filter((n) => n.status === 'OFFLINE').map((n) => n.name);
    expect(offline.length).toBeGreaterThan(3);
    expect(offline).toEqual([...offline].sort(compareNames));
  });

  for (const [field, direction] of [['SEVERITY', 'ASC'], ['SEVERITY', 'DESC'], ['STATUS_SINCE', 'ASC'], ['STATUS', 'DESC'], ['TYPE', 'ASC'], ['ENVIRONMENT', 'DESC'], ['CREATED_AT', 'ASC'], ['LAST_HEARTBEAT', 'DESC']] as const) {
    it(`${field} ${direction} matches compareAgents, and pages through its ties one by one and three at a time, both ways`, async () => {
      const orderBy = { field, direction };
      const nodes = (await fleet({ orderBy, first: 100 })).nodes.map(lower);
      const order = { field: field.toLowerCase().replace(/_(.)/g, (_, c: string) => c.toUpperCase()), direction: direction.toLowerCase() } as AgentOrder;
      expect(nodes.map((n) => n.id)).toEqual([...nodes].sort((a, b) => compareAgents(a, b, order)).map((n) => n.id));
      const whole = nodes.map((n) => n.id);
      expect(await pageForward(orderBy, 1)).toEqual(whole);
      expect(await pageForward(orderBy, 3)).toEqual(whole);
      expect(await pageBackward(orderBy, 3)).toEqual(whole);
    });
  }
});

describe('statusChangedAt', () => {
  const agentOf = async (id: string) =>
    (await graphql(server.url, server.viewerToken, `query($id: ID!) { agent(id: $id) { status statusChangedAt createdAt } }`, { id })).body.data.agent as {
      status: string;
      statusChangedAt: string;
      createdAt: string;
    };

  it('begins at registration, stays through heartbeats that keep the status, and moves with each transition', async () => {
    clock.advance(1_000);
    const { id } = await register('since-probe', 100);
    const registered = await agentOf(id);
    expect(registered).toMatchObject({ status: 'ONLINE', statusChangedAt: registered.createdAt });

    clock.advance(5_000);
    await beat('since-probe');
    expect((await agentOf(id)).statusChangedAt).toBe(registered.createdAt);

    clock.advance(5_000);
    const degradedAt = clock.now();
    await beat('since-probe', 'unhealthy');
    const degraded = await agentOf(id);
    expect(degraded.status).toBe('DEGRADED');
    expect(Math.abs(Date.parse(degraded.statusChangedAt) - degradedAt.getTime())).toBeLessThan(1_000);

    clock.advance(5_000);
    await beat('since-probe', 'degraded');
    expect((await agentOf(id)).statusChangedAt).toBe(degraded.statusChangedAt);

    clock.advance(200_000);
    const offline = await waitFor(async () => {
      const a = await agentOf(id);
      return a.status === 'OFFLINE' ? a : undefined;
    }, { what: 'the probe offline' });
    expect(Date.parse(offline.statusChangedAt)).toBeGreaterThan(Date.parse(degraded.statusChangedAt) + 180_000);

    // Registered again: online from now; registered again while online (which takes the
    // agent's own token): unchanged.
    clock.advance(1_000);
    await register('since-probe', 100);
    const back = await agentOf(id);
    expect(back.status).toBe('ONLINE');
    expect(Date.parse(back.statusChangedAt)).toBeGreaterThan(Date.parse(offline.statusChangedAt));
    clock.advance(1_000);
    await register('since-probe', 100, {}, tokens.get('since-probe'));
    expect((await agentOf(id)).statusChangedAt).toBe(back.statusChangedAt);
  });

  it("is carried by each event's agent: a transition's agent began its status as the event was written", async () => {
    const res = await graphql(server.url, server.viewerToken, `query($id: ID) { agentEventLog(agentId: $id, last: 50) { type at agent { statusChangedAt } } }`, {
      id: ids.get('since-probe'),
    });
    const changes = (res.body.data.agentEventLog as { type: string; at: string; agent: { statusChangedAt: string } }[]).filter((e) => e.type === 'STATUS_CHANGED');
    expect(changes.length).toBeGreaterThanOrEqual(3);
    // The same transaction, read from the clock a moment apart.
    for (const e of changes) expect(Math.abs(Date.parse(e.agent.statusChangedAt) - Date.parse(e.at))).toBeLessThan(1_000);
  });
});
