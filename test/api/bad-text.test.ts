import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request, SEED_AGENT } from '../helpers/client';
import { listAgents, onlyError, REGISTER_MUTATION, registerRest } from '../helpers/agents';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/** Lone UTF-16 surrogates anywhere in text input, and deep nesting: 400 naming the field, nothing written. */
let server: TestServer;
let agent: Agent;
beforeAll(async () => {
  server = await startTestServer();
  agent = await registerAgent(server.url, server.enrollmentToken, { name: 'text-agent', tags: ['keep'] });
});
afterAll(() => server?.close());

const LONE = ['\ud800', '\udfff', 'a\udbffb', '\udc00\ud800'];
const snapshot = async () => JSON.stringify(await listAgents(server.url, server.adminToken, '?limit=1000'));

/** Runs `attempt` and proves no agent, tag or configuration changed. */
async function writesNothing(attempt: () => Promise<void>) {
  const before = await snapshot();
  const config = await request(`${server.url}/api/v1/agents/${agent.id}/configuration`, { token: server.adminToken });
  await attempt();
  expect(await snapshot()).toEqual(before);
  expect((await request(`${server.url}/api/v1/agents/${agent.id}/configuration`, { token: server.adminToken })).body).toEqual(config.body);
}

function expectField(res: { status: number; body: any }, field: string, what: string) {
  expect(res.status, what).toBe(400);
  const error = res.body.error ?? onlyError(res as any).extensions;
  expect(error.code, what).toBe('BAD_USER_INPUT');
  expect(Object.keys(error.fields), what).toContain(field);
  expect(error.fields[field], what).toMatch(/surrogate|deeper/);
}

describe('lone surrogates over REST', () => {
  it('refuses them in each registration field, metadata key and value, and tag, naming the field', async () => {
    await writesNothing(async () => {
      for (const lone of LONE) {
        const cases: [Record<string, unknown>, string][] = [
          [{ name: `web${lone}` }, 'name'],
          [{ type: `api${lone}` }, 'type'],
          [{ host: `h${lone}.example` }, 'host'],
          [{ environment: `prod${lone}` }, 'environment'],
          [{ metadata: { [`re${lone}gion`]: 'x' } }, 'metadata'],
          [{ metadata: { region: `us${lone}` } }, 'metadata'],
          [{ metadata: { deep: [{ list: ['ok', lone] }] } }, 'metadata'],
          [{ tags: ['ok', `t${lone}`] }, 'tags.1'],
        ];
        for (const [overrides, field] of cases) expectField(await registerRest(server.url, server.enrollmentToken, { ...overrides }), field, JSON.stringify(overrides));
      }
    });
  });

  it('no longer merges two names that differ only in a lone surrogate into one agent', async () => {
    await writesNothing(async () => {
      for (const name of ['twin\ud800', 'twin\udbff']) expectField(await registerRest(server.url, server.enrollmentToken, { name }), 'name', name);
    });
    expect((await listAgents(server.url, server.adminToken, '?search=twin')).length).toBe(0);
  });

  it('refuses one in a heartbeat’s health message, leaving the agent as it was', async () => {
    await writesNothing(async () => {
      expectField(await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'degraded', message: 'disk\ud800' } }), 'health.message', 'health');
    });
  });

  it('keeps a well-formed pair as it is: 🛰 (\\ud83d\\udef0) is accepted and read back unchanged', async () => {
    const res = await registerRest(server.url, server.enrollmentToken, { name: 'pair-\ud83d\udef0', metadata: { k: '\ud83d\udef0' } });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('pair-🛰');
    expect(res.body.metadata).toEqual({ k: '🛰' });
  });
});

