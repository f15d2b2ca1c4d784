import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { heartbeatRest, registerAgent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

// A wide flush window, so heartbeats sent within 300 ms of each other are written
// together in one batched statement.
const FLUSH_MS = 300;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { HEARTBEAT_FLUSH_MS: String(FLUSH_MS) } });
});
afterAll(() => server?.close());

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `batch-${++counter}` });
const stateOf = async (id: string) =>
  (await graphql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { status health healthMessage lastHeartbeat } }', { id })).body.data.agent;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('heartbeats written together in one batch', () => {
  it('answers each heartbeat of a batch only once the batch is committed: a read right after any answer shows it', async () => {
    const agents = await Promise.all(Array.from({ length: 20 }, () => newAgent()));
    const results = await Promise.all(
      agents.map(async (agent, i) => {
        const res = await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'degraded', message: `batch-${i}` } });
        return { res, state: await stateOf(agent.id) };
      }),
    );
    for (const [i, { res, state }] of results.entries()) {
      expect(res.status).toBe(200);
      expect(state).toMatchObject({ status: 'DEGRADED', healthMessage: `batch-${i}` });
      expect(state.lastHeartbeat).not.toBeNull();
    }
  });

  it('answers every one of several heartbeats of one agent in a batch, each with the status that was committed', async () => {
    const agent = await newAgent();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'unhealthy', message: 'same' } })),
    );
    expect(answers.map((a) => [a.status, a.body.status])).toEqual(Array.from({ length: 10 }, () => [200, 'degraded']));
    expect(await stateOf(agent.id)).toMatchObject({ status: 'DEGRADED', health: 'UNHEALTHY', healthMessage: 'same' });
  });

  it('keeps the health of the highest sequence when seq 5 (degraded) and then seq 3 (healthy) land in one batch', async () => {
    const agent = await newAgent();
    const five = heartbeatRest(server.url, agent.id, agent.token, { sequence: 5, health: { status: 'degraded', message: 'seq 5' } });
    await pause(FLUSH_MS / 6);
    const three = heartbeatRest(server.url, agent.id, agent.token, { sequence: 3, health: { status: 'healthy' } });
    const [a5, a3] = await Promise.all([five, three]);
    expect(a5.status).toBe(200);
    expect(a3.status).toBe(200);
    expect(await stateOf(agent.id)).toMatchObject({ status: 'DEGRADED', health: 'DEGRADED', healthMessage: 'seq 5' });
    expect(a3.body).toMatchObject({ status: 'degraded', stale_sequence: true });
  });
});

describe('heartbeats racing in concurrent batches', () => {
  // Flushes every millisecond, several at once on PostgreSQL: one agent's heartbeats
  // land in batches that commit in any order.
  let fast: TestServer;
  beforeAll(async () => {
    fast = await startTestServer({ env: { HEARTBEAT_FLUSH_MS: '1' } });
  });
  afterAll(() => fast?.close());

  it('records each agent\u2019s transitions as one unbroken chain: every event starts where the one before it ended', async () => {
    const agents = await Promise.all(Array.from({ length: 8 }, (_, i) => registerAgent(fast.url, fast.enrollmentToken, { name: `race-${i}` })));
    const sender = async (agent: (typeof agents)[number], n: number) => {
      for (let i = 0; i < n; i++) {
        const status = Math.random() < 0.5 ? 'healthy' : 'degraded';
        expect((await heartbeatRest(fast.url, agent.id, agent.token, { health: { status } })).status).toBe(200);
      }
    };
    // Four senders per agent, no sequence numbers: whichever batch commits last decides.
    await Promise.all(agents.flatMap((agent) => Array.from({ length: 4 }, () => sender(agent, 15))));
    for (const agent of agents) {
      const res = await graphql(fast.url, fast.viewerToken, 'query($id: ID!) { agent(id: $id) { status } agentEventLog(agentId: $id, last: 500) { type previousStatus status } }', { id: agent.id });
      const changes = res.body.data.agentEventLog.filter((e: { type: string }) => e.type === 'STATUS_CHANGED');
      let status = 'ONLINE';
      for (const change of changes) {
        expect(change.previousStatus).toBe(status);
        expect(change.status).not.toBe(change.previousStatus);
        status = change.status;
      }
      expect(res.body.data.agent.status).toBe(status);
    }
  });
});
