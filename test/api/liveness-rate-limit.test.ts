import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { heartbeatRest, registerAgent, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

// 20 heartbeats per second per replica, with a bucket holding one second's worth.
let server: TestServer;
let agents: Agent[];
beforeAll(async () => {
  server = await startTestServer({ env: { HEARTBEAT_RATE_LIMIT: '20' } });
  agents = [];
  for (let i = 0; i < 20; i++) agents.push(await registerAgent(server.url, server.enrollmentToken, { name: `burst-${i}` }));
});
afterAll(() => server?.close());

const AGENT = 'query($id: ID!) { agent(id: $id) { status healthMessage lastHeartbeat } }';
const stateOf = async (id: string) => (await graphql(server.url, server.viewerToken, AGENT, { id })).body.data.agent;
/** Waits out a refusal's Retry-After, so the next test starts with a full bucket. */
const waitOut = (seconds: number) => new Promise((r) => setTimeout(r, seconds * 1000));

describe('a burst of heartbeats', () => {
  let retryAfter = 1;

  it('absorbs 200 heartbeats sent at once at a limit of 20/s: some answered 429 with Retry-After, none 5xx, the rest 200', async () => {
    const sent = Array.from({ length: 200 }, (_, i) => ({ i, agent: agents[i % agents.length] }));
    const startedAt = performance.now();
    const answers = await Promise.all(
      sent.map(({ i, agent }) => heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'degraded', message: `request-${i}` } }).then((res) => ({ i, agent, res }))),
    );
    const statuses = answers.map((a) => a.res.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const limited = answers.filter((a) => a.res.status === 429);
    const accepted = answers.filter((a) => a.res.status === 200);
    const seconds = (performance.now() - startedAt) / 1000;
    expect(limited.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    // A full bucket of 20, plus what refilled while the burst was being answered.
    expect(accepted.length).toBeLessThanOrEqual(20 + Math.ceil(20 * seconds));
    for (const { res } of limited) {
      expect(res.body.error.code).toBe('RATE_LIMITED');
      const header = res.headers.get('retry-after');
      expect(header).toMatch(/^[1-9]\d*$/);
      retryAfter = Math.max(retryAfter, Number(header));
    }

    // A refused heartbeat wrote nothing: an agent shows one of its accepted heartbeats, or none.
    for (const agent of agents) {
      const mine = accepted.filter((a) => a.agent === agent).map((a) => `request-${a.i}`);
      const state = await stateOf(agent.id);
      if (mine.length === 0) expect(state).toMatchObject({ status: 'ONLINE', healthMessage: null, lastHeartbeat: null });
      else expect(mine).toContain(state.healthMessage);
    }
  });

  it('still answers afterwards: once Retry-After has passed, a heartbeat succeeds and the other doors respond', async () => {
    await waitOut(retryAfter);
    const res = await heartbeatRest(server.url, agents[0].id, agents[0].token, { health: { status: 'healthy', message: 'after the burst' } });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('online');
    expect(await stateOf(agents[0].id)).toMatchObject({ status: 'ONLINE', healthMessage: 'after the burst' });
    expect((await request(`${server.url}/health`)).status).toBe(200);
    const counts = await graphql(server.url, server.viewerToken, '{ agentStatusCounts { total } }');
    expect(counts.body.data.agentStatusCounts.total).toBe(agents.length);
  });

  it('refuses GraphQL heartbeats over the limit with RATE_LIMITED, HTTP 429 and Retry-After', async () => {
    await waitOut(retryAfter);
    const input = (agent: Agent) => ({ input: { agentId: agent.id, health: { status: 'HEALTHY' } } });
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => graphql(server.url, agents[i % agents.length].token, 'mutation($input: HeartbeatInput!) { heartbeat(input: $input) { status } }', input(agents[i % agents.length]))),
    );
    expect(answers.filter((a) => a.status >= 500)).toEqual([]);
    const limited = answers.filter((a) => a.body.errors);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.length - limited.length).toBeGreaterThan(0);
    for (const res of limited) {
      expect(res.status).toBe(429);
      expect(res.body.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    }
  });
});
