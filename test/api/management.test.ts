import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { listAgents, onlyError, registerRest } from '../helpers/agents';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

let counter = 0;
/** A fresh agent of its own for each test, so tests do not depend on one another. */
async function newAgent(overrides: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
  const res = await registerRest(server.url, server.enrollmentToken, { name: `managed-${++counter}`, ...overrides });
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { id: res.body.id, token: res.body.token };
}

const admin = (query: string, variables?: Record<string, unknown>) => graphql(server.url, server.adminToken, query, variables);

const TAGS = (mutation: string) => `mutation($id: ID!, $tags: [String!]!) { ${mutation}(agentId: $id, tags: $tags) { id tags } }`;
const SET = 'mutation($id: ID!, $key: String!, $value: JSON!) { setAgentConfiguration(agentId: $id, key: $key, value: $value) { id configurationRevision configuration { key value } } }';
const DELETE = 'mutation($id: ID!, $key: String!) { deleteAgentConfiguration(agentId: $id, key: $key) { id configurationRevision configuration { key value } } }';
const DEREGISTER = 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }';

const restTags = async (id: string) => (await request(`${server.url}/api/v1/agents/${id}`, { token: server.viewerToken })).body.tags;
const restConfiguration = async (id: string, token = server.viewerToken) => request(`${server.url}/api/v1/agents/${id}/configuration`, { token });

describe('tags', () => {
  it('setAgentTags replaces every tag, sorted and without duplicates', async () => {
    const { id } = await newAgent({ tags: ['old'] });
    const res = await admin(TAGS('setAgentTags'), { id, tags: ['web', 'critical', 'web', 'eu-west'] });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.setAgentTags).toEqual({ id, tags: ['critical', 'eu-west', 'web'] });
    expect(await restTags(id)).toEqual(['critical', 'eu-west', 'web']);
  });

  it('setAgentTags with an empty list removes every tag', async () => {
    const { id } = await newAgent({ tags: ['a', 'b'] });
    const res = await admin(TAGS('setAgentTags'), { id, tags: [] });
    expect(res.body.data.setAgentTags.tags).toEqual([]);
    expect(await restTags(id)).toEqual([]);
  });

  it('addAgentTags adds new tags and keeps ones already present once', async () => {
    const { id } = await newAgent({ tags: ['a', 'b'] });
    const res = await admin(TAGS('addAgentTags'), { id, tags: ['b', 'c'] });
    expect(res.body.data.addAgentTags.tags).toEqual(['a', 'b', 'c']);
    expect(await restTags(id)).toEqual(['a', 'b', 'c']);
  });

  it('removeAgentTags removes the named tags and ignores absent ones', async () => {
    const { id } = await newAgent({ tags: ['a', 'b', 'c'] });
    const res = await admin(TAGS('removeAgentTags'), { id, tags: ['b', 'not-there'] });
    expect(res.body.data.removeAgentTags.tags).toEqual(['a', 'c']);
    expect(await restTags(id)).toEqual(['a', 'c']);
  });

  it('makes tag changes visible to the tag filter and the facets', async () => {
    const { id } = await newAgent();
    await admin(TAGS('addAgentTags'), { id, tags: ['only-here'] });
    const filtered = await admin('{ agents(filter: { tags: ["only-here"] }) { nodes { id } } agentFacets { tags } }');
    expect(filtered.body.data.agents.nodes).toEqual([{ id }]);
    expect(filtered.body.data.agentFacets.tags).toContain('only-here');
    await admin(TAGS('removeAgentTags'), { id, tags: ['only-here'] });
    const after = await admin('{ agents(filter: { tags: ["only-here"] }) { nodes { id } } agentFacets { tags } }');
    expect(after.body.data.agents.nodes).toEqual([]);
    expect(after.body.data.agentFacets.tags).not.toContain('only-here');
  });

  it('refuses malformed tags with BAD_USER_INPUT naming each bad entry, and changes nothing', async () => {
    const { id } = await newAgent({ tags: ['keep'] });
    const res = await admin(TAGS('setAgentTags'), { id, tags: ['fine', ' ', 'has space', 'x'.repeat(65), 'nul\u0000'] });
    expect(res.status).toBe(400);
    const error = onlyError(res);
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(Object.keys(error.extensions?.fields ?? {}).sort()).toEqual(['tags.1', 'tags.2', 'tags.3', 'tags.4']);
    expect(await restTags(id)).toEqual(['keep']);
  });

  it('refuses more than 64 tags and changes nothing', async () => {
    const { id } = await newAgent({ tags: ['keep'] });
    const res = await admin(TAGS('addAgentTags'), { id, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) });
    expect(res.status).toBe(400);
    expect(onlyError(res).extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { tags: expect.any(String) } });
    expect(await restTags(id)).toEqual(['keep']);
  });

  it('answers NOT_FOUND (404) for tags of an agent that does not exist or an id that is no UUID', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await admin(TAGS('setAgentTags'), { id, tags: ['x'] });
      expect(res.status).toBe(404);
      expect(onlyError(res).extensions?.code).toBe('NOT_FOUND');
    }
  });
});

