import { randomBytes, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request, SEED_AGENT } from '../helpers/client';
import { listAgents, rawRequest, registerRest } from '../helpers/agents';
import { rawWs, registerAgent, waitFor, wsUrl, type Agent } from '../helpers/liveness';
import { rawHttp } from '../helpers/raw';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Bad input and abuse through every door: each kind of token against each operation
 * (REST, GraphQL over HTTP, SSE, WebSocket), then malformed bodies, documents and
 * messages. Every case: no 5xx, the process still answers, and a refusal writes nothing.
 * The heavy cases, with /health timed while they run, are in abuse.timing.test.ts.
 */
let server: TestServer;
/** The agent the agent tokens act for; `other` is another agent. */
let mine: Agent;
let other: Agent;
let revokedToken: string;
/** An admin key past its expiry, and one revoked. */
let expiredKey: string;
let revokedKey: string;

beforeAll(async () => {
  server = await startTestServer();
  mine = await registerAgent(server.url, server.enrollmentToken, { name: 'abuse-mine', tags: ['t'] });
  // Heard from, so it is live: only its own token or an admin may register it again.
  expect((await request(`${server.url}/api/v1/agents/${mine.id}/heartbeat`, { token: mine.token, json: {} })).status).toBe(200);
  other = await registerAgent(server.url, server.enrollmentToken, { name: 'abuse-other' });
  const old = await registerAgent(server.url, server.enrollmentToken, { name: 'abuse-revoked' });
  revokedToken = old.token;
  // Registering again issues a new token and revokes the old one.
  expect((await registerRest(server.url, server.enrollmentToken, { name: 'abuse-revoked' })).status).toBe(200);
  expect((await graphql(server.url, server.adminToken, 'mutation($id: ID!) { setAgentConfiguration(agentId: $id, key: "k", value: 1) { id } }', { id: mine.id })).body.errors).toBeUndefined();
  const create = (name: string, expiresAt?: string) =>
    graphql(server.url, server.adminToken, 'mutation($name: String!, $at: DateTime) { createApiKey(input: { name: $name, role: ADMIN, expiresAt: $at }) { secret key { id } } }', { name, at: expiresAt });
  const expiring = await create('abuse-expired', new Date(Date.now() + 1_000).toISOString());
  expiredKey = expiring.body.data.createApiKey.secret;
  const revoked = (await create('abuse-revoked-key')).body.data.createApiKey;
  revokedKey = revoked.secret;
  expect((await graphql(server.url, server.adminToken, 'mutation($id: ID!) { revokeApiKey(id: $id) { state } }', { id: revoked.key.id })).body.errors).toBeUndefined();
  await waitFor(async () => (await request(`${server.url}/api/v1/agents/?limit=1`, { token: expiredKey })).status === 401, { timeout: 5_000, what: 'the key to expire' });
});
afterAll(() => server?.close());

// Whatever a case did, the process must still answer.
afterEach(async () => {
  expect((await request(`${server.url}/health`)).status).toBe(200);
});

/** What a refusal must leave as it was: the fleet, `mine`'s configuration, the event log. */
async function fingerprint(): Promise<string> {
  const agents = await listAgents(server.url, server.adminToken, '?limit=1000');
  const config = await request(`${server.url}/api/v1/agents/${mine.id}/configuration`, { token: server.adminToken });
  const log = await graphql(server.url, server.adminToken, '{ agentEventLog(last: 1) { cursor } apiKeyEventLog(last: 1) { cursor } }');
  const keys = await graphql(server.url, server.adminToken, '{ apiKeys(includeRevoked: true) { id name state } }');
  return JSON.stringify([agents.map((a) => [a.id, a.name, a.tags, a.health_message, a.last_heartbeat, a.configuration_revision]), config.body, log.body, keys.body]);
}

