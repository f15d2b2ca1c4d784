import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, rawRequest, registerRest } from '../helpers/agents';
import { graphql, request } from '../helpers/client';
import { OffsetClock, rawWs, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Smaller edges of the public doors: HEAD on REST reads, the reasons a refused WebSocket
 * is given, and bulk-action refusals that say what to fix.
 */
const clock = new OffsetClock();
let server: TestServer;
let agent: { id: string; token: string };
beforeAll(async () => {
  server = await startTestServer({ clock, env: { API_KEY_REFRESH_MS: '200' } });
  const res = await registerRest(server.url, server.enrollmentToken, { name: 'head-agent' });
  expect(res.status).toBe(201);
  agent = { id: res.body.id, token: res.body.token };
});
afterAll(() => server?.close());

const bytes = (text: string) => Buffer.byteLength(text);

describe('HEAD on REST reads', () => {
  it('answers as GET would, with the same status and headers and no body', async () => {
    for (const [path, token] of [
      ['/api/v1/agents/', server.viewerToken],
      [`/api/v1/agents/${agent.id}`, server.viewerToken],
      [`/api/v1/agents/${agent.id}/configuration`, agent.token],
    ] as const) {
      const get = await rawRequest(server.url, { method: 'GET', path, headers: { authorization: `Bearer ${token}` } });
      const head = await rawRequest(server.url, { method: 'HEAD', path, headers: { authorization: `Bearer ${token}` } });
      expect(get.status, path).toBe(200);
      expect(head.status, path).toBe(200);
      expect(head.body, path).toBeUndefined();
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      expect(Number(head.headers.get('content-length'))).toBe(bytes(JSON.stringify(get.body)));
    }
  });

  it('answers HEAD with the refusals GET gets: 401 without a token, 404 for an agent that is not there', async () => {
    expect((await rawRequest(server.url, { method: 'HEAD', path: '/api/v1/agents/' })).status).toBe(401);
    const missing = await rawRequest(server.url, { method: 'HEAD', path: '/api/v1/agents/00000000-0000-4000-8000-000000000000', headers: { authorization: `Bearer ${server.viewerToken}` } });
    expect(missing.status).toBe(404);
    expect(missing.body).toBeUndefined();
  });

  it('names HEAD beside GET in the Allow header of a 405', async () => {
    const res = await request(`${server.url}/api/v1/agents/`, { method: 'PUT', token: server.adminToken });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    // HEAD is no way around a route that has no GET.
    const head = await rawRequest(server.url, { method: 'HEAD', path: `/api/v1/agents/${agent.id}/heartbeat`, headers: { authorization: `Bearer ${agent.token}` } });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('POST');
  });
});

/** Writes a request as given, byte for byte, and reads the answer's status line and body. */
function rawExchange(baseUrl: string, text: string, opts: { halfClose?: boolean } = {}): Promise<{ status: number; body: any; headers: string }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    // Connection: close ends the exchange; `halfClose` also shuts the sending side after the request, as `nc -N` does.
    const socket = net.connect(Number(port), hostname, () => (opts.halfClose ? socket.end(text) : socket.write(text)));
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (got += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, ...rest] = got.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body: body ? JSON.parse(body) : undefined });
    });
  });
}

