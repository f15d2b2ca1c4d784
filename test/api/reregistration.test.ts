import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError, registerGraphQL, registerRest } from '../helpers/agents';
import { graphql, request, SEED_AGENT } from '../helpers/client';
import { heartbeatRest, OffsetClock } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Re-registering an existing identity (name, host, port, environment): the enrollment
 * token alone cannot take over a live agent; the agent's own token or an admin can;
 * admin-set tags survive; each change is an event of its own.
 */
const clock = new OffsetClock();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ clock });
});
afterAll(() => server?.close());

let n = 0;
const identity = () => ({ ...SEED_AGENT, name: `rereg-${++n}`, host: 'rereg.company.com' });

/** Registers through REST and heartbeats once, so the agent is online and has been heard from. */
async function liveAgent(fields: Record<string, unknown>) {
  const reg = await registerRest(server.url, server.enrollmentToken, fields);
  expect(reg.status).toBe(201);
  const beat = await heartbeatRest(server.url, reg.body.id, reg.body.token, { health: { status: 'healthy' } });
  expect(beat.status).toBe(200);
  return { id: reg.body.id as string, token: reg.body.token as string };
}

const get = (id: string) => request(`${server.url}/api/v1/agents/${id}`, { token: server.adminToken });
const configuration = (id: string, token: string) => request(`${server.url}/api/v1/agents/${id}/configuration`, { token });

async function eventsOf(id: string): Promise<{ type: string; data: Record<string, unknown>; status: string | null }[]> {
  const res = await graphql(server.url, server.adminToken, 'query($id: ID!) { agentEventLog(agentId: $id, last: 100) { type status data } }', { id });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.agentEventLog;
}

describe('the enrollment token cannot take over a live agent', () => {
  it('REST: 409 naming what to do; the agent keeps its token, interval, metadata and tags; nothing is logged', async () => {
    const fields = { ...identity(), tags: ['web'], metadata: { owner: 'real' } };
    const agent = await liveAgent(fields);
    const before = await eventsOf(agent.id);

    const takeover = await registerRest(server.url, server.enrollmentToken, { ...fields, heartbeat_interval_seconds: 3600, metadata: { owner: 'attacker' }, tags: [] });
    expect(takeover.status).toBe(409);
    expect(takeover.body.error.code).toBe('CONFLICT');
    expect(takeover.body.error.message).toMatch(/is online/);
    expect(takeover.body.error.message).toMatch(/its own token/);
    expect(takeover.body.error.message).toMatch(/admin/);
    expect(takeover.body.token).toBeUndefined();

    expect((await configuration(agent.id, agent.token)).status).toBe(200);
    const stored = await get(agent.id);
    expect(stored.body).toMatchObject({ heartbeat_interval_seconds: 30, metadata: { owner: 'real' }, tags: ['web'], status: 'online' });
    expect(await eventsOf(agent.id)).toEqual(before);
  });

  it('GraphQL: the same refusal as a CONFLICT error with HTTP 409', async () => {
    const fields = identity();
    const agent = await liveAgent(fields);
    const res = await registerGraphQL(server.url, server.enrollmentToken, { ...fields, heartbeatIntervalSeconds: 3600 });
    expect(res.status).toBe(409);
    const error = onlyError(res);
    expect(error.extensions?.code).toBe('CONFLICT');
    expect(error.message).toMatch(/its own token/);
    expect((await configuration(agent.id, agent.token)).status).toBe(200);
  });

  it('a degraded agent is protected as well', async () => {
    const fields = identity();
    const reg = await registerRest(server.url, server.enrollmentToken, fields);
    const beat = await heartbeatRest(server.url, reg.body.id, reg.body.token, { health: { status: 'degraded', message: 'slow disk' } });
    expect(beat.body.status).toBe('degraded');
    const takeover = await registerRest(server.url, server.enrollmentToken, fields);
    expect(takeover.status).toBe(409);
    expect(takeover.body.error.message).toMatch(/is degraded/);
  });

  it('an agent that has never sent a heartbeat may be registered again with the enrollment token (an install that retries)', async () => {
    const fields = identity();
    const first = await registerRest(server.url, server.enrollmentToken, fields);
    const again = await registerRest(server.url, server.enrollmentToken, fields);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect((await configuration(first.body.id, first.body.token)).status).toBe(401);
  });

  it('an agent past its deadline counts as offline: the enrollment token re-registers it (a reinstalled host)', async () => {
    const fields = identity();
    const agent = await liveAgent(fields);
    clock.advance(3 * 30_000 + 1_000);
    const again = await registerRest(server.url, server.enrollmentToken, fields);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(agent.id);
    expect(again.body.status).toBe('online');
    expect((await configuration(agent.id, agent.token)).status).toBe(401);
    expect((await configuration(agent.id, again.body.token)).status).toBe(200);
  });
});