type Who = 'nobody' | 'malformed' | 'unknown' | 'forged' | 'revoked' | 'expired-key' | 'revoked-key' | 'enrollment' | 'viewer' | 'admin' | 'agent' | 'other-agent';
const WHO: Who[] = ['nobody', 'malformed', 'unknown', 'forged', 'revoked', 'expired-key', 'revoked-key', 'enrollment', 'viewer', 'admin', 'agent', 'other-agent'];
const authorization = (who: Who): string | undefined =>
  ({
    nobody: undefined,
    malformed: `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    unknown: `Bearer ${randomBytes(24).toString('base64url')}`,
    forged: `Bearer am_agent_${mine.id.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`,
    revoked: `Bearer ${revokedToken}`,
    'expired-key': `Bearer ${expiredKey}`,
    'revoked-key': `Bearer ${revokedKey}`,
    enrollment: `Bearer ${server.enrollmentToken}`,
    viewer: `Bearer ${server.viewerToken}`,
    admin: `Bearer ${server.adminToken}`,
    agent: `Bearer ${mine.token}`,
    'other-agent': `Bearer ${other.token}`,
  })[who];

/** Who may: a set of token kinds, and what an allowed one gets (a random id gives 404). */
interface Operation {
  name: string;
  allowed: Who[];
  /** Status for an allowed token; 200 unless said. */
  ok?: number;
  /** Statuses for particular kinds, where they differ from the rule. */
  except?: Partial<Record<Who, number>>;
  writes?: boolean;
  send(headers: Record<string, string>): Promise<{ status: number; body: any }>;
}
const READ: Who[] = ['viewer', 'admin'];
const INVALID: Who[] = ['nobody', 'malformed', 'unknown', 'forged', 'revoked', 'expired-key', 'revoked-key'];
let counter = 0;
const unique = () => `abuse-${++counter}-${randomBytes(3).toString('hex')}`;

const rest = (method: string, path: () => string, json?: () => unknown) => (headers: Record<string, string>) =>
  request(server.url + path(), { method, headers, ...(json ? { json: json() } : {}) });
const gql = (query: string, variables: () => Record<string, unknown> = () => ({})) => (headers: Record<string, string>) =>
  request(`${server.url}/graphql`, { headers, json: { query, variables: variables() } });

/** An SSE subscription: the status, and for a 200 the stream is closed at once. */
const sse = (query: string, variables: () => Record<string, unknown> = () => ({})) => async (headers: Record<string, string>) => {
  const abort = new AbortController();
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { ...headers, accept: 'text/event-stream', 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables: variables() }),
    signal: abort.signal,
  });
  const body = res.headers.get('content-type')?.includes('event-stream') ? undefined : await res.json().catch(() => undefined);
  abort.abort();
  return { status: res.status, body };
};

/** Re-registers `mine`; a success hands it a new token, which the next cases use. */
const reregister =
  (send: Operation['send'], tokenOf: (body: any) => string | undefined): Operation['send'] =>
  async (headers) => {
    const res = await send(headers);
    const token = res.status === 200 ? tokenOf(res.body) : undefined;
    if (token) mine.token = token;
    return res;
  };

const OPERATIONS: Operation[] = [
  { name: 'REST register', allowed: ['enrollment', 'admin'], ok: 201, writes: true, send: rest('POST', () => '/api/v1/agents/register', () => ({ ...SEED_AGENT, name: unique() })) },
  {
    name: 'REST re-register a live agent',
    allowed: ['admin', 'agent'],
    except: { enrollment: 409 },
    writes: true,
    send: reregister((headers) => rest('POST', () => '/api/v1/agents/register', () => ({ ...SEED_AGENT, name: 'abuse-mine', tags: ['t'] }))(headers), (body) => body.token),
  },
  { name: 'REST list', allowed: READ, send: rest('GET', () => '/api/v1/agents/?limit=5') },
  { name: 'REST get', allowed: READ, send: rest('GET', () => `/api/v1/agents/${mine.id}`) },
  { name: 'REST delete (unknown id)', allowed: ['admin'], ok: 404, writes: true, send: rest('DELETE', () => `/api/v1/agents/${randomUUID()}`) },
  { name: 'REST configuration', allowed: ['viewer', 'admin', 'agent'], send: rest('GET', () => `/api/v1/agents/${mine.id}/configuration`) },
  { name: 'REST heartbeat', allowed: ['agent'], writes: true, send: rest('POST', () => `/api/v1/agents/${mine.id}/heartbeat`, () => ({ health: { status: 'degraded', message: unique() } })) },
  { name: 'GraphQL viewer', allowed: ['enrollment', 'viewer', 'admin', 'agent', 'other-agent'], send: gql('{ viewer { role } }') },
  { name: 'GraphQL agents', allowed: READ, send: gql('{ agents(first: 5) { totalCount nodes { id } } }') },
  { name: 'GraphQL agent', allowed: READ, send: gql('query($id: ID!) { agent(id: $id) { id } }', () => ({ id: mine.id })) },
  { name: 'GraphQL agentStatusCounts', allowed: READ, send: gql('{ agentStatusCounts { total } }') },
  { name: 'GraphQL agentFacets', allowed: READ, send: gql('{ agentFacets { tags } }') },
  { name: 'GraphQL agentEventLog', allowed: READ, send: gql('{ agentEventLog(last: 5) { cursor } }') },
  { name: 'GraphQL agentConfiguration', allowed: ['viewer', 'admin', 'agent'], send: gql('query($id: ID!) { agentConfiguration(agentId: $id) { revision } }', () => ({ id: mine.id })) },
  { name: 'GraphQL registerAgent', allowed: ['enrollment', 'admin'], writes: true, send: gql('mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { created } }', () => ({ input: { ...SEED_AGENT, name: unique() } })) },
  {
    name: 'GraphQL registerAgent again (a live agent)',
    allowed: ['admin', 'agent'],
    except: { enrollment: 409 },
    writes: true,
    send: reregister(
      gql('mutation($input: RegisterAgentInput!) { registerAgent(input: $input) { created token } }', () => ({ input: { ...SEED_AGENT, name: 'abuse-mine', tags: ['t'] } })),
      (body) => body.data?.registerAgent?.token,
    ),
  },
  { name: 'GraphQL heartbeat', allowed: ['agent'], writes: true, send: gql('mutation($id: ID!, $m: String) { heartbeat(input: { agentId: $id, health: { status: DEGRADED, message: $m } }) { status } }', () => ({ id: mine.id, m: unique() })) },
  { name: 'GraphQL setAgentTags', allowed: ['admin'], writes: true, send: gql('mutation($id: ID!, $t: [String!]!) { setAgentTags(agentId: $id, tags: $t) { id } }', () => ({ id: mine.id, t: ['t', unique()] })) },
  { name: 'GraphQL addAgentTags', allowed: ['admin'], writes: true, send: gql('mutation($id: ID!, $t: [String!]!) { addAgentTags(agentId: $id, tags: $t) { id } }', () => ({ id: mine.id, t: [unique()] })) },
  { name: 'GraphQL removeAgentTags', allowed: ['admin'], writes: true, send: gql('mutation($id: ID!) { removeAgentTags(agentId: $id, tags: ["t"]) { id } }', () => ({ id: mine.id })) },
  { name: 'GraphQL setAgentConfiguration', allowed: ['admin'], writes: true, send: gql('mutation($id: ID!, $v: JSON!) { setAgentConfiguration(agentId: $id, key: "k", value: $v) { id } }', () => ({ id: mine.id, v: unique() })) },
  { name: 'GraphQL deleteAgentConfiguration (absent key)', allowed: ['admin'], writes: true, send: gql('mutation($id: ID!) { deleteAgentConfiguration(agentId: $id, key: "absent") { id } }', () => ({ id: mine.id })) },
  { name: 'GraphQL deregisterAgent (unknown id)', allowed: ['admin'], ok: 404, writes: true, send: gql('mutation($id: ID!) { deregisterAgent(id: $id) { id } }', () => ({ id: randomUUID() })) },
  { name: 'GraphQL apiKeys', allowed: ['admin'], send: gql('{ apiKeys(includeRevoked: true) { id name state lastUsedAt } }') },
  { name: 'GraphQL apiKeyEventLog', allowed: ['admin'], send: gql('{ apiKeyEventLog(last: 5) { type actor } }') },
  { name: 'GraphQL createApiKey', allowed: ['admin'], writes: true, send: gql('mutation($name: String!) { createApiKey(input: { name: $name, role: VIEWER }) { secret } }', () => ({ name: unique() })) },
  { name: 'GraphQL rotateApiKey (unknown id)', allowed: ['admin'], ok: 404, writes: true, send: gql('mutation($id: ID!) { rotateApiKey(id: $id) { secret } }', () => ({ id: randomUUID() })) },
  { name: 'GraphQL revokeApiKey (unknown id)', allowed: ['admin'], ok: 404, writes: true, send: gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', () => ({ id: randomUUID() })) },
  { name: 'SSE agentEvents', allowed: READ, send: sse('subscription { agentEvents { cursor } }') },
  { name: 'SSE agentStatusChanged', allowed: READ, send: sse('subscription { agentStatusChanged { status } }') },
  { name: 'SSE agentHeartbeats', allowed: READ, send: sse('subscription($ids: [ID!]!) { agentHeartbeats(agentIds: $ids) { heartbeats { at } } }', () => ({ ids: [mine.id] })) },
  {
    name: 'WebSocket connection_init',
    allowed: READ,
    async send(headers) {
      const socket = rawWs(server.url, headers.authorization === undefined ? {} : { authorization: headers.authorization });
      const outcome = await Promise.race([waitFor(() => socket.acked(), { timeout: 5000 }).then(() => 200), socket.closed.then(({ code }) => code)]);
      socket.socket.close();
      return { status: outcome === 4403 ? 403 : outcome, body: undefined };
    },
  },
];

describe('every kind of token against every operation', () => {
  for (const op of OPERATIONS) {
    for (const who of WHO) {
      const expected = op.except?.[who] ?? (INVALID.includes(who) ? (op.name.startsWith('WebSocket') ? 403 : 401) : op.allowed.includes(who) ? (op.ok ?? 200) : 403);
      it(`${op.name} with ${who} token: ${expected}${expected >= 400 && op.writes ? ', writing nothing' : ''}`, async () => {
        const before = op.writes && expected >= 400 ? await fingerprint() : undefined;
        const header = authorization(who);
        const res = await op.send(header === undefined ? {} : { authorization: header });
        expect(res.status, JSON.stringify(res.body)?.slice(0, 300)).toBe(expected);
        if (before !== undefined) expect(await fingerprint()).toBe(before);
      });
    }
  }
});

describe('malformed REST requests', () => {
  const BODIES: [string, string | Buffer, string][] = [
    ['truncated JSON', '{"name": "x', 'application/json'],
    ['a JSON array', '[1, 2, 3]', 'application/json'],
    ['a JSON string', '"agent"', 'application/json'],
    ['JSON null', 'null', 'application/json'],
    ['an empty body', '', 'application/json'],
    ['form data', 'name=a&type=b', 'application/x-www-form-urlencoded'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'application/json'],
    ['a lone surrogate escape', '{"name":"\\ud800","type":"t","host":"h","port":1}', 'application/json'],
    ['a NUL escape', '{"name":"a\\u0000b","type":"t","host":"h","port":1}', 'application/json'],
    ['a huge number', '{"name":"n","type":"t","host":"h","port":1e400}', 'application/json'],
    ['a prototype key', '{"__proto__":{"admin":true},"name":"proto","type":"t","host":"h","port":1}', 'application/json'],
    ['duplicate keys', '{"name":"a","name":"b","type":"t","host":"h","port":1,"port":"x"}', 'application/json'],
  ];
  for (const [path, token] of [['/api/v1/agents/register', () => server.enrollmentToken], [`/api/v1/agents/:mine/heartbeat`, () => mine.token]] as const) {
    for (const [what, body, type] of BODIES) {
      it(`POST ${path} with ${what}: a 4xx or success, never a 5xx`, async () => {
        const res = await rawRequest(server.url, { path: path.replace(':mine', mine.id), headers: { authorization: `Bearer ${token()}`, 'content-type': type }, body: Buffer.from(body) });
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
        // Not an object: refused by both. (A heartbeat ignores fields it does not know.)
        if (['truncated JSON', 'a JSON array', 'a JSON string', 'JSON null', 'an empty body', 'form data'].includes(what)) expect(res.status).toBe(400);
      });
    }
  }

  const TARGETS = ['/api/v1/agents/%00', '/api/v1/agents/%E0%A4%A', '/api/v1/agents/..%2F..%2Fetc%2Fpasswd', `/api/v1/agents/${'a'.repeat(8000)}`, '/api/v1/agents/?limit=-1', '/api/v1/agents/?limit=abc&offset=1e99', '/api/v1/agents/?status=nope', '/api/v1/agents/?tag=%00', '/api/v1/agents/?search=%ED%A0%80'];
  for (const target of TARGETS) {
    it(`GET ${target.slice(0, 60)}: a 4xx or 200, never a 5xx`, async () => {
      const res = await rawHttp(server.url, `GET ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${server.viewerToken}\r\nconnection: close\r\n\r\n`);
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(500);
    });
  }

  for (const method of ['PUT', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
    it(`${method} /api/v1/agents/register: 405 or 404, never a 5xx`, async () => {
      const res = await rawHttp(server.url, `${method} /api/v1/agents/register HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${server.adminToken}\r\nconnection: close\r\n\r\n`);
      expect([404, 405]).toContain(res.status);
    });
  }

  it('a header block over the limit: 431, never a 5xx', async () => {
    const res = await rawHttp(server.url, `GET /health HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res.status).toBe(431);
  });
});