describe('a request refused before its body has arrived', () => {
  // Declared as 500 000 bytes (more than the 64 KiB a refusal drains), of which a few are sent: the answer must not wait for the rest.
  const partial = (line: string, headers = '') => `${line} HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: application/json\r\nContent-Length: 500000\r\n\r\n{"health":`;
  it.each([
    ['401 on a door that needs a token', () => partial(`POST /api/v1/agents/${agent.id}/heartbeat`), 401],
    ['401 from the GraphQL door for a token it does not know', () => partial('POST /graphql', 'Authorization: Bearer am_nobody\r\n'), 401],
    ['404 where nothing is served', () => partial('POST /api/v1/nowhere', `Authorization: Bearer ${server.viewerToken}\r\n`), 404],
    ['405 for a method the door does not take', () => partial('PUT /health'), 405],
    ['401 on the OTLP door', () => partial('POST /v1/metrics'), 401],
    ['404 for a chunked body, of a length nobody knows', () => `POST /api/v1/nowhere HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.viewerToken}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`, 404],
  ])('%s: answered, then the connection closed rather than the rest of the body read', async (_what, text, status) => {
    let timer: NodeJS.Timeout | undefined;
    const res = await Promise.race([
      rawExchange(server.url, text()),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the connection stayed open, waiting for the rest of the body')), 15_000))),
    ]).finally(() => clearTimeout(timer));
    expect(res.status).toBe(status);
    expect(res.headers.toLowerCase()).toContain('connection: close');
  });

  /** Writes `first` and then GET /health on one connection; returns the statuses answered, in order. */
  async function pipelined(first: string): Promise<string[]> {
    const { hostname, port } = new URL(server.url);
    const got = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => socket.write(`${first}GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    return [...got.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  }

  it.each([
    ['a 400 after reading the whole body', () => `POST /api/v1/agents/${agent.id}/heartbeat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${agent.token}\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"health":"fine"}`, '400'],
    ['a 401 with a small body sent whole', () => `POST /api/v1/agents/${agent.id}/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`, '401'],
    ['a 405 on the OTLP door, without a body', () => 'GET /v1/metrics HTTP/1.1\r\nHost: x\r\n\r\n', '405'],
    ['a 401 on the OTLP door with a small body sent whole', () => 'POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', '401'],
  ])('keeps the connection after %s, for the next request on it', async (_what, first, status) => {
    expect(await pipelined(first())).toEqual([status, '200']);
  });
});

describe('headers a request may give once', () => {
  it.each([
    ['Host', (t: string) => `GET /api/v1/agents/ HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nAuthorization: Bearer ${t}\r\nConnection: close\r\n\r\n`, 'host'],
    ['Authorization', (t: string) => `GET /api/v1/agents/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nauthorization: Bearer someone-else\r\nConnection: close\r\n\r\n`, 'authorization'],
    ['Content-Type', (t: string) => `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/json\r\nCONTENT-TYPE: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{"query":"{"}`, 'content-type'],
  ])('a request with two %s headers is refused with 400 naming it, not served by the first', async (_name, text, header) => {
    const res = await rawExchange(server.url, text(server.viewerToken));
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'BAD_REQUEST', message: `the request has more than one ${header} header; send it once` });
  });

  it('serves a request that gives each once, whatever their case', async () => {
    const res = await rawExchange(server.url, `GET /api/v1/agents/ HTTP/1.1\r\nhOsT: x\r\nAUTHORIZATION: Bearer ${server.viewerToken}\r\nX-Host: y\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
  });
});

describe('a client that half-closes after its request', () => {
  it('still reads the answer of a request served from the database, REST and GraphQL', async () => {
    for (let i = 0; i < 5; i++) {
      const rest = await rawExchange(server.url, `GET /api/v1/agents/${agent.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.viewerToken}\r\nConnection: close\r\n\r\n`, { halfClose: true });
      expect(rest.status).toBe(200);
      expect(rest.body.id).toBe(agent.id);
    }
    const query = JSON.stringify({ query: `{ agent(id: "${agent.id}") { name } }` });
    const gql = await rawExchange(
      server.url,
      `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.viewerToken}\r\nContent-Type: application/json\r\nContent-Length: ${bytes(query)}\r\nConnection: close\r\n\r\n${query}`,
      { halfClose: true },
    );
    expect(gql.status).toBe(200);
    expect(gql.body.data.agent.name).toBe('head-agent');
  });
});

describe('requests after a request on one connection', () => {
  it('answers a request whose connection then sends bytes that are not HTTP, and writes nothing into that answer', async () => {
    const get = `GET /api/v1/agents/${agent.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.viewerToken}\r\n\r\n`;
    for (const after of ['GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n']) {
      // The second case: the first request says Connection: close, so what follows is not read as a request at all.
      const first = after.includes('Bad') ? get : get.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n');
      const res = await rawExchange(server.url, first + after);
      expect(res.status).toBe(200);
      expect(res.headers).not.toContain('HTTP/1.1 400');
      expect(res.body.id).toBe(agent.id);
    }
  });
});

