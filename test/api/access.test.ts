import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { listAgents, onlyError, rawRequest, registerRest } from '../helpers/agents';
import { onPostgres } from '../helpers/database';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
/** Two agents with their own tokens: `mine` is the one a token acts for, `other` is not. */
let mine: { id: string; token: string };
let other: { id: string; token: string };

beforeAll(async () => {
  server = await startTestServer();
  const a = await registerRest(server.url, server.enrollmentToken, { name: 'access-mine' });
  const b = await registerRest(server.url, server.enrollmentToken, { name: 'access-other' });
  mine = { id: a.body.id, token: a.body.token };
  other = { id: b.body.id, token: b.body.token };
});
afterAll(() => server?.close());

type Who = 'nobody' | 'admin' | 'viewer' | 'enrollment' | 'agent';
const tokenOf = (who: Who): string | undefined =>
  ({ nobody: undefined, admin: server.adminToken, viewer: server.viewerToken, enrollment: server.enrollmentToken, agent: mine.token })[who];
const CODE_OF_STATUS: Record<number, string> = { 401: 'UNAUTHENTICATED', 403: 'FORBIDDEN' };
const agentCount = async () => (await listAgents(server.url, server.adminToken, '?limit=1000')).length;

describe('REST answers each kind of token as its role allows', () => {
  // [who, method, path (with :mine / :other), expected status]
  const MATRIX: [Who, string, string, number][] = [
    ['nobody', 'GET', '/api/v1/agents/', 401],
    ['admin', 'GET', '/api/v1/agents/', 200],
    ['viewer', 'GET', '/api/v1/agents/', 200],
    ['enrollment', 'GET', '/api/v1/agents/', 403],
    ['agent', 'GET', '/api/v1/agents/', 403],
    ['nobody', 'GET', '/api/v1/agents/:mine', 401],
    ['viewer', 'GET', '/api/v1/agents/:mine', 200],
    ['enrollment', 'GET', '/api/v1/agents/:mine', 403],
    ['agent', 'GET', '/api/v1/agents/:mine', 403],
    ['nobody', 'GET', '/api/v1/agents/:mine/configuration', 401],
    ['agent', 'GET', '/api/v1/agents/:mine/configuration', 200],
    ['agent', 'GET', '/api/v1/agents/:other/configuration', 403],
    ['admin', 'GET', '/api/v1/agents/:mine/configuration', 200],
    ['viewer', 'GET', '/api/v1/agents/:mine/configuration', 200],
    ['enrollment', 'GET', '/api/v1/agents/:mine/configuration', 403],
    ['nobody', 'DELETE', '/api/v1/agents/:mine', 401],
    ['viewer', 'DELETE', '/api/v1/agents/:mine', 403],
    ['enrollment', 'DELETE', '/api/v1/agents/:mine', 403],
    ['agent', 'DELETE', '/api/v1/agents/:mine', 403],
  ];
  for (const [who, method, path, status] of MATRIX) {
    it(`answers ${status} to ${who} for ${method} ${path}`, async () => {
      const url = server.url + path.replace(':mine', mine.id).replace(':other', other.id);
      const res = await request(url, { method, token: tokenOf(who) });
      expect(res.status).toBe(status);
      if (status >= 400) {
        expect(res.body.error.code).toBe(CODE_OF_STATUS[status]);
        expect(typeof res.body.error.message).toBe('string');
      }
    });
  }

  it('lets only the enrollment and admin tokens register: no token 401, viewer and agent 403, and nothing is written', async () => {
    const before = await agentCount();
    for (const [who, status] of [['nobody', 401], ['viewer', 403], ['agent', 403]] as const) {
      const res = await registerRest(server.url, tokenOf(who), { name: `refused-${who}` });
      expect(res.status, who).toBe(status);
      expect(res.body.error.code).toBe(CODE_OF_STATUS[status]);
    }
    expect(await agentCount()).toBe(before);
    expect((await registerRest(server.url, server.enrollmentToken, { name: 'allowed-enrollment' })).status).toBe(201);
    expect((await registerRest(server.url, server.adminToken, { name: 'allowed-admin' })).status).toBe(201);
  });

  it('refuses an Authorization header that is not "Bearer <token>" with 401', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer  ', server.adminToken, `Bearer ${server.adminToken} extra`]) {
      const res = await request(`${server.url}/api/v1/agents/`, { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses a token the server never issued, including a forged agent token, with 401, and reveals no agent', async () => {
    const forged = `am_agent_${mine.id.replaceAll('-', '')}_${'A'.repeat(43)}`;
    for (const token of ['not-a-token-at-all', 'am_admin_guess', forged]) {
      const list = await request(`${server.url}/api/v1/agents/`, { token });
      expect(list.status, token).toBe(401);
      expect(list.body.error.code).toBe('UNAUTHENTICATED');
      expect(list.body.agents).toBeUndefined();
    }
    const config = await request(`${server.url}/api/v1/agents/${mine.id}/configuration`, { token: forged });
    expect(config.status).toBe(401);
    expect(config.body.configuration).toBeUndefined();
  });

  it('accepts the bearer scheme in any letter case, as RFC 6750 allows', async () => {
    const res = await request(`${server.url}/api/v1/agents/`, { headers: { authorization: `bearer ${server.viewerToken}` } });
    expect(res.status).toBe(200);
  });
});

describe('GraphQL answers each kind of token as its role allows', () => {
  const READS = ['{ agents { totalCount } }', `{ agent(id: "${'00000000-0000-4000-8000-000000000000'}") { id } }`, '{ agentStatusCounts { total } }', '{ agentFacets { types } }'];

  it('refuses a request without a token with HTTP 401 and runs nothing', async () => {
    const before = await agentCount();
    const res = await graphql(server.url, undefined, 'mutation { registerAgent(input: { name: "no-token", type: "t", host: "h", port: 1 }) { token } }');
    expect(res.status).toBe(401);
    expect(await agentCount()).toBe(before);
    const get = await request(`${server.url}/graphql?query=${encodeURIComponent('{ viewer { role } }')}`);
    expect(get.status).toBe(401);
  });

  it('answers a request without a token as GraphQL: errors[0].extensions.code is UNAUTHENTICATED', async () => {
    const res = await graphql(server.url, undefined, '{ viewer { role } }');
    expect(res.status).toBe(401);
    expect(onlyError(res).extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token the server never issued, or a malformed Authorization header, as GraphQL errors', async () => {
    const unknown = await graphql(server.url, 'not-a-token-at-all', '{ agents { totalCount } }');
    expect(unknown.status).toBe(401);
    expect(onlyError(unknown).extensions?.code).toBe('UNAUTHENTICATED');
    const malformed = await request(`${server.url}/graphql`, { headers: { authorization: 'Basic dXNlcjpwYXNz' }, json: { query: '{ viewer { role } }' } });
    expect(malformed.status).toBe(401);
    expect(onlyError(malformed).extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses every fleet read to the enrollment token with 403 FORBIDDEN', async () => {
    for (const query of READS) {
      const res = await graphql(server.url, server.enrollmentToken, query);
      expect(res.status, query).toBe(403);
      expect(onlyError(res).extensions?.code).toBe('FORBIDDEN');
      // A nullable field answers null beside its error; nothing of the fleet leaks.
      expect(Object.values(res.body.data ?? {}).every((v) => v === null)).toBe(true);
    }
  });

  it('refuses every fleet read to an agent token with 403 FORBIDDEN', async () => {
    for (const query of READS) {
      const res = await graphql(server.url, mine.token, query);
      expect(res.status, query).toBe(403);
      expect(onlyError(res).extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('lets the viewer read but refuses each of its mutations with 403 FORBIDDEN, writing nothing', async () => {
    for (const query of READS) {
      const res = await graphql(server.url, server.viewerToken, query);
      expect(res.status, query).toBe(200);
      expect(res.body.errors).toBeUndefined();
    }
    const before = await request(`${server.url}/api/v1/agents/${mine.id}`, { token: server.adminToken });
    const MUTATIONS = [
      `mutation { setAgentTags(agentId: "${mine.id}", tags: ["x"]) { id } }`,
      `mutation { addAgentTags(agentId: "${mine.id}", tags: ["x"]) { id } }`,
      `mutation { removeAgentTags(agentId: "${mine.id}", tags: ["x"]) { id } }`,
      `mutation { setAgentConfiguration(agentId: "${mine.id}", key: "k", value: 1) { id } }`,
      `mutation { deleteAgentConfiguration(agentId: "${mine.id}", key: "k") { id } }`,
      `mutation { deregisterAgent(id: "${mine.id}") { id } }`,
      'mutation { registerAgent(input: { name: "by-viewer", type: "t", host: "h", port: 1 }) { token } }',
    ];
    for (const mutation of MUTATIONS) {
      const res = await graphql(server.url, server.viewerToken, mutation);
      expect(res.status, mutation).toBe(403);
      expect(onlyError(res).extensions?.code).toBe('FORBIDDEN');
    }
    const after = await request(`${server.url}/api/v1/agents/${mine.id}`, { token: server.adminToken });
    expect(after.body).toEqual(before.body);
    expect((await listAgents(server.url, server.adminToken, '?limit=1000')).map((a) => a.name)).not.toContain('by-viewer');
  });

  it('refuses management mutations to the enrollment token and to an agent token, even for its own agent', async () => {
    for (const token of [server.enrollmentToken, mine.token]) {
      const res = await graphql(server.url, token, `mutation { setAgentConfiguration(agentId: "${mine.id}", key: "k", value: 1) { id } }`);
      expect(res.status).toBe(403);
      expect(onlyError(res).extensions?.code).toBe('FORBIDDEN');
    }
    const config = await request(`${server.url}/api/v1/agents/${mine.id}/configuration`, { token: mine.token });
    expect(config.body.configuration_revision).toBe(0);
  });

  it('lets the enrollment token register through GraphQL, and nothing else', async () => {
    const res = await graphql(server.url, server.enrollmentToken, 'mutation { registerAgent(input: { name: "gql-enrolled", type: "t", host: "h", port: 1 }) { created } }');
    expect(res.status).toBe(200);
    expect(res.body.data.registerAgent.created).toBe(true);
  });
});

describe('doors that need no token', () => {
  it('answers /health without a token, naming the database in use', async () => {
    const res = await request(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: onPostgres() ? 'postgres' : 'pglite' });
  });

  it('routes a request target in absolute form ("GET http://host/path?query") like its path', async () => {
    const { hostname, port } = new URL(server.url);
    const get = (path: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        http
          .get({ hostname, port, path, headers: { authorization: `Bearer ${server.viewerToken}` } }, (res) => {
            let text = '';
            res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
          })
          .on('error', reject);
      });
    expect(await get(`${server.url}/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    const listed = await get(`${server.url}/api/v1/agents?limit=1`);
    expect(listed.status).toBe(200);
    expect(listed.body.limit).toBe(1);
  });

  it('redirects / to /dashboard/', async () => {
    const res = await fetch(`${server.url}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/dashboard/');
  });

  it('serves the dashboard page and every asset it references without a token', async () => {
    const page = await fetch(`${server.url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toMatch(/<title>Agent Monitor/i);
    for (const [, asset] of html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)) {
      const res = await fetch(server.url + asset);
      expect(res.status, asset).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
    }
  });

  it('answers a client-side dashboard route with the page itself, so a reload works', async () => {
    const res = await fetch(`${server.url}/dashboard/agents/some-id`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('serves nothing outside the dashboard folder, however the path is encoded', async () => {
    for (const path of ['/dashboard/..%2F..%2Fpackage.json', '/dashboard/..%2f..%2fapi%2fconfig.ts', '/dashboard/%2e%2e%2f%2e%2e%2f.gitignore']) {
      const res = await rawRequest(server.url, { method: 'GET', path });
      expect(res.status, path).toBe(404);
      expect(String(res.body)).not.toContain('agent-monitor');
    }
  });

  it('serves GraphiQL at GET /graphql to a browser without a token', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('Agent Monitor GraphQL');
    expect(html.toLowerCase()).toContain('graphiql');
  });

  it('still asks for a token when a browser sends a query in the GraphiQL URL', async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ agents { totalCount } }')}`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(401);
  });
});
