import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request, SEED_AGENT } from '../helpers/client';
import { onlyError, rawRequest, registerRest } from '../helpers/agents';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let agentId: string;

beforeAll(async () => {
  server = await startTestServer();
  agentId = (await registerRest(server.url, server.enrollmentToken, { name: 'edges-agent' })).body.id;
});
afterAll(() => server?.close());

const keyNames = async (): Promise<string[]> =>
  (await graphql(server.url, server.adminToken, '{ apiKeys { name } }')).body.data.apiKeys.map((k: { name: string }) => k.name).sort();

/** A GraphQL refusal: HTTP 400, BAD_USER_INPUT, and exactly `field` at fault, its message matching `message`. */
function expectFieldRefusal(res: Awaited<ReturnType<typeof graphql>>, field: string, message: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  const error = onlyError(res);
  expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  expect(Object.keys(error.extensions?.fields ?? {})).toEqual([field]);
  expect(error.extensions?.fields?.[field]).toMatch(message);
  expect(error.message).toContain(field);
}

describe('GET /graphql with parameters that are not JSON', () => {
  const get = (params: Record<string, string>) =>
    request(`${server.url}/graphql?${new URLSearchParams({ query: '{ viewer { role } }', ...params })}`, { token: server.viewerToken, headers: { accept: 'application/json' } });

  for (const name of ['variables', 'extensions']) {
    it(`answers ${name}={bad with 400 naming the ${name} parameter, not a 500`, async () => {
      const res = await get({ [name]: '{bad' });
      expectFieldRefusal(res, name, /JSON/);
      expect(res.body.data).toBeUndefined();
    });
  }

  it('refuses the same in a form-encoded POST body', async () => {
    const body = new URLSearchParams({ query: '{ viewer { role } }', variables: '{bad' }).toString();
    const res = await request(`${server.url}/graphql`, { token: server.viewerToken, body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } });
    expectFieldRefusal(res, 'variables', /JSON/);
  });

  it('checks GET variables as it checks POST ones: a lone surrogate is refused at its path', async () => {
    const res = await request(
      `${server.url}/graphql?${new URLSearchParams({ query: 'query($id: ID!) { agent(id: $id) { id } }', variables: '{"id":"\\ud800"}' })}`,
      { token: server.viewerToken, headers: { accept: 'application/json' } },
    );
    expectFieldRefusal(res, 'id', /surrogate/);
  });

  it('still answers well-formed variables and extensions', async () => {
    const res = await get({ variables: '{}', extensions: '{}' });
    expect(res.status).toBe(200);
    expect(res.body.data.viewer.role).toBe('VIEWER');
  });
});

describe('DateTime beyond year 9999', () => {
  const FAR = '+010000-01-01T00:00:00.000Z';
  const createKey = (name: string, expiresAt: string) =>
    graphql(server.url, server.adminToken, 'mutation($name: String!, $expiresAt: DateTime) { createApiKey(input: { name: $name, role: VIEWER, expiresAt: $expiresAt }) { secret key { id } } }', { name, expiresAt });

  it('refuses createApiKey expiresAt in year 10000 with 400 naming the field, writing nothing', async () => {
    const before = await keyNames();
    expectFieldRefusal(await createKey('far-future', FAR), 'expiresAt', /9999/);
    expectFieldRefusal(await createKey('far-future', '+275760-09-13T00:00:00.000Z'), 'expiresAt', /9999/);
    expect(await keyNames()).toEqual(before);
  });

  it('refuses the same written as a literal in the document', async () => {
    const res = await graphql(server.url, server.adminToken, `mutation { createApiKey(input: { name: "k", role: VIEWER, expiresAt: "${FAR}" }) { secret } }`);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(onlyError(res).message).toMatch(/9999/);
  });

  it('accepts the last instant of year 9999', async () => {
    const res = await createKey('end-of-9999', '9999-12-31T23:59:59.999Z');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('refuses rotateApiKey expiresAt in year 10000', async () => {
    const id = (await createKey('to-rotate', '2999-01-01T00:00:00.000Z')).body.data.createApiKey.key.id;
    const res = await graphql(server.url, server.adminToken, 'mutation($id: ID!, $expiresAt: DateTime) { rotateApiKey(id: $id, expiresAt: $expiresAt) { secret } }', { id, expiresAt: FAR });
    expectFieldRefusal(res, 'expiresAt', /9999/);
  });

  it('refuses createSilence endsAt in year 10000 on a recurring window', async () => {
    const res = await graphql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id } }', {
      i: { matchers: [{ name: 'agent', value: 'x' }], comment: 'far', endsAt: FAR, schedule: { days: [1], start: '01:00', end: '02:00' } },
    });
    expectFieldRefusal(res, 'i.endsAt', /9999/);
  });
});

