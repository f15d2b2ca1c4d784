import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, registerGraphQL, registerRest } from '../helpers/agents';
import { graphql, request, SEED_AGENT } from '../helpers/client';
import { onPostgres } from '../helpers/database';
import { heartbeatRest, OffsetClock, subscribeSse, subscribeWs, waitFor, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * API keys: named, with a role, an optional expiry and enrollment defaults; secrets shown
 * once and stored hashed; revocation reaches every replica within API_KEY_REFRESH_MS.
 */
const REFRESH_MS = 300;
const clock = new OffsetClock();
let a: TestServer;
/** A second replica on the same database (PostgreSQL), or the same server (PGlite has one process). */
let b: TestServer;

beforeAll(async () => {
  a = await startTestServer({ clock, env: { API_KEY_REFRESH_MS: String(REFRESH_MS) } });
  b = onPostgres() ? await startTestServer({ clock, env: { API_KEY_REFRESH_MS: String(REFRESH_MS) }, databaseUrl: a.databaseUrl }) : a;
});
afterAll(async () => {
  if (b !== a) await b?.close();
  await a?.close();
});

const KEY_FIELDS = 'id name role state prefix expiresAt defaultTags defaultEnvironment createdAt createdBy lastUsedAt revokedAt revokedBy';
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret key { ${KEY_FIELDS} } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const ROTATE = `mutation($id: ID!, $expiresAt: DateTime) { rotateApiKey(id: $id, expiresAt: $expiresAt) { secret key { ${KEY_FIELDS} } } }`;
const LIST = `query($all: Boolean) { apiKeys(includeRevoked: $all) { ${KEY_FIELDS} } }`;
const EVENTS = '{ apiKeyEventLog(last: 200) { type keyId actor data key { name role } } }';

let n = 0;
async function createKey(input: Record<string, unknown>, token = a.adminToken) {
  const res = await graphql(a.url, token, CREATE, { input: { name: `key-${++n}`, ...input } });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data.createApiKey as { secret: string; key: Record<string, any> };
}
const listKeys = async (all = false, url = a.url) => (await graphql(url, a.adminToken, LIST, { all })).body.data.apiKeys as Record<string, any>[];
const readFleet = (url: string, token: string) => request(`${url}/api/v1/agents/?limit=1`, { token });

describe('the keys the server starts with', () => {
  it('are listed like any other, named after where they came from, with no secret in sight', async () => {
    const keys = await listKeys();
    const start = keys.filter((k) => k.createdBy === null).map((k) => [k.name, k.role, k.state]);
    expect(start.sort()).toEqual([
      ['ADMIN_TOKEN', 'ADMIN', 'ACTIVE'],
      ['ENROLLMENT_TOKEN', 'ENROLLMENT', 'ACTIVE'],
      ['VIEWER_TOKEN', 'VIEWER', 'ACTIVE'],
    ]);
    const text = JSON.stringify(keys);
    for (const token of [a.adminToken, a.viewerToken, a.enrollmentToken]) expect(text).not.toContain(token);
  });

  it('record when they were last used, written at most once a minute', async () => {
    const used = await waitFor(async () => (await listKeys()).find((k) => k.name === 'ADMIN_TOKEN' && k.lastUsedAt), { timeout: 5_000, what: 'lastUsedAt' });
    await readFleet(a.url, a.adminToken);
    await new Promise((r) => setTimeout(r, REFRESH_MS * 3));
    expect((await listKeys()).find((k) => k.name === 'ADMIN_TOKEN')!.lastUsedAt).toBe(used.lastUsedAt);
  });
});

describe('creating a key', () => {
  it('answers the secret once; the key then does what its role may, and the list never shows it', async () => {
    const viewer = await createKey({ role: 'VIEWER', name: 'grafana' });
    expect(viewer.secret).toMatch(/^am_viewer_[A-Za-z0-9_-]{43}$/);
    expect(viewer.key).toMatchObject({ name: 'grafana', role: 'VIEWER', state: 'ACTIVE', createdBy: 'ADMIN_TOKEN', expiresAt: null, lastUsedAt: null });
    expect(viewer.secret.startsWith(viewer.key.prefix)).toBe(true);
    expect(viewer.key.prefix.length).toBeLessThan(16);

    expect((await readFleet(a.url, viewer.secret)).status).toBe(200);
    // Another replica learns of a new key on its next refresh.
    await waitFor(async () => (await readFleet(b.url, viewer.secret)).status === 200, { timeout: REFRESH_MS * 20, what: 'the other replica to know the key' });
    const write = await registerRest(a.url, viewer.secret, { name: 'viewer-may-not' });
    expect(write.status).toBe(403);
    const me = await graphql(a.url, viewer.secret, '{ viewer { role keyName } }');
    expect(me.body.data.viewer).toEqual({ role: 'VIEWER', keyName: 'grafana' });

    expect(JSON.stringify(await listKeys(true))).not.toContain(viewer.secret);
  });

  it('refuses bad input with each field named, and writes nothing', async () => {
    // What a refusal must leave as it was (last-used times move on their own).
    const keysNow = async () => (await listKeys(true)).map(({ lastUsedAt: _used, ...k }) => k);
    const before = await keysNow();
    const bad = await graphql(a.url, a.adminToken, CREATE, {
      input: { name: '  ', role: 'VIEWER', expiresAt: new Date(Date.now() - 60_000).toISOString(), defaultTags: ['x'], defaultEnvironment: 'prod' },
    });
    expect(bad.status).toBe(400);
    const error = onlyError(bad);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(Object.keys(error.extensions?.fields ?? {}).sort()).toEqual(['defaultEnvironment', 'defaultTags', 'expiresAt', 'name']);
    const badTag = await graphql(a.url, a.adminToken, CREATE, { input: { name: 'tags', role: 'ENROLLMENT', defaultTags: ['no spaces'] } });
    expect(onlyError(badTag).extensions?.fields).toHaveProperty('defaultTags.0');
    const badRole = await graphql(a.url, a.adminToken, CREATE, { input: { name: 'role', role: 'AGENT' } });
    expect(badRole.status).toBe(400);
    expect(await keysNow()).toEqual(before);
  });

  it('refuses a name a key in force already has', async () => {
    await createKey({ role: 'VIEWER', name: 'taken' });
    const again = await graphql(a.url, a.adminToken, CREATE, { input: { name: 'taken', role: 'ADMIN' } });
    expect(onlyError(again).extensions?.fields?.name).toMatch(/already named "taken"/);
  });
});

describe('who may manage keys', () => {
  it('only admins: viewers, enrollment keys and agents get 403 FORBIDDEN, no token 401', async () => {
    const reg = await registerRest(a.url, a.enrollmentToken, { name: 'keys-agent' });
    const target = (await listKeys()).find((k) => k.name === 'VIEWER_TOKEN')!;
    const operations: [string, Record<string, unknown>][] = [
      [LIST, {}],
      [EVENTS, {}],
      [CREATE, { input: { name: 'nope', role: 'ADMIN' } }],
      [REVOKE, { id: target.id }],
      [ROTATE, { id: target.id }],
    ];
    for (const [query, variables] of operations) {
      for (const token of [a.viewerToken, a.enrollmentToken, reg.body.token]) {
        const res = await graphql(a.url, token, query, variables);
        expect(res.status, query).toBe(403);
        expect(onlyError(res).extensions?.code).toBe('FORBIDDEN');
        expect(onlyError(res).message).toMatch(/admin/);
      }
      const anonymous = await graphql(a.url, undefined, query, variables);
      expect(anonymous.status).toBe(401);
    }
    expect((await listKeys()).find((k) => k.name === 'nope')).toBeUndefined();
    expect((await listKeys()).find((k) => k.id === target.id)!.state).toBe('ACTIVE');
  });
});

describe('expiry', () => {
  it('a key past its expiry gets 401 naming the key and the time, and is listed as EXPIRED', async () => {
    const key = await createKey({ role: 'VIEWER', expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() });
    await waitFor(async () => (await readFleet(b.url, key.secret)).status === 200, { timeout: REFRESH_MS * 20, what: 'the other replica to know the key' });
    clock.advance(61_000);
    const res = await readFleet(b.url, key.secret);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(res.body.error.message).toMatch(new RegExp(`"${key.key.name}" expired at`));
    const gql = await graphql(a.url, key.secret, '{ viewer { role } }');
    expect(gql.status).toBe(401);
    expect((await listKeys()).find((k) => k.id === key.key.id)!.state).toBe('EXPIRED');
  });
});

describe('revoking a key', () => {
  it(`stops it at once on this replica and within ${REFRESH_MS} ms (a few refreshes) on every other`, async () => {
    const key = await createKey({ role: 'ADMIN' });
    await waitFor(async () => (await readFleet(b.url, key.secret)).status === 200, { timeout: REFRESH_MS * 20, what: 'the other replica to know the key' });
    const revoked = await graphql(a.url, a.adminToken, REVOKE, { id: key.key.id });
    expect(revoked.body.data.revokeApiKey).toMatchObject({ state: 'REVOKED', revokedBy: 'ADMIN_TOKEN' });
    const at = Date.now();
    const here = await readFleet(a.url, key.secret);
    expect(here.status).toBe(401);
    expect(here.body.error.message).toMatch(/was revoked/);
    await waitFor(async () => (await readFleet(b.url, key.secret)).status === 401, { timeout: REFRESH_MS * 20, interval: 25, what: 'the other replica to refuse it' });
    expect(Date.now() - at).toBeLessThan(REFRESH_MS * 10);
    // Listed only when asked for, and revoking again changes nothing.
    expect((await listKeys()).find((k) => k.id === key.key.id)).toBeUndefined();
    expect((await listKeys(true)).find((k) => k.id === key.key.id)).toMatchObject({ state: 'REVOKED' });
    const again = await graphql(a.url, a.adminToken, REVOKE, { id: key.key.id });
    expect(again.body.data.revokeApiKey.revokedAt).toBe(revoked.body.data.revokeApiKey.revokedAt);
  });

  it('closes the WebSockets it opened (4403) on every replica, so no live subscription outlives it', async () => {
    const key = await createKey({ role: 'VIEWER' });
    const closes: number[][] = [[], []];
    const urls = [a.url, b.url];
    await waitFor(async () => (await readFleet(b.url, key.secret)).status === 200, { timeout: REFRESH_MS * 20, what: 'the other replica to know the key' });
    const clients = urls.map((url, i) => wsClient(url, key.secret, (code) => closes[i].push(code)));
    try {
      const subs = clients.map((client) => subscribeWs(client, 'subscription { agentEvents { cursor } }'));
      // Events are pushed live only: register until both sockets have seen one.
      let i = 0;
      await waitFor(async () => {
        await registerRest(a.url, a.enrollmentToken, { name: `seen-before-revocation-${++i}` });
        return subs.every((sub) => sub.items.length > 0);
      }, { interval: 200, what: 'an event on both sockets' });
      expect((await graphql(a.url, a.adminToken, REVOKE, { id: key.key.id })).body.errors).toBeUndefined();
      await waitFor(() => closes.every((c) => c.includes(4403)), { timeout: REFRESH_MS * 20, what: 'both sockets to close with 4403' });
    } finally {
      for (const client of clients) await client.dispose();
    }
  });

  it('ends the SSE streams it opened', async () => {
    const key = await createKey({ role: 'VIEWER' });
    const sse = subscribeSse(a.url, key.secret, 'subscription { agentEvents { cursor } }');
    expect(await sse.status).toBe(200);
    let i = 0;
    await waitFor(async () => {
      await registerRest(a.url, a.enrollmentToken, { name: `sse-before-revocation-${++i}` });
      return sse.items.length > 0;
    }, { interval: 200, what: 'an event on the stream' });
    expect((await graphql(a.url, a.adminToken, REVOKE, { id: key.key.id })).body.errors).toBeUndefined();
    await waitFor(() => sse.completed, { timeout: REFRESH_MS * 20, what: 'the stream to end' });
    sse.dispose();
  });

  it('answers NOT_FOUND for a key that does not exist', async () => {
    const res = await graphql(a.url, a.adminToken, REVOKE, { id: '00000000-0000-4000-8000-000000000000' });
    expect(onlyError(res).extensions?.code).toBe('NOT_FOUND');
    expect(onlyError(await graphql(a.url, a.adminToken, REVOKE, { id: 'nope' })).extensions?.code).toBe('NOT_FOUND');
  });
});

describe('rotating a key', () => {
  it('gives the same key a new secret: same name, role and defaults; the old secret stops working', async () => {
    const key = await createKey({ role: 'ENROLLMENT', name: 'rotate-me', defaultTags: ['rot'] });
    const res = await graphql(a.url, a.adminToken, ROTATE, { id: key.key.id });
    expect(res.body.errors).toBeUndefined();
    const rotated = res.body.data.rotateApiKey;
    expect(rotated.secret).not.toBe(key.secret);
    expect(rotated.key).toMatchObject({ name: 'rotate-me', role: 'ENROLLMENT', defaultTags: ['rot'], state: 'ACTIVE' });
    expect(rotated.key.id).not.toBe(key.key.id);
    expect((await registerRest(a.url, key.secret, { name: 'old-secret' })).status).toBe(401);
    expect((await registerRest(a.url, rotated.secret, { name: 'new-secret' })).status).toBe(201);
    const refused = await graphql(a.url, a.adminToken, ROTATE, { id: key.key.id });
    expect(onlyError(refused).extensions?.code).toBe('CONFLICT');
  });

  it('rotates a key the server started with', async () => {
    const start = (await listKeys()).find((k) => k.name === 'VIEWER_TOKEN')!;
    const res = await graphql(a.url, a.adminToken, ROTATE, { id: start.id });
    const rotated = res.body.data.rotateApiKey;
    expect(rotated.key).toMatchObject({ name: 'VIEWER_TOKEN', role: 'VIEWER' });
    expect((await readFleet(a.url, a.viewerToken)).status).toBe(401);
    expect((await readFleet(a.url, rotated.secret)).status).toBe(200);
  });
});

describe('enrollment keys with defaults', () => {
  it('give their agents their environment and tags, which the agent cannot remove', async () => {
    const key = await createKey({ role: 'ENROLLMENT', name: 'team-a', defaultTags: ['team-a', 'pci'], defaultEnvironment: 'staging' });
    const fields = { ...SEED_AGENT, name: 'enrolled-with-defaults', environment: undefined, tags: ['own'] };
    const reg = await registerRest(a.url, key.secret, fields);
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({ environment: 'staging', tags: ['own', 'pci', 'team-a'] });

    const elsewhere = await registerGraphQL(a.url, key.secret, { ...SEED_AGENT, name: 'wrong-env', environment: 'production' });
    expect(elsewhere.status).toBe(400);
    expect(onlyError(elsewhere).extensions?.fields?.environment).toMatch(/"staging" only/);

    await heartbeatRest(a.url, reg.body.id, reg.body.token);
    const again = await registerRest(a.url, reg.body.token, { ...fields, environment: 'staging', tags: [] });
    expect(again.status).toBe(200);
    expect(again.body.tags).toEqual(['pci', 'team-a']);
    const log = await graphql(a.url, a.adminToken, 'query($id: ID!) { agentEventLog(agentId: $id) { type data } }', { id: reg.body.id });
    expect(log.body.data.agentEventLog[0]).toMatchObject({ type: 'REGISTERED', data: { actor: 'team-a' } });
  });
});

describe('admin actions in the event log', () => {
  it('name the key that acted: tag and configuration edits, deregistrations (REST and GraphQL), registrations', async () => {
    const alice = await createKey({ role: 'ADMIN', name: 'ops-alice' });
    const bob = await createKey({ role: 'ADMIN', name: 'ops-bob' });
    const reg = await registerRest(a.url, a.enrollmentToken, { name: 'audited' });
    const id = reg.body.id;
    const as = (key: { secret: string }, query: string) => graphql(a.url, key.secret, query, { id });
    expect((await as(alice, 'mutation($id: ID!) { addAgentTags(agentId: $id, tags: ["pci"]) { id } }')).body.errors).toBeUndefined();
    expect((await as(bob, 'mutation($id: ID!) { removeAgentTags(agentId: $id, tags: ["pci"]) { id } }')).body.errors).toBeUndefined();
    expect((await as(alice, 'mutation($id: ID!) { setAgentConfiguration(agentId: $id, key: "k", value: 1) { id } }')).body.errors).toBeUndefined();
    expect((await as(bob, 'mutation($id: ID!) { deleteAgentConfiguration(agentId: $id, key: "k") { id } }')).body.errors).toBeUndefined();
    expect((await request(`${a.url}/api/v1/agents/${id}`, { method: 'DELETE', token: alice.secret })).status).toBe(200);

    const other = await registerRest(a.url, a.adminToken, { name: 'audited-graphql' });
    expect((await graphql(a.url, bob.secret, 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }', { id: other.body.id })).body.errors).toBeUndefined();

    const log = async (agentId: string) =>
      (await graphql(a.url, a.adminToken, 'query($id: ID!) { agentEventLog(agentId: $id) { type actor } }', { id: agentId })).body.data.agentEventLog;
    expect(await log(id)).toEqual([
      { type: 'REGISTERED', actor: 'ENROLLMENT_TOKEN' },
      { type: 'TAGS_CHANGED', actor: 'ops-alice' },
      { type: 'TAGS_CHANGED', actor: 'ops-bob' },
      { type: 'CONFIGURATION_CHANGED', actor: 'ops-alice' },
      { type: 'CONFIGURATION_CHANGED', actor: 'ops-bob' },
      { type: 'DEREGISTERED', actor: 'ops-alice' },
    ]);
    expect((await log(other.body.id)).map((e: { actor: string }) => e.actor)).toEqual(['ADMIN_TOKEN', 'ops-bob']);

    // Key changes name their actor too.
    expect((await graphql(a.url, alice.secret, REVOKE, { id: bob.key.id })).body.errors).toBeUndefined();
    const events = (await graphql(a.url, a.adminToken, EVENTS)).body.data.apiKeyEventLog as { type: string; keyId: string; actor: string }[];
    expect(events.filter((e) => e.keyId === bob.key.id).map((e) => [e.type, e.actor])).toEqual([
      ['CREATED', 'ADMIN_TOKEN'],
      ['REVOKED', 'ops-alice'],
    ]);
  });
});

describe('the last admin key', () => {
  it('cannot be revoked (409), so nobody is locked out; with another one in force it can', async () => {
    const admins = (await listKeys()).filter((k) => k.role === 'ADMIN' && k.state === 'ACTIVE');
    const spare = await createKey({ role: 'ADMIN', name: 'spare-admin' });
    for (const k of admins) expect((await graphql(a.url, a.adminToken, REVOKE, { id: k.id })).body.errors).toBeUndefined();
    const last = await graphql(a.url, spare.secret, REVOKE, { id: spare.key.id });
    expect(last.status).toBe(409);
    expect(onlyError(last).message).toMatch(/last admin key/);
    expect((await readFleet(a.url, spare.secret)).status).toBe(200);
    expect((await readFleet(a.url, a.adminToken)).status).toBe(401);

    const log = await graphql(a.url, spare.secret, EVENTS);
    const events = log.body.data.apiKeyEventLog as { type: string; actor: string; key: { name: string } }[];
    expect(events.find((e) => e.type === 'CREATED' && e.key.name === 'spare-admin')).toMatchObject({ actor: 'ADMIN_TOKEN' });
    expect(events.filter((e) => e.type === 'REVOKED' && e.key.name === 'ADMIN_TOKEN')).toEqual([expect.objectContaining({ actor: 'ADMIN_TOKEN' })]);
    expect(events.find((e) => e.type === 'ROTATED' && e.key.name === 'VIEWER_TOKEN')).toMatchObject({ actor: 'ADMIN_TOKEN' });
  });
});
