import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/client';
import { onlyError } from '../helpers/agents';
import { heartbeatRest, rawWs, registerAgent, subscribeWs, waitFor, wsClient, type Agent, type Collected } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let agent: Agent;
beforeAll(async () => {
  server = await startTestServer();
  agent = await registerAgent(server.url, server.enrollmentToken, { name: 'limits-agent' });
});
afterAll(() => server?.close());

const ACCEPTS = ['application/graphql-response+json', 'application/json'];
const ask = (token: string, query: string, variables?: Record<string, unknown>, accept = ACCEPTS[0]) =>
  request(`${server.url}/graphql`, { token, headers: { accept }, json: { query, variables } });

/** Refused before execution with 400, under both media types, with a message naming `limit`. */
async function expectRefused(query: string, limit: string, variables?: Record<string, unknown>, token = server.viewerToken) {
  for (const accept of ACCEPTS) {
    const res = await ask(token, query, variables, accept);
    expect(res.status, `${accept}: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(400);
    expect(res.body.data ?? null).toBeNull();
    const error = onlyError(res);
    expect(error.message).toContain(limit);
    expect(error.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  }
}

const aliases = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

describe('GraphQL limits refuse expensive documents up front with 400 and the limit’s name', () => {
  it('refuses 24 000 repeated fields by the token limit, before validation', async () => {
    await expectRefused(`{ ${'__typename '.repeat(24_000)}}`, 'GRAPHQL_MAX_TOKENS');
  });

  it('refuses 300 aliases of agents(first: 1000)', async () => {
    await expectRefused(aliases(300, 'agents(first: 1000) { nodes { id name } }'), 'GRAPHQL_MAX_');
  });

  it('refuses 16 aliases, where 15 are allowed', async () => {
    await expectRefused(aliases(16, 'agentStatusCounts { total }'), 'GRAPHQL_MAX_ALIASES');
    const fifteen = await ask(server.viewerToken, aliases(15, 'agentStatusCounts { total }'));
    expect(fifteen.status).toBe(200);
    expect(fifteen.body.errors).toBeUndefined();
  });

  it('refuses 10 aliases of agentEventLog(last: 1000) with metadata by the cost limit', async () => {
    await expectRefused(aliases(10, 'agentEventLog(last: 1000) { cursor data agent { name metadata } }'), 'GRAPHQL_MAX_COST');
  });

  it('counts first/last passed as variables: agents(first: $n) with metadata and configuration is refused at 1000 and served at 10', async () => {
    const query = 'query($n: Int) { agents(first: $n) { nodes { name metadata configuration { key value } } } }';
    await expectRefused(query, 'GRAPHQL_MAX_COST', { n: 1000 });
    const small = await ask(server.viewerToken, query, { n: 10 });
    expect(small.status).toBe(200);
    expect(small.body.errors).toBeUndefined();
  });

  it('refuses a document deeper than 10 levels', async () => {
    let query = '__typename';
    for (let i = 0; i < 12; i++) query = `... on Query { ${query} }`;
    await expectRefused(`{ ${query} }`, 'GRAPHQL_MAX_DEPTH');
  });

  it('refuses a field asked for more than 50 times under one path, counted through inline fragments and fragment spreads, and serves 50', async () => {
    await expectRefused(`{ ${'__typename '.repeat(51)}}`, 'asks for __typename more than 50 times');
    const spread = `{ agents { nodes { ...A ... on Agent { ${'id '.repeat(30)}} } } } fragment A on Agent { ${'id '.repeat(21)}}`;
    await expectRefused(spread, 'asks for agents.nodes.id more than 50 times');
    const fifty = await ask(server.viewerToken, `{ ${'__typename '.repeat(50)}}`);
    expect(fifty.status).toBe(200);
    expect(fifty.body.errors).toBeUndefined();
  });

  it('refuses fragments that expand to more than 10 000 fields', async () => {
    // 10 × 10 × 200 = 20 000 fields from about 750 tokens.
    const n = Array.from({ length: 200 }, (_, i) => `i${i}: id`).join(' ');
    const m = Array.from({ length: 10 }, (_, i) => `n${i}: nodes { ...N }`).join(' ');
    const root = Array.from({ length: 10 }, (_, i) => `a${i}: agents { ...M }`).join(' ');
    await expectRefused(`{ ${root} } fragment M on AgentConnection { ${m} } fragment N on Agent { ${n} }`, 'expands to more than 10000 fields');
  });

  it('refuses a name over 256 characters wherever it stands, without echoing it whole, and serves one of 256', async () => {
    const long = 'a'.repeat(300_000);
    for (const query of [`{ ${long} }`, `{ agents(${long}: 1) { totalCount } }`, `{ ... on ${long} { __typename } }`, `{ agents(orderBy: { field: ${long} }) { totalCount } }`, `{ ${long}: __typename }`]) {
      await expectRefused(query, 'names are at most 256');
      expect(JSON.stringify((await ask(server.viewerToken, query)).body).length).toBeLessThan(1_000);
    }
    const fine = await ask(server.viewerToken, `{ ${'b'.repeat(256)}: __typename }`);
    expect(fine.status).toBe(200);
    expect(fine.body.data).toEqual({ ['b'.repeat(256)]: 'Query' });
  });

  it('refuses more than 10 directives', async () => {
    await expectRefused(`{ ${Array.from({ length: 11 }, (_, i) => `t${i}: __typename @include(if: true)`).join(' ')} }`, 'GRAPHQL_MAX_DIRECTIVES');
  });

  it('refuses 3 000 nested inline fragments and a 20 000-deep list literal with 400, and keeps serving', async () => {
    await expectRefused(`{ ${'... on Query { '.repeat(3000)}__typename${' }'.repeat(3000)} }`, 'nest');
    await expectRefused(`{ agents(filter: { tags: ${'['.repeat(20_000)}"x"${']'.repeat(20_000)} }) { totalCount } }`, 'nest');
    expect((await request(`${server.url}/health`)).status).toBe(200);
  });
});

describe('introspection', () => {
  const INTROSPECT = '{ __schema { queryType { name } } __type(name: "Agent") { name } }';

  it('is served to admin and viewer tokens', async () => {
    for (const token of [server.adminToken, server.viewerToken]) {
      const res = await ask(token, INTROSPECT);
      expect(res.status).toBe(200);
      expect(res.body.data.__schema.queryType.name).toBe('Query');
    }
  });

  it('is refused to enrollment and agent tokens with 403 FORBIDDEN, __typename still allowed', async () => {
    for (const token of [server.enrollmentToken, agent.token]) {
      for (const query of [INTROSPECT, '{ __type(name: "Agent") { fields { name } } }', 'query { ...F } fragment F on Query { __schema { types { name } } }']) {
        const res = await ask(token, query);
        expect(res.status, query).toBe(403);
        expect(onlyError(res).extensions?.code).toBe('FORBIDDEN');
        expect(res.body.data ?? null).toBeNull();
      }
      expect((await ask(token, '{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
    }
  });
});

/** The error a refused WebSocket operation receives, as text. */
const refusalOf = async (sub: Collected<unknown>) => JSON.stringify(await waitFor(() => sub.errors.length > 0 && sub.errors, { what: 'a refusal' }));

describe('the same limits over WebSocket', () => {
  it('answers an over-limit subscription with an error message naming the limit, and the socket stays usable', async () => {
    const client = wsClient(server.url, server.viewerToken);
    try {
      const tooCostly = subscribeWs(client, 'query($n: Int) { agents(first: $n) { nodes { metadata configuration { value } } } }', { n: 1000 });
      expect(await refusalOf(tooCostly)).toMatch(/GRAPHQL_MAX_COST/);
      const tooMany = subscribeWs(client, `subscription { ${Array.from({ length: 16 }, (_, i) => `a${i}: agentEvents { cursor }`).join(' ')} }`);
      expect(await refusalOf(tooMany)).toMatch(/GRAPHQL_MAX_ALIASES/);
      const tooLong = subscribeWs(client, `subscription { agentEvents { ${'cursor '.repeat(2000)}} }`);
      expect(await refusalOf(tooLong)).toMatch(/GRAPHQL_MAX_TOKENS/);
      const deep = subscribeWs(client, `subscription { ${'... on Subscription { '.repeat(3000)}__typename${' }'.repeat(3000)} }`);
      expect(await refusalOf(deep)).toMatch(/nest/);
      // A subscription within the limits still works on the same socket: its first push is the agent's latest heartbeat.
      expect((await heartbeatRest(server.url, agent.id, agent.token)).status).toBe(200);
      const fine = subscribeWs(client, 'subscription($ids: [ID!]!) { agentHeartbeats(agentIds: $ids) { heartbeats { at } } }', { ids: [agent.id] });
      await fine.until((items) => items.length > 0);
      fine.dispose();
    } finally {
      await client.dispose();
    }
  });

  it('refuses introspection to nobody on a socket, since only operators get one', async () => {
    const socket = rawWs(server.url, { authorization: `Bearer ${server.viewerToken}` });
    await socket.opened;
    await new Promise<void>((resolve) => socket.socket.once('message', () => resolve()));
    socket.socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __schema { queryType { name } } }' } }));
    await new Promise<void>((resolve) => socket.socket.once('message', () => resolve()));
    expect(socket.messages.find((m) => m.id === '1')).toMatchObject({ type: 'next', payload: { data: { __schema: { queryType: { name: 'Query' } } } } });
    socket.socket.close();
  });
});