describe('POST /graphql with a body or Accept it cannot serve', () => {
  const QUERY = '{ viewer { role } }';

  const postWith = (headers: Record<string, string>) =>
    rawRequest(server.url, { path: '/graphql', headers: { authorization: `Bearer ${server.viewerToken}`, ...headers }, body: Buffer.from(JSON.stringify({ query: QUERY })) });

  for (const [what, headers, got] of [
    ['text/plain', { 'content-type': 'text/plain' }, 'Content-Type text/plain'],
    ['no Content-Type', {}, 'no Content-Type'],
  ] as [string, Record<string, string>, string][]) {
    it(`answers ${what} with 415 and a JSON body saying what to send`, async () => {
      const res = await postWith(headers);
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toMatch(/json/);
      expect(res.body.errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(res.body.errors[0].message).toMatch(/send the query as application\/json/);
      expect(res.body.errors[0].message).toContain(got);
    });
  }

  it('answers Accept: application/xml with 406 and a JSON body naming what to accept, running nothing', async () => {
    const before = await keyNames();
    const res = await request(`${server.url}/graphql`, {
      token: server.adminToken,
      json: { query: 'mutation { createApiKey(input: { name: "via-xml", role: VIEWER }) { secret } }' },
      headers: { accept: 'application/xml' },
    });
    expect(res.status).toBe(406);
    expect(res.headers.get('content-type')).toMatch(/json/);
    expect(res.body.errors[0].extensions.code).toBe('NOT_ACCEPTABLE');
    expect(res.body.errors[0].message).toMatch(/application\/json/);
    expect(res.body.errors[0].message).toMatch(/application\/graphql-response\+json/);
    expect(await keyNames()).toEqual(before);
  });

  it('answers a subscription asked for as plain JSON with 406 and a JSON body naming text/event-stream', async () => {
    const res = await request(`${server.url}/graphql`, { token: server.viewerToken, json: { query: 'subscription { agentEvents { cursor } }' }, headers: { accept: 'application/json' } });
    expect(res.status).toBe(406);
    expect(res.body.errors[0].extensions.code).toBe('NOT_ACCEPTABLE');
    expect(res.body.errors[0].message).toMatch(/text\/event-stream/);
  });

  it('still serves the usual Accept headers', async () => {
    for (const accept of ['application/json', 'application/graphql-response+json', '*/*', 'application/*', 'text/html, application/json;q=0.9']) {
      const res = await request(`${server.url}/graphql`, { token: server.viewerToken, json: { query: QUERY }, headers: { accept } });
      expect(res.status, accept).toBe(200);
    }
  });
});

describe('numbers JSON cannot hold', () => {
  it('refuses 1e400 in registration metadata with 400 naming its path, writing nothing', async () => {
    const body = JSON.stringify({ ...SEED_AGENT, name: 'infinite-metadata', metadata: { a: 0 } }).replace('"a":0', '"a":1e400');
    const res = await request(`${server.url}/api/v1/agents/register`, { token: server.enrollmentToken, body, headers: { 'content-type': 'application/json' } });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('BAD_USER_INPUT');
    expect(res.body.error.fields).toEqual({ 'metadata.a': 'must be a finite number' });
    expect(res.body.error.message).toContain('metadata.a: must be a finite number');
    const list = await request(`${server.url}/api/v1/agents/?limit=1000`, { token: server.adminToken });
    expect(list.body.agents.map((a: { name: string }) => a.name)).not.toContain('infinite-metadata');
  });

  it('names nested paths: metadata.list.1.b', async () => {
    const body = JSON.stringify({ ...SEED_AGENT, name: 'infinite-nested', metadata: { list: [1, { b: 0 }] } }).replace('"b":0', '"b":-1e999');
    const res = await request(`${server.url}/api/v1/agents/register`, { token: server.enrollmentToken, body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toEqual({ 'metadata.list.1.b': 'must be a finite number' });
  });

  it('refuses setAgentConfiguration(value: 1e400), as a literal or in a variable, writing nothing', async () => {
    const literal = await graphql(server.url, server.adminToken, `mutation { setAgentConfiguration(agentId: "${agentId}", key: "k", value: 1e400) { configurationRevision } }`);
    expectFieldRefusal(literal, 'value', /finite/);
    const nested = await graphql(server.url, server.adminToken, `mutation { setAgentConfiguration(agentId: "${agentId}", key: "k", value: { a: [1e400] }) { configurationRevision } }`);
    expectFieldRefusal(nested, 'value.a.0', /finite/);
    const body = `{"query":"mutation($v: JSON!) { setAgentConfiguration(agentId: \\"${agentId}\\", key: \\"k\\", value: $v) { configurationRevision } }","variables":{"v":{"x":1e400}}}`;
    const variable = await request(`${server.url}/graphql`, { token: server.adminToken, body, headers: { 'content-type': 'application/json' } });
    expectFieldRefusal(variable, 'value.x', /finite/);
    const agent = await request(`${server.url}/api/v1/agents/${agentId}/configuration`, { token: server.adminToken });
    expect(agent.status).toBe(200);
    expect(JSON.stringify(agent.body)).not.toContain('"k"');
  });
});