describe('malformed GraphQL requests', () => {
  const post = (body: string, type = 'application/json') => request(`${server.url}/graphql`, { token: server.adminToken, body, headers: { 'content-type': type, accept: 'application/json' } });
  const CASES: [string, string, string?][] = [
    ['a body that is not JSON', '{"query":'],
    ['a batch (array) of operations', '[{"query":"{ viewer { role } }"},{"query":"{ viewer { role } }"}]'],
    ['a query that is a number', '{"query": 42}'],
    ['variables that are a string', '{"query":"query($id: ID!) { agent(id: $id) { id } }","variables":"x"}'],
    ['variables of the wrong type', '{"query":"query($id: ID!) { agent(id: $id) { id } }","variables":{"id":{"a":1}}}'],
    ['an operationName that names nothing', '{"query":"query A { viewer { role } }","operationName":"B"}'],
    ['two operations and no operationName', '{"query":"query A { viewer { role } } query B { viewer { role } }"}'],
    ['an empty query', '{"query":""}'],
    ['an unknown field', '{"query":"{ nope }"}'],
    ['a fragment cycle', '{"query":"{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}'],
    ['a subscription over plain POST', '{"query":"subscription { agentEvents { cursor } }"}'],
    ['a mutation with a JSON literal 64 levels deep', `{"query":"mutation { setAgentConfiguration(agentId: \\"${randomUUID()}\\", key: \\"k\\", value: ${'['.repeat(64)}1${']'.repeat(64)}) { id } }"}`],
    ['text/plain content', '{ viewer { role } }', 'text/plain'],
    ['application/graphql content', '{ viewer { role } }', 'application/graphql'],
    ['a lone surrogate in the document', '{"query":"{ agent(id: \\"\\ud800\\") { id } }"}'],
  ];
  for (const [what, body, type] of CASES) {
    it(`${what}: a 4xx or a GraphQL answer, never a 5xx, writing nothing`, async () => {
      const before = await fingerprint();
      const res = await post(body, type);
      expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
      expect(await fingerprint()).toBe(before);
    });
  }

  it('a mutation sent with GET: 405, writing nothing', async () => {
    const before = await fingerprint();
    const res = await request(`${server.url}/graphql?query=${encodeURIComponent(`mutation { deregisterAgent(id: "${mine.id}") { id } }`)}`, { token: server.adminToken });
    expect(res.status).toBe(405);
    expect(await fingerprint()).toBe(before);
  });
});

