import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request, SEED_AGENT } from '../helpers/client';
import { listAgents, onlyError, rawRequest, REGISTER_MUTATION, registerGraphQL, registerRest } from '../helpers/agents';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
// A clock that can be made to fail, to see how an unexpected error leaves the server.
let clockFails = false;
const SECRET = 'internal-detail-7f3a';
const clock = {
  now: () => {
    if (clockFails) throw new Error(`clock exploded: ${SECRET}`);
    return new Date();
  },
};

beforeAll(async () => {
  server = await startTestServer({ clock });
});
afterAll(() => server?.close());

const MiB = 1024 * 1024;
const agentNames = async () => (await listAgents(server.url, server.adminToken, '?limit=1000')).map((a) => a.name).sort();

/** Runs `attempt` and proves the set of agents is the same afterwards. */
async function writesNothing(attempt: () => Promise<void>) {
  const before = await agentNames();
  await attempt();
  expect(await agentNames()).toEqual(before);
}

const postRaw = (body: string, token = server.enrollmentToken) =>
  request(`${server.url}/api/v1/agents/register`, { token, body, headers: { 'content-type': 'application/json' } });

/** A REST registration that must fail with 400 BAD_USER_INPUT naming exactly `fields`. */
async function expectRestRefusal(overrides: Record<string, unknown>, fields: string[]) {
  const res = await registerRest(server.url, server.enrollmentToken, overrides);
  expect(res.status, JSON.stringify(overrides).slice(0, 80)).toBe(400);
  expect(res.body.error.code).toBe('BAD_USER_INPUT');
  expect(Object.keys(res.body.error.fields).sort()).toEqual([...fields].sort());
  for (const field of fields) expect(res.body.error.message).toContain(field);
}

/** The same through GraphQL: HTTP 400, extensions.code BAD_USER_INPUT and the fields at fault. */
async function expectGraphQLRefusal(overrides: Record<string, unknown>, fields: string[]) {
  const res = await registerGraphQL(server.url, server.enrollmentToken, { ...SEED_AGENT, ...overrides });
  expect(res.status, JSON.stringify(overrides).slice(0, 80)).toBe(400);
  const error = onlyError(res);
  expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  expect(Object.keys(error.extensions?.fields ?? {}).sort()).toEqual([...fields].sort());
  expect(error.path).toEqual(['registerAgent']);
}