describe('configuration', () => {
  it('reads an agent with 600 keys in one request: every entry, key, value and time, as admin and as viewer', async () => {
    const agent = await newAgent();
    const keys = Array.from({ length: 600 }, (_, i) => `key.${String(i).padStart(3, '0')}`);
    for (let i = 0; i < keys.length; i += 20) {
      const set = await Promise.all(
        keys.slice(i, i + 20).map((key) => admin('mutation($id: ID!, $key: String!) { setAgentConfiguration(agentId: $id, key: $key, value: {n: 1}) { configurationRevision } }', { id: agent.id, key })),
      );
      for (const res of set) expect(res.body.errors).toBeUndefined();
    }
    for (const token of [server.adminToken, server.viewerToken]) {
      const res = await graphql(server.url, token, 'query($id: ID!) { agent(id: $id) { configuration { key value updatedAt } } }', { id: agent.id });
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      const entries = res.body.data.agent.configuration as { key: string; value: unknown; updatedAt: string }[];
      expect(entries.map((e) => e.key)).toEqual(keys);
      expect(entries.every((e) => JSON.stringify(e.value) === '{"n":1}' && Date.parse(e.updatedAt) > 0)).toBe(true);
    }
  });

  it('sets a key to any JSON value, raises configurationRevision, and the agent reads it with its token', async () => {
    const agent = await newAgent();
    const first = await admin(SET, { id: agent.id, key: 'log.level', value: 'debug' });
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.setAgentConfiguration).toEqual({ id: agent.id, configurationRevision: 1, configuration: [{ key: 'log.level', value: 'debug' }] });
    const second = await admin(SET, { id: agent.id, key: 'limits', value: { cpu: 0.5, paths: ['/a', '/b'], enabled: true } });
    expect(second.body.data.setAgentConfiguration.configurationRevision).toBe(2);

    const read = await restConfiguration(agent.id, agent.token);
    expect(read.status).toBe(200);
    expect(read.body.configuration_revision).toBe(2);
    expect(read.body.configuration).toEqual({ 'log.level': 'debug', limits: { cpu: 0.5, paths: ['/a', '/b'], enabled: true } });
    expect(Object.keys(read.body.updated_at).sort()).toEqual(['limits', 'log.level']);
    const rest = await request(`${server.url}/api/v1/agents/${agent.id}`, { token: server.viewerToken });
    expect(rest.body.configuration_revision).toBe(2);
  });

  it('does not raise the revision when a key is set to the value it already holds', async () => {
    const { id } = await newAgent();
    await admin(SET, { id, key: 'k', value: { a: 1, b: [1, 2] } });
    const again = await admin(SET, { id, key: 'k', value: { b: [1, 2], a: 1 } });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data.setAgentConfiguration.configurationRevision).toBe(1);
    const changed = await admin(SET, { id, key: 'k', value: { a: 2, b: [1, 2] } });
    expect(changed.body.data.setAgentConfiguration.configurationRevision).toBe(2);
    expect((await restConfiguration(id)).body).toMatchObject({ configuration_revision: 2, configuration: { k: { a: 2, b: [1, 2] } } });
  });

  it('tells a number from the same digits as a string: changing 1 to "1" is a change', async () => {
    const { id } = await newAgent();
    await admin(SET, { id, key: 'n', value: 1 });
    const res = await admin(SET, { id, key: 'n', value: '1' });
    expect(res.body.data.setAgentConfiguration).toMatchObject({ configurationRevision: 2, configuration: [{ key: 'n', value: '1' }] });
  });

  it('deletes a key and raises the revision; deleting an absent key changes nothing', async () => {
    const { id } = await newAgent();
    await admin(SET, { id, key: 'a', value: 1 });
    await admin(SET, { id, key: 'b', value: 2 });
    const deleted = await admin(DELETE, { id, key: 'a' });
    expect(deleted.body.data.deleteAgentConfiguration).toEqual({ id, configurationRevision: 3, configuration: [{ key: 'b', value: 2 }] });
    const again = await admin(DELETE, { id, key: 'a' });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data.deleteAgentConfiguration.configurationRevision).toBe(3);
    expect((await restConfiguration(id)).body).toMatchObject({ configuration_revision: 3, configuration: { b: 2 } });
  });

  it('applies 20 concurrent changes to one agent one after another: the revision ends at exactly 20', async () => {
    const { id } = await newAgent();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => admin(SET, { id, key: `key${i}`, value: i })));
    expect(results.every((r) => r.status === 200 && !r.body.errors)).toBe(true);
    const read = await restConfiguration(id);
    expect(read.body.configuration_revision).toBe(20);
    expect(Object.keys(read.body.configuration)).toHaveLength(20);
  });

  describe('check-and-set (ifRevision)', () => {
    const CAS_SET =
      'mutation($id: ID!, $key: String!, $value: JSON!, $rev: Int) { setAgentConfiguration(agentId: $id, key: $key, value: $value, ifRevision: $rev) { configurationRevision configuration { key value revision } } }';
    const CAS_DELETE = 'mutation($id: ID!, $key: String!, $rev: Int) { deleteAgentConfiguration(agentId: $id, key: $key, ifRevision: $rev) { configurationRevision configuration { key revision } } }';
    const conflict = (res: Awaited<ReturnType<typeof admin>>) => {
      expect(res.status).toBe(409);
      const error = onlyError(res);
      expect(error.extensions?.code).toBe('CONFLICT');
      return error.message;
    };

    it("stamps each key with the revision of its last change, and writes only while the key's revision is the one given", async () => {
      const { id } = await newAgent();
      const a = await admin(CAS_SET, { id, key: 'a', value: 1, rev: 0 });
      expect(a.body.data.setAgentConfiguration).toEqual({ configurationRevision: 1, configuration: [{ key: 'a', value: 1, revision: 1 }] });
      await admin(SET, { id, key: 'b', value: 2 });
      // Another key's change does not conflict: the check is per key.
      const a2 = await admin(CAS_SET, { id, key: 'a', value: 10, rev: 1 });
      expect(a2.body.errors).toBeUndefined();
      expect(a2.body.data.setAgentConfiguration.configuration).toEqual([
        { key: 'a', value: 10, revision: 3 },
        { key: 'b', value: 2, revision: 2 },
      ]);

      // An operator who read revision 1 of "a" does not overwrite the change made since.
      expect(conflict(await admin(CAS_SET, { id, key: 'a', value: 99, rev: 1 }))).toBe(
        'configuration key "a" is at revision 3; you asked for revision 1. Nothing was changed: read the key again, then decide',
      );
      expect(conflict(await admin(CAS_DELETE, { id, key: 'a', rev: 1 }))).toContain('is at revision 3');
      expect(conflict(await admin(CAS_SET, { id, key: 'b', value: 5, rev: 0 }))).toContain('configuration key "b" exists already (revision 2); ifRevision 0 writes only a key that does not exist');
      expect((await restConfiguration(id)).body).toMatchObject({ configuration_revision: 3, configuration: { a: 10, b: 2 } });

      const deleted = await admin(CAS_DELETE, { id, key: 'a', rev: 3 });
      expect(deleted.body.data.deleteAgentConfiguration).toEqual({ configurationRevision: 4, configuration: [{ key: 'b', revision: 2 }] });
      expect(conflict(await admin(CAS_SET, { id, key: 'a', value: 1, rev: 3 }))).toContain('configuration key "a" does not exist (it was deleted, or never set)');
      // Without ifRevision the write is unconditional, as before.
      expect((await admin(SET, { id, key: 'b', value: 7 })).body.data.setAgentConfiguration.configurationRevision).toBe(5);
    });

    it('lets exactly one of 10 concurrent writers that read the same revision win', async () => {
      const { id } = await newAgent();
      await admin(SET, { id, key: 'k', value: 'start' });
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => admin(CAS_SET, { id, key: 'k', value: `writer ${i}`, rev: 1 })));
      const won = results.filter((r) => r.status === 200 && !r.body.errors);
      expect(won).toHaveLength(1);
      for (const r of results.filter((x) => x !== won[0])) conflict(r);
      const read = await restConfiguration(id);
      expect(read.body.configuration_revision).toBe(2);
      expect(read.body.configuration.k).toBe(won[0].body.data.setAgentConfiguration.configuration[0].value);
    });

    it('refuses a negative ifRevision with BAD_USER_INPUT naming it', async () => {
      const { id } = await newAgent();
      const res = await admin(CAS_SET, { id, key: 'k', value: 1, rev: -1 });
      expect(res.status).toBe(400);
      expect(Object.keys(onlyError(res).extensions?.fields ?? {})).toEqual(['ifRevision']);
      expect((await restConfiguration(id)).body.configuration_revision).toBe(0);
    });
  });

  it('refuses a malformed key or an oversized value with BAD_USER_INPUT and writes nothing', async () => {
    const { id } = await newAgent();
    const cases: [Record<string, unknown>, string][] = [
      [{ key: '', value: 1 }, 'key'],
      [{ key: '.starts-with-dot', value: 1 }, 'key'],
      [{ key: 'has space', value: 1 }, 'key'],
      [{ key: 'k'.repeat(256), value: 1 }, 'key'],
      [{ key: 'nul\u0000', value: 1 }, 'key'],
      [{ key: 'big', value: 'x'.repeat(64 * 1024) }, 'value'],
      [{ key: 'nul-value', value: { inner: 'a\u0000b' } }, 'value'],
    ];
    for (const [vars, field] of cases) {
      const res = await admin(SET, { id, ...vars });
      expect(res.status, JSON.stringify(vars).slice(0, 60)).toBe(400);
      const error = onlyError(res);
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      expect(Object.keys(error.extensions?.fields ?? {})).toEqual([field]);
    }
    expect((await restConfiguration(id)).body).toMatchObject({ configuration_revision: 0, configuration: {} });
  });

  it('answers NOT_FOUND (404) for configuration of an agent that does not exist', async () => {
    const set = await admin(SET, { id: '00000000-0000-4000-8000-000000000000', key: 'k', value: 1 });
    expect(set.status).toBe(404);
    expect(onlyError(set).extensions?.code).toBe('NOT_FOUND');
    const del = await admin(DELETE, { id: 'not-a-uuid', key: 'k' });
    expect(del.status).toBe(404);
    const rest = await restConfiguration('00000000-0000-4000-8000-000000000000');
    expect(rest.status).toBe(404);
  });
});