describe('malformed WebSocket traffic', () => {
  /** An accepted socket, `send` then called on it; resolves with how it closed (or "open"). */
  async function afterSending(send: (socket: WebSocket) => void) {
    const s = rawWs(server.url, { authorization: `Bearer ${server.viewerToken}` });
    await waitFor(() => s.acked());
    send(s.socket);
    const outcome = await Promise.race([s.closed.then((c) => c.code), new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 300))]);
    s.socket.close();
    return { outcome, messages: s.messages };
  }
  const CASES: [string, (socket: WebSocket) => void, (number | 'open')[]][] = [
    ['a message that is not JSON', (s) => s.send('{not json'), [4400]],
    ['a message of an unknown type', (s) => s.send(JSON.stringify({ type: 'bogus' })), [4400]],
    ['a second connection_init', (s) => s.send(JSON.stringify({ type: 'connection_init' })), [4429]],
    ['a subscribe without a query', (s) => s.send(JSON.stringify({ id: '1', type: 'subscribe', payload: {} })), [4400]],
    ['two subscriptions with one id', (s) => { for (let i = 0; i < 2; i++) s.send(JSON.stringify({ id: 'x', type: 'subscribe', payload: { query: 'subscription { agentEvents { cursor } }' } })); }, [4409]],
    ['a frame over 1 MiB', (s) => s.send('x'.repeat(1024 * 1024 + 1)), [1009]],
    ['a binary frame', (s) => s.send(Buffer.from([0, 1, 2, 3])), [4400]],
    ['a complete for an id never used', (s) => s.send(JSON.stringify({ id: 'never', type: 'complete' })), ['open']],
    ['a subscribe whose document does not parse', (s) => s.send(JSON.stringify({ id: '2', type: 'subscribe', payload: { query: '{ broken' } })), ['open']],
    ['a mutation it may not run (viewer)', (s) => s.send(JSON.stringify({ id: '3', type: 'subscribe', payload: { query: `mutation { deregisterAgent(id: "${mine.id}") { id } }` } })), ['open']],
  ];
  for (const [what, send, outcomes] of CASES) {
    it(`${what}: a graphql-ws close code or error, never a crash`, async () => {
      const before = await fingerprint();
      const { outcome, messages } = await afterSending(send);
      expect(outcomes, JSON.stringify(messages)).toContain(outcome);
      expect(messages.some((m) => m.type === 'error' && JSON.stringify(m).includes('INTERNAL_SERVER_ERROR'))).toBe(false);
      expect(await fingerprint()).toBe(before);
    });
  }

  it('a handshake for another subprotocol: closed with 4406', async () => {
    const socket = new WebSocket(wsUrl(server.url), 'graphql-ws');
    socket.on('error', () => {});
    const code = await new Promise<number>((resolve) => socket.on('close', (c) => resolve(c)));
    expect([4406, 1002, 1006]).toContain(code);
  });
});

describe('malformed SSE subscriptions', () => {
  const CASES: [string, string][] = [
    ['an unknown field', 'subscription { nope }'],
    ['too many agent ids', `subscription { agentHeartbeats(agentIds: [${Array.from({ length: 501 }, () => `"${randomUUID()}"`).join(',')}]) { heartbeats { at } } }`],
    ['no agent ids', 'subscription { agentHeartbeats(agentIds: []) { heartbeats { at } } }'],
    ['a malformed cursor', 'subscription { agentEvents(after: "not-a-cursor") { cursor } }'],
  ];
  for (const [what, query] of CASES) {
    it(`${what}: an error, never a 5xx`, async () => {
      const res = await sse(query)({ authorization: `Bearer ${server.viewerToken}` });
      expect(res.status).toBeLessThan(500);
    });
  }
});