describe('REST registration refuses bad bodies and writes nothing', () => {
  it('answers 400 BAD_REQUEST to a body that is not JSON, or not a JSON object', async () => {
    await writesNothing(async () => {
      for (const body of ['{"name": "Web', 'name=web', '', '[]', '"agent"', 'null', '42', `${JSON.stringify(SEED_AGENT)} trailing`]) {
        const res = await postRaw(body);
        expect(res.status, body).toBe(400);
        expect(res.body.error.code).toBe('BAD_REQUEST');
        expect(typeof res.body.error.message).toBe('string');
      }
    });
  });

  it('names every missing field at once', async () => {
    await writesNothing(async () => {
      const res = await postRaw('{}');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'BAD_USER_INPUT',
        fields: { name: 'is required', type: 'is required', host: 'is required', port: 'is required' },
      });
    });
  });

  it('names every field at fault in one answer', async () => {
    await writesNothing(() => expectRestRefusal({ name: '', host: 'h'.repeat(256), port: 0, metadata: [] }, ['name', 'host', 'port', 'metadata']));
  });

  it('refuses a name, type or host of the wrong type or blank', async () => {
    await writesNothing(async () => {
      await expectRestRefusal({ name: 42 }, ['name']);
      await expectRestRefusal({ name: '   ' }, ['name']);
      await expectRestRefusal({ type: ['api_agent'] }, ['type']);
      await expectRestRefusal({ host: { name: 'web' } }, ['host']);
    });
  });

  it('refuses a name or host longer than 255 characters, and accepts exactly 255', async () => {
    await writesNothing(async () => {
      await expectRestRefusal({ name: 'n'.repeat(256) }, ['name']);
      await expectRestRefusal({ host: 'h'.repeat(256) }, ['host']);
      await expectRestRefusal({ type: 't'.repeat(65) }, ['type']);
      await expectRestRefusal({ environment: 'e'.repeat(65) }, ['environment']);
    });
    const longest = await registerRest(server.url, server.enrollmentToken, { name: 'n'.repeat(255), host: 'h'.repeat(255) });
    expect(longest.status).toBe(201);
  });

  it('counts characters as the database does: 255 emoji (510 UTF-16 units) fit in a name, 256 do not', async () => {
    await writesNothing(() => expectRestRefusal({ name: '🛰'.repeat(256) }, ['name']));
    const res = await registerRest(server.url, server.enrollmentToken, { name: '🛰'.repeat(255) });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('🛰'.repeat(255));
    const read = await request(`${server.url}/api/v1/agents/${res.body.id}`, { token: server.viewerToken });
    expect(read.body.name).toBe('🛰'.repeat(255));
  });

  it('refuses a port outside 1-65535 or not an integer (0, 65536, -1, 1.5, "80", null, true), and accepts 1 and 65535', async () => {
    await writesNothing(async () => {
      for (const port of [0, 65536, -1, 1.5, '80', null, true]) await expectRestRefusal({ port }, ['port']);
    });
    for (const port of [1, 65535]) {
      expect((await registerRest(server.url, server.enrollmentToken, { name: `port-edge-${port}`, port })).status).toBe(201);
    }
  });

  it('refuses metadata that is not a JSON object (array, string, number, boolean)', async () => {
    await writesNothing(async () => {
      for (const metadata of [['region'], 'us-east-1', 7, true]) await expectRestRefusal({ metadata }, ['metadata']);
    });
  });

  it('refuses metadata over 16 KiB serialized, and accepts exactly 16 KiB', async () => {
    const sized = (bytes: number) => ({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) });
    expect(JSON.stringify(sized(16 * 1024)).length).toBe(16 * 1024);
    await writesNothing(() => expectRestRefusal({ metadata: sized(16 * 1024 + 1) }, ['metadata']));
    expect((await registerRest(server.url, server.enrollmentToken, { name: 'metadata-16k', metadata: sized(16 * 1024) })).status).toBe(201);
  });

  it('refuses metadata nested deeper than the database can parse, with 400 instead of a crash', async () => {
    let deep = '1';
    for (let i = 0; i < 5000; i++) deep = `[${deep}]`;
    await writesNothing(async () => {
      const res = await postRaw(`{"name":"too-deep","type":"t","host":"h","port":1,"metadata":{"a":${deep}}}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'BAD_USER_INPUT', fields: { metadata: expect.stringMatching(/deeper/) } });
    });
  });

  it('refuses a NUL character in any string field, metadata key or metadata value', async () => {
    await writesNothing(async () => {
      await expectRestRefusal({ name: 'web\u0000alpha' }, ['name']);
      await expectRestRefusal({ host: 'web-01\u0000' }, ['host']);
      await expectRestRefusal({ type: '\u0000api' }, ['type']);
      await expectRestRefusal({ environment: 'prod\u0000' }, ['environment']);
      await expectRestRefusal({ metadata: { 're\u0000gion': 'us-east-1' } }, ['metadata']);
      await expectRestRefusal({ metadata: { region: 'us\u0000east' } }, ['metadata']);
      await expectRestRefusal({ metadata: { nested: { list: ['ok', { deeper: 'bad\u0000' }] } } }, ['metadata']);
      await expectRestRefusal({ tags: ['ok', 'b\u0000d'] }, ['tags.1']);
    });
  });

  it('accepts the six characters \\u0000 written as text, which are not a NUL', async () => {
    const res = await registerRest(server.url, server.enrollmentToken, { name: 'escaped-text', metadata: { note: '\\u0000 is how JSON writes NUL' } });
    expect(res.status).toBe(201);
    expect(res.body.metadata).toEqual({ note: '\\u0000 is how JSON writes NUL' });
  });

  it('refuses a heartbeat interval outside 1-3600 seconds', async () => {
    await writesNothing(async () => {
      await expectRestRefusal({ heartbeat_interval_seconds: 0 }, ['heartbeat_interval_seconds']);
      await expectRestRefusal({ heartbeat_interval_seconds: 3601 }, ['heartbeat_interval_seconds']);
      // Both spellings are checked: a null camelCase one does not hide a bad snake_case one.
      await expectRestRefusal({ heartbeatIntervalSeconds: null, heartbeat_interval_seconds: 5000 }, ['heartbeat_interval_seconds']);
      await expectRestRefusal({ heartbeatIntervalSeconds: 5000, heartbeat_interval_seconds: 30 }, ['heartbeatIntervalSeconds']);
      await expectRestRefusal({ heartbeatIntervalSeconds: 20, heartbeat_interval_seconds: 30 }, ['heartbeat_interval_seconds']);
    });
  });
});

describe('GraphQL registration refuses bad input the same way and writes nothing', () => {
  it('answers BAD_USER_INPUT with the fields at fault for a long name or host and a port out of range', async () => {
    await writesNothing(async () => {
      await expectGraphQLRefusal({ name: 'n'.repeat(256) }, ['name']);
      await expectGraphQLRefusal({ host: 'h'.repeat(256) }, ['host']);
      await expectGraphQLRefusal({ port: 0 }, ['port']);
      await expectGraphQLRefusal({ port: 65536 }, ['port']);
      await expectGraphQLRefusal({ name: '', port: -1 }, ['name', 'port']);
    });
  });

  it('answers BAD_USER_INPUT for metadata that is not an object or is over 16 KiB', async () => {
    await writesNothing(async () => {
      await expectGraphQLRefusal({ metadata: ['region'] }, ['metadata']);
      await expectGraphQLRefusal({ metadata: 'us-east-1' }, ['metadata']);
      await expectGraphQLRefusal({ metadata: { pad: 'x'.repeat(16 * 1024) } }, ['metadata']);
    });
  });

  it('answers BAD_USER_INPUT for a NUL in the name, a metadata key or a metadata value', async () => {
    await writesNothing(async () => {
      await expectGraphQLRefusal({ name: 'web\u0000alpha' }, ['name']);
      await expectGraphQLRefusal({ metadata: { 're\u0000gion': 'x' } }, ['metadata']);
      await expectGraphQLRefusal({ metadata: { region: ['us\u0000east'] } }, ['metadata']);
    });
  });

  it('answers BAD_USER_INPUT for a NUL written as \\u0000 inside the query text itself', async () => {
    await writesNothing(async () => {
      const res = await graphql(
        server.url,
        server.enrollmentToken,
        'mutation { registerAgent(input: { name: "in\\u0000line", type: "t", host: "h", port: 1, metadata: { k: "v\\u0000" } }) { token } }',
      );
      expect(res.status).toBe(400);
      expect(onlyError(res).extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { name: expect.any(String), metadata: expect.any(String) } });
    });
  });

  it('refuses a port of 1.5 or "80" before any resolver runs, writing nothing', async () => {
    await writesNothing(async () => {
      for (const port of [1.5, '80']) {
        const res = await registerGraphQL(server.url, server.enrollmentToken, { ...SEED_AGENT, name: 'bad-port-type', port });
        expect(res.body.errors).toHaveLength(1);
        expect(res.body.data ?? null).toBeNull();
      }
    });
  });

  it('answers a port of 1.5 or "80" with HTTP 400, BAD_USER_INPUT and the field in the message', async () => {
    for (const port of [1.5, '80']) {
      const res = await registerGraphQL(server.url, server.enrollmentToken, { ...SEED_AGENT, name: 'bad-port-type', port });
      expect(res.status).toBe(400);
      const error = onlyError(res);
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain('input.port');
    }
  });

  it('answers a document missing required input fields with 400 GRAPHQL_VALIDATION_FAILED to a GraphQL-over-HTTP client', async () => {
    await writesNothing(async () => {
      const res = await request(`${server.url}/graphql`, {
        token: server.enrollmentToken,
        headers: { accept: 'application/graphql-response+json' },
        json: { query: 'mutation { registerAgent(input: { name: "incomplete" }) { token } }' },
      });
      expect(res.status).toBe(400);
      expect(res.body.errors.length).toBeGreaterThan(0);
      expect(res.body.errors.every((e: { extensions?: { code?: string } }) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    });
  });

  it('answers a body that is not JSON with a 4xx and no data', async () => {
    const res = await request(`${server.url}/graphql`, { token: server.adminToken, body: '{"query": ', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
  });

  it('refuses bad filters in queries with BAD_USER_INPUT naming the filter field', async () => {
    const res = await graphql(server.url, server.viewerToken, '{ agents(filter: { search: "a\\u0000b" }) { totalCount } }');
    expect(res.status).toBe(400);
    expect(onlyError(res).extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { 'filter.search': expect.any(String) } });
  });

  it('answers a malformed cursor or a negative page size with HTTP 400 and BAD_USER_INPUT', async () => {
    for (const args of ['after: "not-a-cursor"', 'before: "not-a-cursor"', 'first: -1', 'last: -1', 'first: 1, last: 1']) {
      // Also when the count is all that is asked: it is no way around the checks.
      for (const selection of ['nodes { id }', 'totalCount', 'pageInfo { hasNextPage }']) {
        const res = await graphql(server.url, server.viewerToken, `{ agents(${args}) { ${selection} } }`);
        expect(res.status, `${args} ${selection}`).toBe(400);
        expect(onlyError(res).extensions?.code).toBe('BAD_USER_INPUT');
      }
    }
  });
});

describe('paths and methods', () => {
  it('answers 404 NOT_FOUND, never 500, to malformed agent ids in paths', async () => {
    const ids = ['not-a-uuid', '123', '00000000-0000-4000-8000-00000000000Z', '%00', '%E0%A4%A', 'x'.repeat(5000), "1'%20or%20'1'='1"];
    for (const id of ids) {
      for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['GET', '/configuration']]) {
        const res = await request(`${server.url}/api/v1/agents/${id}${suffix}`, { method, token: server.adminToken });
        expect(res.status, `${method} ${id.slice(0, 20)}${suffix}`).toBe(404);
        expect(res.body.error.code).toBe('NOT_FOUND');
      }
    }
  });

  it('answers 404 NOT_FOUND with the REST error shape to unknown paths', async () => {
    for (const path of ['/api/v1/nothing', '/api/v2/agents/', '/api/v1/agents/a/b/c', '/nope', '/graphql/extra']) {
      const res = await request(server.url + path, { token: server.adminToken });
      expect(res.status, path).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
  });

  it('answers 405 METHOD_NOT_ALLOWED, with an Allow header, to a known path asked with another method', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    // "register" also fits the {id} routes, which then answer 404 for it; Allow says so.
    // A GET route answers HEAD too.
    const cases: [string, string, string][] = [
      ['PUT', '/api/v1/agents/register', 'DELETE, GET, HEAD, POST'],
      ['POST', '/api/v1/agents/', 'GET, HEAD'],
      ['PATCH', `/api/v1/agents/${id}`, 'DELETE, GET, HEAD'],
      ['PUT', `/api/v1/agents/${id}/configuration`, 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const res = await request(server.url + path, { method, token: server.adminToken });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.body.error.code).toBe('METHOD_NOT_ALLOWED');
      expect(res.headers.get('allow')).toBe(allow);
    }
  });

  it('answers 405 to GraphQL asked with a method it does not serve', async () => {
    const res = await request(`${server.url}/graphql`, { method: 'PUT', token: server.adminToken, json: { query: '{ viewer { role } }' } });
    expect(res.status).toBe(405);
  });

  it('names the methods GraphQL serves in the Allow header of its 405s', async () => {
    const put = await request(`${server.url}/graphql`, { method: 'PUT', token: server.adminToken, json: { query: '{ viewer { role } }' } });
    expect(put.headers.get('allow')).toBe('GET, POST');
    const mutation = await request(`${server.url}/graphql?query=${encodeURIComponent('mutation { deregisterAgent(id: "x") { id } }')}`, { token: server.adminToken });
    expect(mutation.headers.get('allow')).toBe('POST');
  });

  it('answers 405 to a mutation sent with GET, and runs nothing', async () => {
    await writesNothing(async () => {
      const mutation = 'mutation { registerAgent(input: { name: "via-get", type: "t", host: "h", port: 1 }) { token } }';
      const res = await request(`${server.url}/graphql?query=${encodeURIComponent(mutation)}`, { token: server.adminToken });
      expect(res.status).toBe(405);
      expect(res.body.data ?? null).toBeNull();
    });
  });
});

describe('bodies over 1 MiB', () => {
  // A valid registration padded with whitespace, so that only its size is wrong.
  const padded = (name: string, bytes: number) => {
    const json = JSON.stringify({ ...SEED_AGENT, name });
    return Buffer.from(json + ' '.repeat(bytes - json.length));
  };
  const withToken = (token: string) => ({ 'content-type': 'application/json', authorization: `Bearer ${token}` });

  it('answers 413 to a REST body declared larger than 1 MiB, after only 16 bytes of it were sent, writing nothing', async () => {
    await writesNothing(async () => {
      const res = await rawRequest(server.url, { path: '/api/v1/agents/register', headers: withToken(server.enrollmentToken), body: padded('too-big-declared', 2 * MiB), stopAfter: 16 });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(res.headers.get('connection')).toBe('close');
      expect(res.sent).toBe(16);
    });
  });

  it('answers 413 to a chunked REST body as soon as it passes 1 MiB, before the rest is sent, writing nothing', async () => {
    await writesNothing(async () => {
      // 1 MiB and one 64 KiB chunk more go out; the remaining ~900 KiB never do.
      const res = await rawRequest(server.url, { path: '/api/v1/agents/register', headers: withToken(server.enrollmentToken), body: padded('too-big-chunked', 2 * MiB), chunked: true, stopAfter: MiB + 64 * 1024 });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(res.sent).toBeLessThan(2 * MiB);
    });
  });

  it('accepts a body of exactly 1 MiB', async () => {
    const res = await rawRequest(server.url, { path: '/api/v1/agents/register', headers: withToken(server.enrollmentToken), body: padded('exactly-one-mib', MiB) });
    expect(res.status).toBe(201);
  });

  it('answers 413 to GraphQL bodies over 1 MiB, declared or chunked, before the rest is sent, writing nothing', async () => {
    const query = JSON.stringify({ query: REGISTER_MUTATION, variables: { input: { ...SEED_AGENT, name: 'too-big-graphql' } } });
    const body = Buffer.from(query + ' '.repeat(2 * MiB));
    await writesNothing(async () => {
      for (const chunked of [false, true]) {
        const res = await rawRequest(server.url, { path: '/graphql', headers: withToken(server.enrollmentToken), body, chunked, stopAfter: chunked ? MiB + 64 * 1024 : 16 });
        expect(res.status, chunked ? 'chunked' : 'content-length').toBe(413);
        expect(res.sent).toBeLessThan(2 * MiB);
      }
    });
  });

  it('keeps serving after refusing oversized bodies', async () => {
    const res = await request(`${server.url}/health`);
    expect(res.status).toBe(200);
  });
});

describe('unexpected errors', () => {
  it('answers REST with 500 and a generic message, leaking neither the error nor a stack trace', async () => {
    clockFails = true;
    try {
      const res = await registerRest(server.url, server.enrollmentToken, { name: 'during-failure' });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } });
    } finally {
      clockFails = false;
    }
    expect(await agentNames()).not.toContain('during-failure');
  });

  it('answers GraphQL with a masked INTERNAL_SERVER_ERROR, leaking neither the error nor a stack trace', async () => {
    clockFails = true;
    let text: string;
    try {
      const res = await registerGraphQL(server.url, server.enrollmentToken, { ...SEED_AGENT, name: 'during-failure-graphql' });
      text = JSON.stringify(res.body);
      const error = onlyError(res);
      expect(error.message).toBe('Unexpected error.');
      expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    } finally {
      clockFails = false;
    }
    expect(text).not.toContain(SECRET);
    expect(text).not.toMatch(/clock exploded|\.ts:\d+|at \w+ \(/);
    expect(await agentNames()).not.toContain('during-failure-graphql');
  });

  it('answers a masked GraphQL error with HTTP status 500', async () => {
    clockFails = true;
    try {
      const res = await registerGraphQL(server.url, server.enrollmentToken, { ...SEED_AGENT, name: 'during-failure-status' });
      expect(res.status).toBe(500);
    } finally {
      clockFails = false;
    }
  });
});
