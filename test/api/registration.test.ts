import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request, SEED_AGENT } from '../helpers/client';
import { listAgents, registerGraphQL, registerRest, UUID_PATTERN } from '../helpers/agents';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const configurationWith = (id: string, token: string) => request(`${server.url}/api/v1/agents/${id}/configuration`, { token });
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('registration through REST', () => {
  it('answers 201 with the stored record and a one-time token for the example agent', async () => {
    const res = await registerRest(server.url, server.enrollmentToken);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Web Server Alpha',
      type: 'api_agent',
      host: 'web-01.company.com',
      port: 8080,
      status: 'online',
      environment: 'production',
      metadata: { region: 'us-east-1', team: 'platform' },
      heartbeat_interval_seconds: 30,
      last_heartbeat: null,
    });
    expect(res.body.id).toMatch(UUID_PATTERN);
    expect(res.body.created_at).toMatch(ISO_INSTANT);
    expect(Math.abs(Date.parse(res.body.created_at) - Date.now())).toBeLessThan(60_000);
    expect(res.body.token).toMatch(/^am_agent_/);
  });

  it('stores what it answered: GET by id returns the same record, without any token', async () => {
    const reg = await registerRest(server.url, server.enrollmentToken, { name: 'stored-check', metadata: { k: [1, { deep: true }] } });
    const { token, ...stored } = reg.body;
    const got = await request(`${server.url}/api/v1/agents/${reg.body.id}`, { token: server.viewerToken });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(stored);
    expect(JSON.stringify(got.body)).not.toContain(token);
    const listed = (await listAgents(server.url, server.viewerToken)).find((a) => a.id === reg.body.id);
    expect(listed).toEqual(stored);
    expect(Object.keys(listed)).not.toContain('token');
  });

  it('gives the new agent a token that reads its own configuration', async () => {
    const reg = await registerRest(server.url, server.enrollmentToken, { name: 'own-config' });
    const res = await configurationWith(reg.body.id, reg.body.token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ configuration_revision: 0, configuration: {}, updated_at: {} });
  });

  it('accepts the admin token for registration as well as the enrollment token', async () => {
    const res = await registerRest(server.url, server.adminToken, { name: 'admin-registered' });
    expect(res.status).toBe(201);
  });

  it('defaults the environment to "default" and takes heartbeat_interval_seconds from the body', async () => {
    const { environment: _omitted, ...withoutEnvironment } = SEED_AGENT;
    const res = await request(`${server.url}/api/v1/agents/register`, {
      token: server.enrollmentToken,
      json: { ...withoutEnvironment, name: 'defaults-check', heartbeat_interval_seconds: 15 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ environment: 'default', heartbeat_interval_seconds: 15 });
  });
});

describe('registration through GraphQL', () => {
  it('registerAgent answers agent, token and created, and REST reads the same UUID', async () => {
    const res = await registerGraphQL(server.url, server.enrollmentToken, { ...SEED_AGENT, name: 'graphql-registered', tags: ['edge', 'critical'] });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const { agent, token, created } = res.body.data.registerAgent;
    expect(created).toBe(true);
    expect(token).toMatch(/^am_agent_/);
    expect(agent).toMatchObject({
      name: 'graphql-registered',
      type: 'api_agent',
      host: 'web-01.company.com',
      port: 8080,
      status: 'ONLINE',
      environment: 'production',
      metadata: { region: 'us-east-1', team: 'platform' },
      tags: ['critical', 'edge'],
      heartbeatIntervalSeconds: 30,
      lastHeartbeat: null,
      configurationRevision: 0,
    });
    expect(agent.id).toMatch(UUID_PATTERN);
    const rest = await request(`${server.url}/api/v1/agents/${agent.id}`, { token: server.adminToken });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ id: agent.id, name: 'graphql-registered', tags: ['critical', 'edge'], created_at: agent.createdAt });
  });

  it('offers no way to read an agent token back: the Agent type has no token field', async () => {
    const res = await graphql(server.url, server.adminToken, '{ __type(name: "Agent") { fields { name } } }');
    const names = res.body.data.__type.fields.map((f: { name: string }) => f.name);
    expect(names).toContain('id');
    expect(names.filter((n: string) => /token/i.test(n))).toEqual([]);
  });
});

