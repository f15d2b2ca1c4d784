import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, registerGraphQL, registerRest } from '../helpers/agents';
import { graphql, request } from '../helpers/client';
import { heartbeatRest } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * At most 64 tags per agent, whichever door adds them: setAgentTags, addAgentTags,
 * bulkAddAgentTags, a registration and an enrollment key's default tags. A refused
 * change writes nothing: no tag, no event, no new token.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const LIMIT = 64;
const tagRange = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const admin = (query: string, variables?: Record<string, unknown>) => graphql(server.url, server.adminToken, query, variables);
const SET = 'mutation($id: ID!, $tags: [String!]!) { setAgentTags(agentId: $id, tags: $tags) { id tags } }';
const ADD = 'mutation($id: ID!, $tags: [String!]!) { addAgentTags(agentId: $id, tags: $tags) { id tags } }';
const BULK_ADD = 'mutation($f: AgentFilter!, $tags: [String!]!) { bulkAddAgentTags(filter: $f, tags: $tags) { selected changed changedIds } }';
const tagsOf = async (id: string) => (await request(`${server.url}/api/v1/agents/${id}`, { token: server.viewerToken })).body.tags as string[];
const tagEvents = async (id: string) =>
  ((await admin('query($id: ID) { agentEventLog(agentId: $id, last: 200) { type } }', { id })).body.data.agentEventLog as { type: string }[]).filter((e) => e.type === 'TAGS_CHANGED').length;
const agentCount = async () => (await admin('{ agentStatusCounts { total } }')).body.data.agentStatusCounts.total as number;

let n = 0;
async function newAgent(tags: string[] = []): Promise<{ id: string; token: string; name: string }> {
  const name = `tag-limit-${++n}`;
  const res = await registerRest(server.url, server.adminToken, { name });
  expect(res.status).toBe(201);
  if (tags.length > 0) expect((await admin(SET, { id: res.body.id, tags })).body.errors).toBeUndefined();
  return { id: res.body.id, token: res.body.token, name };
}

function expectTagRefusal(res: { status: number; body: any }, ...parts: (string | number)[]) {
  expect(res.status).toBe(400);
  const error = res.body.errors ? onlyError(res as never) : res.body.error;
  const code = res.body.errors ? error.extensions?.code : error.code;
  const fields = res.body.errors ? error.extensions?.fields : error.fields;
  expect(code).toBe('BAD_USER_INPUT');
  expect(Object.keys(fields ?? {})).toEqual(['tags']);
  for (const part of [...parts, `limit of ${LIMIT}`]) expect(fields.tags).toContain(String(part));
}

describe('addAgentTags', () => {
  it('refuses tags that would take an agent past 64, saying how many it has, and changes nothing', async () => {
    const agent = await newAgent(tagRange('have', 60));
    const eventsBefore = await tagEvents(agent.id);
    const refused = await admin(ADD, { id: agent.id, tags: tagRange('more', 5) });
    expectTagRefusal(refused, agent.name, 'has 60 tags', 'give it 65');
    expect(await tagsOf(agent.id)).toHaveLength(60);
    expect(await tagEvents(agent.id)).toBe(eventsBefore);

    // Up to the limit is fine, and a tag it already has adds nothing.
    const ok = await admin(ADD, { id: agent.id, tags: [...tagRange('more', 4), 'have0'] });
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.addAgentTags.tags).toHaveLength(LIMIT);
    expect((await admin(ADD, { id: agent.id, tags: ['have1'] })).body.errors).toBeUndefined();
    expectTagRefusal(await admin(ADD, { id: agent.id, tags: ['one-more'] }), 'has 64 tags', 'give it 65');
    expect(await tagsOf(agent.id)).toHaveLength(LIMIT);
  });
});