describe('requests with very many headers', () => {
  const many = Array.from({ length: 2100 }, (_, i) => `X-${i}: 1\r\n`).join('');
  it('refuses 500 headers or more with 431, so none past node:http\'s count goes unseen (a second Host)', async () => {
    const res = await rawExchange(server.url, `GET /api/v1/agents/ HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${server.viewerToken}\r\n${many}Host: b\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.body.error.code).toBe('HEADERS_TOO_LARGE');
  });

  it('refuses them with 431 on an upgrade it does not make too, rather than rebuild the request without its Content-Length', async () => {
    const inner = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
    const res = await rawExchange(
      server.url,
      `POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n${many}Content-Length: ${inner.length}\r\n\r\n${inner}`,
    );
    expect(res.status).toBe(431);
    expect(res.headers).not.toContain('404');
  });
});

describe('doors that only serve reads', () => {
  it.each(['/health', '/ready', '/metrics', '/', '/dashboard/', '/dashboard/index.html'])('%s answers POST and DELETE with 405 and Allow: GET, HEAD, and still serves HEAD', async (path) => {
    for (const method of ['POST', 'DELETE']) {
      const res = await rawRequest(server.url, { method, path, headers: { authorization: `Bearer ${server.viewerToken}` }, body: Buffer.from('{}') });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect(res.body.error.message).toBe(`${method} is not allowed on ${path}`);
    }
    const head = await rawRequest(server.url, { method: 'HEAD', path, headers: { authorization: `Bearer ${server.viewerToken}` } });
    expect(head.status, `HEAD ${path}`).toBeLessThan(400);
  });
});

describe('a WebSocket refused with 4403', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['no payload', () => undefined, /send \{"authorization":"Bearer <admin or viewer token>"\}/],
    ['a token the server never issued', () => ({ authorization: 'Bearer not-a-real-token-at-all' }), /the token is not valid/],
    ['a header that is no bearer token', () => ({ authorization: `Basic ${server.adminToken}` }), /Authorization must be "Bearer <token>"/],
    ['the enrollment token', () => ({ authorization: `Bearer ${server.enrollmentToken}` }), /need an admin or viewer token, not an enrollment token/],
    ["an agent's token", () => ({ authorization: `Bearer ${agent.token}` }), /need an admin or viewer token, not an agent token/],
  ];
  for (const [what, payload, reason] of cases) {
    it(`says what is forbidden when connection_init carries ${what}`, async () => {
      const socket = rawWs(server.url, payload());
      const closed = await socket.closed;
      expect(closed.code).toBe(4403);
      expect(closed.reason).toMatch(/^Forbidden: /);
      expect(closed.reason).toMatch(reason);
      expect(bytes(closed.reason)).toBeLessThanOrEqual(123);
    });
  }

  it('names an expired key, and cuts a reason that would pass the 123 bytes a close frame holds', async () => {
    const name = `k-${'é'.repeat(60)}`;
    const created = await graphql(server.url, server.adminToken, 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret key { id } } }', {
      input: { name, role: 'VIEWER', expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() },
    });
    expect(created.body.errors).toBeUndefined();
    const { secret, key } = created.body.data.createApiKey;
    // In force: accepted. Then revoked: the open socket is closed, naming the key.
    const open = rawWs(server.url, { authorization: `Bearer ${secret}` });
    await waitFor(() => open.acked(), { what: 'the socket to be accepted' });
    expect((await graphql(server.url, server.adminToken, 'mutation($id: ID!) { revokeApiKey(id: $id) { state } }', { id: key.id })).body.errors).toBeUndefined();
    const revoked = await open.closed;
    expect(revoked.code).toBe(4403);
    expect(revoked.reason).toMatch(/^Forbidden: the API key "k-é+/);
    expect(bytes(revoked.reason)).toBeLessThanOrEqual(123);
    expect(revoked.reason.endsWith('…')).toBe(true);

    const expiring = await graphql(server.url, server.adminToken, 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', {
      input: { name: 'short-lived', role: 'VIEWER', expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() },
    });
    clock.advance(120_000);
    const late = rawWs(server.url, { authorization: `Bearer ${expiring.body.data.createApiKey.secret}` });
    const closed = await late.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(/^Forbidden: the API key "short-lived" expired at /);
  });
});

describe('bulk-action refusals', () => {
  const ADD = 'mutation($f: AgentFilter!, $tags: [String!]!) { bulkAddAgentTags(filter: $f, tags: $tags) { selected } }';
  const refusal = async (f: Record<string, unknown>) => {
    const res = await graphql(server.url, server.adminToken, ADD, { f, tags: ['x'] });
    expect(res.status).toBe(400);
    const error = onlyError(res);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    return error.extensions?.fields as Record<string, string>;
  };

  it('a filter that selects nothing is told so, without talk of ids it did not give', async () => {
    const fields = await refusal({ environment: 'nowhere' });
    expect(Object.keys(fields)).toEqual(['filter']);
    expect(fields.filter).toMatch(/selects no agent/);
    expect(fields.filter).toMatch(/agentSelectionPreview/);
    expect(fields.filter).not.toMatch(/\bids?\b/);
  });

  it('ids that name no registered agent are told so, with the rest of the filter named', async () => {
    const gone = '00000000-0000-4000-8000-000000000000';
    expect((await refusal({ ids: [gone] })).filter).toMatch(/none of its 1 id names a registered agent/);
    // The agent exists, but not in that environment.
    expect((await refusal({ ids: [agent.id], environment: 'nowhere' })).filter).toMatch(/none of its 1 id names a registered agent that also matches environment/);
  });

  it('an empty id list is not told to leave ids out "for every agent"', async () => {
    const res = await graphql(server.url, server.adminToken, ADD, { f: { ids: [] }, tags: ['x'] });
    const fields = onlyError(res).extensions?.fields as Record<string, string>;
    expect(Object.keys(fields)).toEqual(['filter.ids']);
    expect(fields['filter.ids']).not.toMatch(/every agent/);
    expect(fields['filter.ids']).toMatch(/1 to 10000/);
  });
});
