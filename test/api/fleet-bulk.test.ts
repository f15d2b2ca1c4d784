import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerGraphQL } from '../helpers/agents';
import { expectFields, gql } from '../helpers/alerts';
import { graphql } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
const ids: Record<string, string> = {};
const FLEET = [
  { name: 'node-10', environment: 'production', tags: ['web'] },
  { name: 'node-2', environment: 'production', tags: ['web', 'maint'] },
  { name: 'node-1', environment: 'production', tags: [] },
  { name: 'node-3', environment: 'production', tags: ['db'] },
  { name: 'stage-1', environment: 'staging', tags: ['web'] },
  { name: 'stage-2', environment: 'staging', tags: [] },
];

beforeAll(async () => {
  server = await startTestServer();
  for (const [i, a] of FLEET.entries()) {
    const res = await registerGraphQL(server.url, server.enrollmentToken, { ...a, type: 'web_server', host: `${a.name}.example.net`, port: 6000 + i });
    if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
    ids[a.name] = res.body.data.registerAgent.agent.id;
  }
});
afterAll(() => server?.close());

const PREVIEW = 'query($f: AgentFilter!, $first: Int) { agentSelectionPreview(filter: $f, first: $first) { count agents { name tags } } }';
const ADD = 'mutation($f: AgentFilter!, $tags: [String!]!) { bulkAddAgentTags(filter: $f, tags: $tags) { selected changed changedIds } }';
const REMOVE = 'mutation($f: AgentFilter!, $tags: [String!]!) { bulkRemoveAgentTags(filter: $f, tags: $tags) { selected changed changedIds } }';
const DEREGISTER = 'mutation($f: AgentFilter!) { bulkDeregisterAgents(filter: $f) { selected changed changedIds } }';
const tagsOf = async (name: string) => (await gql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { tags } }', { id: ids[name] })).agent.tags;
const eventsOf = async (name: string) =>
  (await gql(server.url, server.viewerToken, 'query($id: ID) { agentEventLog(agentId: $id) { type data } }', { id: ids[name] })).agentEventLog as { type: string; data: Record<string, unknown> }[];

describe('bulk actions', () => {
  it('previews a selection: how many, and the first ones in natural name order', async () => {
    const preview = (await gql(server.url, server.adminToken, PREVIEW, { f: { environment: 'production' }, first: 3 })).agentSelectionPreview;
    expect(preview).toEqual({
      count: 4,
      agents: [
        { name: 'node-1', tags: [] },
        { name: 'node-2', tags: ['maint', 'web'] },
        { name: 'node-3', tags: ['db'] },
      ],
    });
    expect((await gql(server.url, server.adminToken, PREVIEW, { f: { ids: [ids['stage-1'], ids['node-10']] } })).agentSelectionPreview.count).toBe(2);
  });

  it('adds tags to all that a filter selects, in one transaction, with one event per agent changed', async () => {
    const res = (await gql(server.url, server.adminToken, ADD, { f: { environment: 'production' }, tags: ['maint', 'q4'] })).bulkAddAgentTags;
    expect(res.selected).toBe(4);
    expect(res.changed).toBe(4);
    expect([...res.changedIds].sort()).toEqual(['node-1', 'node-10', 'node-2', 'node-3'].map((n) => ids[n]).sort());
    expect(await tagsOf('node-2')).toEqual(['maint', 'q4', 'web']);
    expect(await tagsOf('stage-1')).toEqual(['web']);
    const node2 = (await eventsOf('node-2')).filter((e) => e.type === 'TAGS_CHANGED');
    expect(node2).toEqual([{ type: 'TAGS_CHANGED', data: { added: ['q4'], removed: [], actor: 'ADMIN_TOKEN' } }]);
    expect((await eventsOf('node-1')).filter((e) => e.type === 'TAGS_CHANGED')).toEqual([{ type: 'TAGS_CHANGED', data: { added: ['maint', 'q4'], removed: [], actor: 'ADMIN_TOKEN' } }]);
  });

  it('removes tags from explicit ids; an agent that lacked them is selected but not changed', async () => {
    const res = (await gql(server.url, server.adminToken, REMOVE, { f: { ids: [ids['node-1'], ids['stage-2']] }, tags: ['q4', 'maint'] })).bulkRemoveAgentTags;
    expect(res).toEqual({ selected: 2, changed: 1, changedIds: [ids['node-1']] });
    expect(await tagsOf('node-1')).toEqual([]);
    expect((await eventsOf('stage-2')).map((e) => e.type)).toEqual(['REGISTERED']);
  });

  it('deregisters a selection, with one event each, and keeps their histories', async () => {
    const res = (await gql(server.url, server.adminToken, DEREGISTER, { f: { environment: 'staging' } })).bulkDeregisterAgents;
    expect(res.selected).toBe(2);
    expect([...res.changedIds].sort()).toEqual([ids['stage-1'], ids['stage-2']].sort());
    expect((await eventsOf('stage-1')).map((e) => e.type)).toEqual(['REGISTERED', 'DEREGISTERED']);
    expect((await eventsOf('stage-1')).at(-1)!.data).toMatchObject({ actor: 'ADMIN_TOKEN' });
    const gone = await gql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { name } kept: agent(id: $id, includeDeregistered: true) { name deregisteredAt } }', { id: ids['stage-1'] });
    expect(gone.agent).toBeNull();
    expect(gone.kept.name).toBe('stage-1');
    expect((await gql(server.url, server.viewerToken, '{ agentStatusCounts { total } }')).agentStatusCounts.total).toBe(4);
  });

  it('refuses an empty selection, an empty id list, no tags or a bad tag, with the field named, and writes nothing', async () => {
    expectFields(await graphql(server.url, server.adminToken, ADD, { f: { environment: 'nowhere' }, tags: ['x'] }), 'BAD_USER_INPUT', ['filter']);
    expectFields(await graphql(server.url, server.adminToken, ADD, { f: { ids: [ids['stage-1']] }, tags: ['x'] }), 'BAD_USER_INPUT', ['filter']);
    expectFields(await graphql(server.url, server.adminToken, DEREGISTER, { f: { ids: [] } }), 'BAD_USER_INPUT', ['filter.ids']);
    expectFields(await graphql(server.url, server.adminToken, ADD, { f: {}, tags: [] }), 'BAD_USER_INPUT', ['tags']);
    expectFields(await graphql(server.url, server.adminToken, ADD, { f: {}, tags: ['ok', 'not ok'] }), 'BAD_USER_INPUT', ['tags.1']);
    expectFields(await graphql(server.url, server.adminToken, PREVIEW, { f: {}, first: 101 }), 'BAD_USER_INPUT', ['first']);
    expect(await tagsOf('node-3')).toEqual(['db', 'maint', 'q4']);
  });

  it('is for admins only: a viewer token previews nothing and changes nothing', async () => {
    for (const [query, vars] of [
      [PREVIEW, { f: {} }],
      [ADD, { f: {}, tags: ['viewer'] }],
      [REMOVE, { f: {}, tags: ['maint'] }],
      [DEREGISTER, { f: {} }],
    ] as const) {
      const res = await graphql(server.url, server.viewerToken, query, vars);
      expect(res.body.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect(res.body.errors?.[0]?.message).toMatch(/admin/);
    }
    expect((await gql(server.url, server.viewerToken, '{ agentStatusCounts { total } }')).agentStatusCounts.total).toBe(4);
    expect(await tagsOf('node-3')).toEqual(['db', 'maint', 'q4']);
  });
});