describe('bulkAddAgentTags', () => {
  it('refuses the whole action when the tags would take any selected agent past 64, naming it, and changes no agent', async () => {
    const full = await newAgent(tagRange('have', 62));
    const empty = await newAgent();
    const before = await tagEvents(empty.id);
    const refused = await admin(BULK_ADD, { f: { ids: [full.id, empty.id] }, tags: ['x1', 'x2', 'x3'] });
    expectTagRefusal(refused, '1 of the 2 selected agents', full.name, 'has 62 and would hold 65', 'Nothing was changed');
    expect(await tagsOf(full.id)).toHaveLength(62);
    expect(await tagsOf(empty.id)).toEqual([]);
    expect(await tagEvents(empty.id)).toBe(before);

    const ok = await admin(BULK_ADD, { f: { ids: [full.id, empty.id] }, tags: ['x1', 'x2'] });
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.bulkAddAgentTags).toMatchObject({ selected: 2, changed: 2 });
    expect(await tagsOf(full.id)).toHaveLength(LIMIT);
    expect(await tagsOf(empty.id)).toEqual(['x1', 'x2']);
    // Tags the full agent already has: it is not changed, and not refused.
    const again = await admin(BULK_ADD, { f: { ids: [full.id, empty.id] }, tags: ['x1', 'x2', 'have0'] });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data.bulkAddAgentTags).toMatchObject({ selected: 2, changed: 1, changedIds: [empty.id] });
  });
});

describe('registration', () => {
  const CREATE_KEY = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }';
  let keySecret: string;
  beforeAll(async () => {
    const res = await admin(CREATE_KEY, { input: { name: 'forty-tags', role: 'ENROLLMENT', defaultTags: tagRange('key', 40) } });
    expect(res.body.errors).toBeUndefined();
    keySecret = res.body.data.createApiKey.secret;
  });

  it("refuses a new agent whose tags, with the enrollment key's defaults, pass 64, over REST and GraphQL, and creates nothing", async () => {
    const total = await agentCount();
    const rest = await registerRest(server.url, keySecret, { name: 'too-many-rest', tags: tagRange('own', 30) });
    expectTagRefusal(rest, "enrollment key's 40 default tags", 'give the agent 70 tags', 'at most 24');
    const gql = await registerGraphQL(server.url, keySecret, { name: 'too-many-gql', type: 'x', host: 'h', port: 1, tags: tagRange('own', 25) });
    expectTagRefusal(gql, 'give the agent 65 tags');
    expect(await agentCount()).toBe(total);

    // The key's own tags count once when the agent sends them too.
    const ok = await registerRest(server.url, keySecret, { name: 'just-enough', tags: [...tagRange('own', 24), ...tagRange('key', 10)] });
    expect(ok.status).toBe(201);
    expect(ok.body.tags).toHaveLength(LIMIT);
  });

  it('refuses a re-registration whose tags, with those an admin set, would pass 64; its token, tags and fields stay', async () => {
    const name = `rereg-${++n}`;
    const first = await registerRest(server.url, server.enrollmentToken, { name, tags: ['mine'] });
    expect(first.status).toBe(201);
    const id = first.body.id as string;
    // The admin's tags survive every registration.
    expect((await admin(ADD, { id, tags: tagRange('admin', 60) })).body.errors).toBeUndefined();
    const eventsBefore = await tagEvents(id);

    const refused = await registerRest(server.url, first.body.token, { name, type: 'changed-type', tags: tagRange('own', 5) });
    expectTagRefusal(refused, 'has 61 tags, 60 of them set by an admin', 'give it 65');
    const agent = (await request(`${server.url}/api/v1/agents/${id}`, { token: server.viewerToken })).body;
    expect(agent.tags).toHaveLength(61);
    expect(agent.type).toBe(SEED_TYPE);
    expect(await tagEvents(id)).toBe(eventsBefore);
    // The token was not replaced.
    expect((await heartbeatRest(server.url, id, first.body.token)).status).toBe(200);

    // Replacing its own tag with four keeps it within the limit.
    const ok = await registerRest(server.url, first.body.token, { name, tags: tagRange('own', 4) });
    expect(ok.status).toBe(200);
    expect(ok.body.tags).toHaveLength(LIMIT);
    expect(ok.body.tags).not.toContain('mine');
  });
});

const SEED_TYPE = 'api_agent';