describe('lone surrogates over GraphQL', () => {
  const SET_CONFIG = 'mutation($id: ID!, $key: String!, $value: JSON!) { setAgentConfiguration(agentId: $id, key: $key, value: $value) { id } }';
  const ADD_TAGS = 'mutation($id: ID!, $tags: [String!]!) { addAgentTags(agentId: $id, tags: $tags) { id } }';
  const HEARTBEAT = 'mutation($input: HeartbeatInput!) { heartbeat(input: $input) { status } }';

  it('refuses them in any variable, naming its path, before anything runs', async () => {
    await writesNothing(async () => {
      const cases: [string, string | undefined, Record<string, unknown>, string][] = [
        ['registration name', server.enrollmentToken, { input: { ...SEED_AGENT, name: 'g\ud800' } }, 'input.name'],
        ['metadata value', server.enrollmentToken, { input: { ...SEED_AGENT, metadata: { a: ['\udfff'] } } }, 'input.metadata.a[0]'],
        ['configuration value', server.adminToken, { id: agent.id, key: 'k', value: { v: 'x\udc00' } }, 'value.v'],
        ['configuration key', server.adminToken, { id: agent.id, key: 'k\ud800', value: 1 }, 'key'],
        ['tag', server.adminToken, { id: agent.id, tags: ['ok', 'b\ud800'] }, 'tags[1]'],
        ['health message', agent.token, { input: { agentId: agent.id, health: { status: 'DEGRADED', message: '\ud800' } } }, 'input.health.message'],
      ];
      const documents: Record<string, string> = {
        'registration name': 'mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { token } }',
        'metadata value': 'mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { token } }',
        'configuration value': SET_CONFIG,
        'configuration key': SET_CONFIG,
        tag: ADD_TAGS,
        'health message': HEARTBEAT,
      };
      for (const [what, token, variables, field] of cases) expectField(await graphql(server.url, token, documents[what], variables), field, what);
    });
  });

  it('refuses one in a filter variable with 400 naming filter.search', async () => {
    expectField(await graphql(server.url, server.viewerToken, 'query($f: AgentFilter) { agents(filter: $f) { totalCount } }', { f: { search: 'a\ud800' } }), 'f.search', 'filter');
  });

  it('refuses one written as an escape inside the document itself as a syntax error (400)', async () => {
    await writesNothing(async () => {
      const res = await graphql(server.url, server.adminToken, `mutation { addAgentTags(agentId: "${agent.id}", tags: ["b\\ud800"]) { id } }`);
      expect(res.status).toBe(400);
      expect(onlyError(res).message).toMatch(/Unicode/i);
    });
  });

  it('refuses one in a variable of a WebSocket subscription with an error naming the path', async () => {
    const client = wsClient(server.url, server.viewerToken);
    try {
      const sub = subscribeWs(client, 'subscription($f: AgentFilter) { agentStatusChanged(filter: $f) { status } }', { f: { search: '\udfff' } });
      const errors = await waitFor(() => sub.errors.length > 0 && sub.errors, { what: 'a refusal' });
      expect(JSON.stringify(errors)).toMatch(/f\.search.*surrogate/);
    } finally {
      await client.dispose();
    }
  });
});

describe('deep nesting in variables and bodies', () => {
  it('refuses a 20 000-deep list in GraphQL variables with 400, and keeps serving', async () => {
    await writesNothing(async () => {
      // Written as text: JSON.stringify on this side would overflow its own stack.
      const input = JSON.stringify({ ...SEED_AGENT, name: 'deep-vars' }).replace(/}$/, `,"metadata":{"a":${'['.repeat(20_000)}1${']'.repeat(20_000)}}}`);
      const body = `{"query":${JSON.stringify(REGISTER_MUTATION)},"variables":{"input":${input}}}`;
      const res = await request(`${server.url}/graphql`, { token: server.enrollmentToken, body, headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(onlyError(res).extensions?.code).toBe('BAD_USER_INPUT');
    });
    expect((await request(`${server.url}/health`)).status).toBe(200);
  });

  it('answers a REST body with a 100 000-deep unknown field without a 5xx, writing only the valid registration', async () => {
    const body = `{"name":"deep-body","type":"t","host":"h","port":1,"junk":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const res = await request(`${server.url}/api/v1/agents/register`, { token: server.enrollmentToken, body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBeLessThan(500);
    expect((await request(`${server.url}/health`)).status).toBe(200);
  });
});