describe('registering the same agent again', () => {
  it('keeps the id, answers 200 with updated metadata and a fresh token, and revokes the old token', async () => {
    const identity = { name: 'reregistered', host: 'rr-01.company.com', port: 9000, environment: 'staging' };
    const first = await registerRest(server.url, server.enrollmentToken, { ...identity, metadata: { version: 1 } });
    expect(first.status).toBe(201);
    const second = await registerRest(server.url, server.enrollmentToken, { ...identity, metadata: { version: 2, extra: 'x' } });
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.metadata).toEqual({ version: 2, extra: 'x' });
    expect(second.body.created_at).toBe(first.body.created_at);
    expect(second.body.token).toMatch(/^am_agent_/);
    expect(second.body.token).not.toBe(first.body.token);

    const withOld = await configurationWith(first.body.id, first.body.token);
    expect(withOld.status).toBe(401);
    expect(withOld.body.error.code).toBe('UNAUTHENTICATED');
    expect((await configurationWith(first.body.id, second.body.token)).status).toBe(200);

    const stored = await request(`${server.url}/api/v1/agents/${first.body.id}`, { token: server.viewerToken });
    expect(stored.body.metadata).toEqual({ version: 2, extra: 'x' });
    const rows = (await listAgents(server.url, server.viewerToken)).filter((a) => a.name === identity.name);
    expect(rows.map((a) => a.id)).toEqual([first.body.id]);
  });

  it('treats a registration through GraphQL after one through REST as the same agent (created: false)', async () => {
    const identity = { ...SEED_AGENT, name: 'both-doors' };
    const rest = await registerRest(server.url, server.enrollmentToken, identity);
    const gql = await registerGraphQL(server.url, server.enrollmentToken, { ...identity, metadata: { via: 'graphql' } });
    expect(gql.body.data.registerAgent.created).toBe(false);
    expect(gql.body.data.registerAgent.agent.id).toBe(rest.body.id);
    expect(gql.body.data.registerAgent.agent.metadata).toEqual({ via: 'graphql' });
    expect((await configurationWith(rest.body.id, rest.body.token)).status).toBe(401);
    expect((await configurationWith(rest.body.id, gql.body.data.registerAgent.token)).status).toBe(200);
  });

  it('keeps the tags of an agent that registers again without sending tags', async () => {
    const identity = { ...SEED_AGENT, name: 'tag-keeper' };
    const first = await registerGraphQL(server.url, server.enrollmentToken, { ...identity, tags: ['keep-me'] });
    expect(first.body.data.registerAgent.agent.tags).toEqual(['keep-me']);
    const again = await registerRest(server.url, server.enrollmentToken, identity);
    expect(again.body.tags).toEqual(['keep-me']);
  });

  it('counts name, host, port and environment as the identity: changing any one makes a new agent', async () => {
    const base = { ...SEED_AGENT, name: 'identity-base' };
    const ids = new Set<string>();
    for (const change of [{}, { name: 'identity-other' }, { host: 'other.company.com' }, { port: 8081 }, { environment: 'staging' }]) {
      const res = await registerRest(server.url, server.enrollmentToken, { ...base, ...change });
      expect([200, 201]).toContain(res.status);
      ids.add(res.body.id);
    }
    expect(ids.size).toBe(5);
  });

  it('converges 50 identical concurrent registrations on one row, and only the last token issued stays valid', async () => {
    const identity = { ...SEED_AGENT, name: 'raced', host: 'race-01.company.com' };
    const results = await Promise.all(Array.from({ length: 50 }, () => registerRest(server.url, server.enrollmentToken, identity)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(49);
    const ids = new Set(results.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    expect(new Set(results.map((r) => r.body.token)).size).toBe(50);

    const rows = (await listAgents(server.url, server.viewerToken, '?limit=1000')).filter((a) => a.name === identity.name);
    expect(rows.map((a) => a.id)).toEqual([id]);

    const reads = await Promise.all(results.map((r) => configurationWith(id, r.body.token)));
    expect(reads.filter((r) => r.status === 200)).toHaveLength(1);
    expect(reads.filter((r) => r.status === 401)).toHaveLength(49);
  });

  it('converges 50 identical concurrent GraphQL registrations on one row as well', async () => {
    const identity = { ...SEED_AGENT, name: 'raced-graphql' };
    const results = await Promise.all(Array.from({ length: 50 }, () => registerGraphQL(server.url, server.enrollmentToken, identity)));
    expect(results.every((r) => r.status === 200 && !r.body.errors)).toBe(true);
    const payloads = results.map((r) => r.body.data.registerAgent);
    expect(payloads.filter((p) => p.created)).toHaveLength(1);
    expect(new Set(payloads.map((p) => p.agent.id)).size).toBe(1);
    const count = await graphql(server.url, server.viewerToken, '{ agents(filter: { search: "raced-graphql" }) { totalCount } }');
    expect(count.body.data.agents.totalCount).toBe(1);
  });

  it('registers 50 different agents concurrently, each with its own id', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => registerRest(server.url, server.enrollmentToken, { name: `parallel-${i}`, host: 'parallel.company.com' })),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(50);
    const rows = (await listAgents(server.url, server.viewerToken, '?limit=1000')).filter((a) => a.host === 'parallel.company.com');
    expect(rows).toHaveLength(50);
  });
});