describe('deregistration', () => {
  it('tag and configuration changes racing a deregistration answer 200 or NOT_FOUND, never 500', async () => {
    for (let round = 0; round < 5; round++) {
      const { id } = await newAgent();
      const changes = Array.from({ length: 24 }, (_, i) =>
        i % 2 ? admin(TAGS('addAgentTags'), { id, tags: [`t${i}`] }) : admin(SET, { id, key: `k${i}`, value: i }),
      );
      const [gone, ...results] = await Promise.all([request(`${server.url}/api/v1/agents/${id}`, { method: 'DELETE', token: server.adminToken }), ...changes]);
      expect(gone.status).toBe(200);
      for (const r of results) {
        if (r.status === 200) expect(r.body.errors).toBeUndefined();
        else {
          expect(r.status).toBe(404);
          expect(onlyError(r).extensions?.code).toBe('NOT_FOUND');
        }
      }
    }
  });

  it('deregisterAgent removes the agent: REST answers 404 and neither list shows it', async () => {
    const { id } = await newAgent({ tags: ['doomed'] });
    const before = (await admin('{ agents { totalCount } }')).body.data.agents.totalCount;
    const res = await admin(DEREGISTER, { id });
    expect(res.body).toEqual({ data: { deregisterAgent: { id } } });

    const got = await request(`${server.url}/api/v1/agents/${id}`, { token: server.viewerToken });
    expect(got.status).toBe(404);
    expect(got.body.error.code).toBe('NOT_FOUND');
    expect((await listAgents(server.url, server.viewerToken, '?limit=1000')).map((a) => a.id)).not.toContain(id);
    const after = await admin(`{ agents(first: 1000) { totalCount nodes { id } } agent(id: "${id}") { id } agentFacets { tags } }`);
    expect(after.body.data.agents.totalCount).toBe(before - 1);
    expect(after.body.data.agents.nodes.map((n: { id: string }) => n.id)).not.toContain(id);
    expect(after.body.data.agent).toBeNull();
    expect(after.body.data.agentFacets.tags).not.toContain('doomed');
  });

  it('DELETE /api/v1/agents/{id} deregisters too, and a second DELETE answers 404', async () => {
    const { id } = await newAgent();
    const res = await request(`${server.url}/api/v1/agents/${id}`, { method: 'DELETE', token: server.adminToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id });
    expect((await request(`${server.url}/api/v1/agents/${id}`, { token: server.adminToken })).status).toBe(404);
    const again = await request(`${server.url}/api/v1/agents/${id}`, { method: 'DELETE', token: server.adminToken });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('NOT_FOUND');
  });

  it('answers NOT_FOUND through GraphQL for an agent that is already gone or an id that is no UUID', async () => {
    const { id } = await newAgent();
    await admin(DEREGISTER, { id });
    for (const target of [id, 'not-a-uuid']) {
      const res = await admin(DEREGISTER, { id: target });
      expect(res.status).toBe(404);
      expect(onlyError(res).extensions?.code).toBe('NOT_FOUND');
    }
  });

  it('takes the configuration with it: the deregistered agent token reads 401, telling the agent to register again', async () => {
    const agent = await newAgent();
    await admin(SET, { id: agent.id, key: 'k', value: 'v' });
    await admin(DEREGISTER, { id: agent.id });
    const read = await restConfiguration(agent.id, agent.token);
    expect(read.status).toBe(401);
    expect(read.body.error.code).toBe('UNAUTHENTICATED');
    expect(read.body.error.message).toMatch(/register again/);
    expect(read.body.configuration).toBeUndefined();
    expect(JSON.stringify(read.body)).not.toContain('"v"');
  });

  it('gives an agent registering again after deregistration a new id, with no old tags or configuration', async () => {
    const identity = { name: 'comes-back', host: 'back.company.com' };
    const first = await newAgent({ ...identity, tags: ['old'] });
    await admin(SET, { id: first.id, key: 'k', value: 1 });
    await admin(DEREGISTER, { id: first.id });
    const again = await registerRest(server.url, server.enrollmentToken, identity);
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.id);
    expect(again.body.tags).toEqual([]);
    expect((await restConfiguration(again.body.id, again.body.token)).body).toMatchObject({ configuration_revision: 0, configuration: {} });
  });
});
