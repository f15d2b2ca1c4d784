import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { onlyError, registerRest } from '../helpers/agents';
import { onPostgres } from '../helpers/database';
import { registerAgent, waitFor, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Agent tokens are checked against their agent before a request is parsed, on every
 * replica; a revoked one stops working everywhere within AGENT_TOKEN_CACHE_MS.
 */
const CACHE_MS = 1000;
let a: TestServer;
/** A second replica on the same database (PostgreSQL), or the same server (PGlite has one process). */
let b: TestServer;

beforeAll(async () => {
  a = await startTestServer({ env: { AGENT_TOKEN_CACHE_MS: String(CACHE_MS) } });
  b = onPostgres() ? await startTestServer({ env: { AGENT_TOKEN_CACHE_MS: String(CACHE_MS) }, databaseUrl: a.databaseUrl }) : a;
});
afterAll(async () => {
  if (b !== a) await b?.close();
  await a?.close();
});

let counter = 0;
const newAgent = () => registerAgent(a.url, a.enrollmentToken, { name: `token-${++counter}` });
const forgedFor = (id: string) => `am_agent_${id.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;
const CONFIG = 'query($id: ID!) { agentConfiguration(agentId: $id) { revision } }';
const readConfig = (url: string, agent: Agent, token = agent.token) => graphql(url, token, CONFIG, { id: agent.id });

function expectUnauthenticated(res: { status: number; body: any }, what: string) {
  expect(res.status, what).toBe(401);
  const code = res.body?.error?.code ?? onlyError(res as any).extensions?.code;
  expect(code, what).toBe('UNAUTHENTICATED');
}

describe('a forged agent token on /graphql', () => {
  it('gets 401 before its document is parsed: a syntax error, a huge document and introspection all answer UNAUTHENTICATED', async () => {
    const victim = await newAgent();
    const forged = forgedFor(victim.id);
    const documents = ['{ this is not graphql', `{ ${'__typename '.repeat(48_000)}}`, '{ __schema { types { name fields { name } } } }', '{ viewer { role agentId } }', CONFIG];
    for (const query of documents) {
      const res = await graphql(a.url, forged, query, { id: victim.id });
      expectUnauthenticated(res, query.slice(0, 40));
      expect(res.body.data).toBeUndefined();
    }
    const get = await request(`${a.url}/graphql?query=${encodeURIComponent('{ viewer { role } }')}`, { token: forged });
    expectUnauthenticated(get, 'GET');
  });

  it('gets 401 over SSE too, and no stream opens', async () => {
    const victim = await newAgent();
    const res = await fetch(`${a.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${forgedFor(victim.id)}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { agentEvents { cursor } }' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).not.toMatch(/event-stream/);
  });

  it('gets 401 at the REST doors that take agent tokens, and at those that do not', async () => {
    const victim = await newAgent();
    const forged = forgedFor(victim.id);
    expectUnauthenticated(await request(`${a.url}/api/v1/agents/${victim.id}/configuration`, { token: forged }), 'configuration');
    expectUnauthenticated(await request(`${a.url}/api/v1/agents/${victim.id}/heartbeat`, { token: forged, json: {} }), 'heartbeat');
    expectUnauthenticated(await request(`${a.url}/api/v1/agents/`, { token: forged }), 'list');
  });

  it('is told apart from valid ones sent at the same moment, which are checked together', async () => {
    const agents = await Promise.all([1, 2, 3, 4].map(() => newAgent()));
    const unknown = { id: crypto.randomUUID(), token: '' };
    // Each agent's real token, a forged token for it, and a token for an agent that does not exist, all in flight at once.
    const tries = [...agents.flatMap((agent) => [{ agent, token: agent.token, valid: true }, { agent, token: forgedFor(agent.id), valid: false }]), { agent: unknown, token: forgedFor(unknown.id), valid: false }];
    const answers = await Promise.all(tries.map((t) => readConfig(a.url, t.agent as Agent, t.token)));
    answers.forEach((res, i) => {
      if (tries[i].valid) expect(res.body.data?.agentConfiguration, `try ${i}`).toEqual({ revision: expect.any(Number) });
      else expectUnauthenticated(res, `try ${i}`);
    });
  });
});

describe('a revoked agent token', () => {
  it(`stops working on every replica within ${CACHE_MS} ms of a re-registration, while the new one works`, async () => {
    const agent = await newAgent();
    // Both replicas have just seen the token work, so each remembers it as valid.
    for (const url of [a.url, b.url]) expect((await readConfig(url, agent)).status).toBe(200);
    const again = await registerRest(a.url, a.enrollmentToken, { name: `token-${counter}` });
    expect(again.body.id).toBe(agent.id);
    const revokedAt = Date.now();
    for (const url of [a.url, b.url]) {
      await waitFor(async () => (await readConfig(url, agent)).status === 401, { timeout: CACHE_MS * 5, interval: 50, what: 'the revoked token to be refused' });
    }
    expect(Date.now() - revokedAt).toBeLessThan(CACHE_MS * 3);
    expectUnauthenticated(await readConfig(b.url, agent), 'revoked');
    for (const url of [a.url, b.url]) expect((await readConfig(url, agent, again.body.token)).status).toBe(200);
  });

  it('of a deregistered agent gets 401 on /graphql, even for a document that would not parse', async () => {
    const agent = await newAgent();
    const gone = await graphql(a.url, a.adminToken, 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }', { id: agent.id });
    expect(gone.body.errors).toBeUndefined();
    expectUnauthenticated(await graphql(a.url, agent.token, '{ broken'), 'deregistered');
  });

  it('of a deregistered agent gets 401, not 404 or 403, from a replica that still remembers it as valid', async () => {
    const agent = await newAgent();
    for (const url of [a.url, b.url]) expect((await readConfig(url, agent)).status).toBe(200);
    const gone = await graphql(a.url, a.adminToken, 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }', { id: agent.id });
    expect(gone.body.errors).toBeUndefined();
    // Well inside CACHE_MS: each replica's verifier still holds the token as valid.
    for (const url of [a.url, b.url]) {
      expectUnauthenticated(await request(`${url}/api/v1/agents/${agent.id}/configuration`, { token: agent.token }), 'REST configuration');
      expectUnauthenticated(await readConfig(url, agent), 'GraphQL configuration');
      expectUnauthenticated(await registerRest(url, agent.token, { name: `token-${counter}` }), 're-registration');
    }
  });
});

describe('a valid agent token', () => {
  it('heartbeats and reads its configuration over GraphQL', async () => {
    const agent = await newAgent();
    const beat = await graphql(a.url, agent.token, 'mutation($id: ID!) { heartbeat(input: { agentId: $id }) { status } }', { id: agent.id });
    expect(beat.body).toEqual({ data: { heartbeat: { status: 'ONLINE' } } });
    expect((await readConfig(a.url, agent)).body).toEqual({ data: { agentConfiguration: { revision: 0 } } });
  });
});