describe('who may re-register a live agent', () => {
  it("the agent's own token (REST): same id, a fresh token, the old one revoked", async () => {
    const fields = identity();
    const agent = await liveAgent(fields);
    const again = await registerRest(server.url, agent.token, { ...fields, metadata: { version: 2 } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(agent.id);
    expect(again.body.metadata).toEqual({ version: 2 });
    expect(again.body.token).not.toBe(agent.token);
    expect((await configuration(agent.id, agent.token)).status).toBe(401);
    expect((await configuration(agent.id, again.body.token)).status).toBe(200);
    // The revoked token cannot register again either.
    expect((await registerRest(server.url, agent.token, fields)).status).toBe(401);
  });

  it("the agent's own token (GraphQL)", async () => {
    const fields = identity();
    const agent = await liveAgent(fields);
    const res = await registerGraphQL(server.url, agent.token, fields);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.registerAgent).toMatchObject({ created: false, agent: { id: agent.id } });
  });

  it('an admin token', async () => {
    const fields = identity();
    const agent = await liveAgent(fields);
    const rest = await registerRest(server.url, server.adminToken, fields);
    expect(rest.status).toBe(200);
    expect(rest.body.id).toBe(agent.id);
    const gql = await registerGraphQL(server.url, server.adminToken, fields);
    expect(gql.body.data.registerAgent).toMatchObject({ created: false, agent: { id: agent.id } });
  });

  it("another agent's token may neither re-register this agent nor create a new one (403), and writes nothing", async () => {
    const mine = await liveAgent(identity());
    const other = identity();
    const target = await liveAgent(other);
    const hijack = await registerRest(server.url, mine.token, other);
    expect(hijack.status).toBe(403);
    expect(hijack.body.error.message).toMatch(/only its own agent/);
    const fresh = { ...identity(), name: 'never-created-by-an-agent' };
    const create = await registerGraphQL(server.url, mine.token, fresh);
    expect(create.status).toBe(403);
    expect(onlyError(create).extensions?.code).toBe('FORBIDDEN');
    const found = await graphql(server.url, server.viewerToken, '{ agents(filter: { search: "never-created-by-an-agent" }) { totalCount } }');
    expect(found.body.data.agents.totalCount).toBe(0);
    expect((await configuration(target.id, target.token)).status).toBe(200);
  });

  it('viewer tokens still get 403, and no token 401', async () => {
    expect((await registerRest(server.url, server.viewerToken, identity())).status).toBe(403);
    expect((await registerRest(server.url, undefined, identity())).status).toBe(401);
  });
});

describe('tags and changes on re-registration', () => {
  it('admin-set tags survive a re-registration; the agent can replace only its own tags', async () => {
    const fields = identity();
    const agent = await liveAgent({ ...fields, tags: ['own-a', 'own-b'] });
    const add = await graphql(server.url, server.adminToken, 'mutation($id: ID!) { addAgentTags(agentId: $id, tags: ["pci", "own-b"]) { tags } }', { id: agent.id });
    expect(add.body.data.addAgentTags.tags).toEqual(['own-a', 'own-b', 'pci']);

    const again = await registerRest(server.url, agent.token, { ...fields, tags: ['own-c'] });
    expect(again.status).toBe(200);
    // own-a was the agent's and goes; own-b was claimed by the admin and stays; pci stays.
    expect(again.body.tags).toEqual(['own-b', 'own-c', 'pci']);
    expect((await get(agent.id)).body.tags).toEqual(['own-b', 'own-c', 'pci']);

    const cleared = await registerGraphQL(server.url, again.body.token, { ...fields, tags: [] });
    expect(cleared.body.data.registerAgent.agent.tags).toEqual(['own-b', 'pci']);

    const events = await eventsOf(agent.id);
    const tagEvents = events.filter((e) => e.type === 'TAGS_CHANGED');
    const self = `agent ${agent.id}`;
    expect(tagEvents.map((e) => e.data)).toEqual([
      { added: ['pci'], removed: [], actor: 'ADMIN_TOKEN' },
      { added: ['own-c'], removed: ['own-a'], reregistered: true, actor: self },
      { added: [], removed: ['own-c'], reregistered: true, actor: self },
    ]);
  });

  it('a registration without tags keeps every tag', async () => {
    const fields = identity();
    const agent = await liveAgent({ ...fields, tags: ['mine'] });
    await graphql(server.url, server.adminToken, 'mutation($id: ID!) { addAgentTags(agentId: $id, tags: ["theirs"]) { id } }', { id: agent.id });
    const again = await registerRest(server.url, agent.token, fields);
    expect(again.body.tags).toEqual(['mine', 'theirs']);
    expect((await eventsOf(agent.id)).filter((e) => e.type === 'TAGS_CHANGED')).toHaveLength(1);
  });

  it('an admin removing a tag removes it whoever set it; setAgentTags makes every named tag the admin’s', async () => {
    const fields = identity();
    const agent = await liveAgent({ ...fields, tags: ['a', 'b'] });
    await graphql(server.url, server.adminToken, 'mutation($id: ID!) { setAgentTags(agentId: $id, tags: ["a", "c"]) { id } }', { id: agent.id });
    const again = await registerRest(server.url, agent.token, { ...fields, tags: [] });
    expect(again.body.tags).toEqual(['a', 'c']);
    await graphql(server.url, server.adminToken, 'mutation($id: ID!) { removeAgentTags(agentId: $id, tags: ["a"]) { id } }', { id: agent.id });
    expect((await get(agent.id)).body.tags).toEqual(['c']);
  });

  it('an interval change is its own event, beside UPDATED naming what changed', async () => {
    const fields = identity();
    const agent = await liveAgent(fields);
    const again = await registerRest(server.url, agent.token, { ...fields, type: 'db_agent', heartbeat_interval_seconds: 3600 });
    expect(again.body.heartbeat_interval_seconds).toBe(3600);
    const events = await eventsOf(agent.id);
    const last = events.slice(events.findIndex((e) => e.type === 'UPDATED'));
    expect(last.map((e) => e.type)).toEqual(['UPDATED', 'INTERVAL_CHANGED']);
    expect(last[0].data).toEqual({ reregistered: true, changed: ['type'], actor: `agent ${agent.id}` });
    expect(last[1].data).toEqual({ previous: 30, interval: 3600, reregistered: true, actor: `agent ${agent.id}` });

    // Same interval again: no interval event.
    await registerGraphQL(server.url, again.body.token, { ...fields, type: 'db_agent', heartbeatIntervalSeconds: 3600 });
    const after = await eventsOf(agent.id);
    expect(after.filter((e) => e.type === 'INTERVAL_CHANGED')).toHaveLength(1);
    expect(after.at(-1)).toMatchObject({ type: 'UPDATED', data: { reregistered: true, changed: [] } });
  });
});
