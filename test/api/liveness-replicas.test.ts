import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/database';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient, type Agent, type Collected } from '../helpers/liveness';
import { spawnReplica, type Replica } from '../helpers/replica';
import { startTestServer, TOKENS, type TestServer } from '../helpers/server';

/**
 * Events cross replicas through the bus: LISTEN/NOTIFY on PostgreSQL, proven here with
 * two real server processes on one database; an in-process emitter on the embedded
 * database, which only ever has one process, proven with the same scenarios on one server.
 */

// Agents that miss a single 1 s interval go offline; sweeps run every 50 ms; the
// heartbeat feed reads every 100 ms.
const ENV = { MISSED_HEARTBEATS: '1', SWEEP_INTERVAL_MS: '50', HEARTBEAT_FEED_MS: '100' };
const FLEET = 200;

const STATUS_CHANGES = `subscription($filter: AgentFilter) {
  agentStatusChanged(filter: $filter) { cursor agent { id name } previousStatus status reason at }
}`;
const EVENTS = 'subscription { agentEvents { cursor type agentId previousStatus status agent { tags } } }';

let counter = 0;
const register = (url: string, fields: Record<string, unknown>) => registerAgent(url, TOKENS.enrollment, { name: `replica-${++counter}`, ...fields });

/**
 * Waits until a live (non-replaying) subscriber on `to` receives an event produced on
 * `from`: registers probe agents on `from` until one of them shows up in `sub`.
 */
async function connected(from: string, sub: Collected<any>): Promise<void> {
  const probes = new Set<string>();
  await waitFor(
    async () => {
      if (sub.items.some((e) => probes.has(e.agentId))) return true;
      probes.add((await register(from, { tags: ['probe'] })).id);
      return false;
    },
    { interval: 200, timeout: 20_000, what: 'a subscriber to receive events from the other replica' },
  );
}

/** (a) Each kind of event produced on `a` reaches a graphql-ws subscriber connected to `b`. */
async function relayScenario(a: string, b: string) {
  const client = wsClient(b, TOKENS.viewer);
  try {
    const events = subscribeWs(client, EVENTS);
    const changes = subscribeWs(client, STATUS_CHANGES, { filter: { tags: ['relay'] } });
    await connected(a, events);

    const agent = await register(a, { tags: ['relay'] });
    const tagged = await graphql(a, TOKENS.admin, 'mutation($id: ID!) { addAgentTags(agentId: $id, tags: ["relayed"]) { id } }', { id: agent.id });
    expect(tagged.body.errors).toBeUndefined();
    const beat = await heartbeatRest(a, agent.id, agent.token, { health: { status: 'degraded', message: 'from A' } });
    expect(beat.status).toBe(200);

    const mine = (await events.until((items) => items.filter((e) => e.agentId === agent.id).length >= 3)).filter((e) => e.agentId === agent.id);
    expect(mine.map((e) => e.type)).toEqual(['REGISTERED', 'TAGS_CHANGED', 'STATUS_CHANGED']);
    expect(mine[1].agent.tags).toEqual(['relay', 'relayed']);
    expect(mine[2]).toMatchObject({ previousStatus: 'ONLINE', status: 'DEGRADED' });
    const [change] = await changes.until((items) => items.length >= 1);
    expect(change).toMatchObject({ agent: { id: agent.id }, previousStatus: 'ONLINE', status: 'DEGRADED', reason: 'agent reported degraded: from A' });
  } finally {
    await client.dispose();
  }
}

const HEARTBEATS = 'subscription($ids: [ID!]!) { agentHeartbeats(agentIds: $ids) { heartbeats { at health agent { id status lastHeartbeat } } } }';

/** (c) A heartbeat taken by `a` reaches an agentHeartbeats subscriber connected to `b`. */
async function heartbeatFeedScenario(a: string, b: string) {
  const client = wsClient(b, TOKENS.viewer);
  try {
    const agent = await register(a, {});
    const sub = subscribeWs(client, HEARTBEATS, { ids: [agent.id] });
    // Beat until one arrives: the subscription may not be open for the first few, and its
    // first push (the agent's current state, once it has one) must show A's heartbeat.
    const sent: string[] = [];
    await waitFor(
      async () => {
        if (sub.items.length > 0) return true;
        const res = await heartbeatRest(a, agent.id, agent.token, { health: { status: 'degraded', message: 'from A' } });
        expect(res.status).toBe(200);
        sent.push(res.body.server_time);
        return false;
      },
      { interval: 250, timeout: 20_000, what: 'a heartbeat taken on one replica to reach a subscriber on the other' },
    );
    const [hb] = sub.items[0].heartbeats;
    expect(hb).toMatchObject({ health: 'DEGRADED', agent: { id: agent.id, status: 'DEGRADED', lastHeartbeat: hb.at } });
    expect(Date.parse(hb.at)).toBeLessThanOrEqual(Date.parse(sent.at(-1)!));
    sub.dispose();
  } finally {
    await client.dispose();
  }
}

/**
 * (b) `FLEET` agents registered across both replicas stop heartbeating: each goes
 * OFFLINE exactly once, in the log, and as seen by subscribers on both replicas.
 */
async function offlineOnceScenario(a: string, b: string, countInTable?: (ids: string[]) => Promise<Map<string, number>>) {
  const clients = [wsClient(a, TOKENS.viewer), wsClient(b, TOKENS.viewer)];
  try {
    const filter = { tags: ['fleet'] };
    const subs = clients.map((c) => subscribeWs(c, STATUS_CHANGES, { filter }));
    // Live on both sides once both see a probe fleet agent go offline.
    const probe = await register(a, { tags: ['fleet'], heartbeat_interval_seconds: 1 });
    for (const sub of subs) await sub.until((items) => items.some((e) => e.agent.id === probe.id && e.status === 'OFFLINE'), 20_000);

    const fleet: Agent[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < FLEET) {
          const i = next++;
          fleet.push(await register(i % 2 === 0 ? a : b, { tags: ['fleet'], heartbeat_interval_seconds: 1 }));
        }
      }),
    );
    const ids = new Set(fleet.map((f) => f.id));
    const offlineOf = (items: any[]) => items.filter((e) => ids.has(e.agent.id) && e.status === 'OFFLINE');
    for (const sub of subs) await sub.until((items) => new Set(offlineOf(items).map((e) => e.agent.id)).size === FLEET, 60_000);

    // Published after all of them: once it has arrived on both, so has any duplicate.
    const sentinel = await register(b, { tags: ['fleet'], heartbeat_interval_seconds: 1 });
    for (const sub of subs) await sub.until((items) => items.some((e) => e.agent.id === sentinel.id && e.status === 'OFFLINE'), 20_000);

    for (const sub of subs) {
      const ours = sub.items.filter((e) => ids.has(e.agent.id));
      expect(ours.length).toBe(FLEET);
      expect(new Set(ours.map((e) => e.agent.id)).size).toBe(FLEET);
      for (const e of ours) expect(e).toMatchObject({ previousStatus: 'ONLINE', status: 'OFFLINE' });
    }
    // Both replicas saw the very same log entries.
    const cursors = subs.map((sub) => sub.items.filter((e) => ids.has(e.agent.id)).map((e) => e.cursor));
    expect(cursors[0]).toEqual(cursors[1]);

    const log = await graphql(b, TOKENS.viewer, '{ agentEventLog(last: 1000) { cursor type agentId previousStatus status } }');
    const logged = (log.body.data.agentEventLog as any[]).filter((e) => ids.has(e.agentId));
    expect(logged.filter((e) => e.type === 'REGISTERED').length).toBe(FLEET);
    const transitions = logged.filter((e) => e.type === 'STATUS_CHANGED');
    expect(transitions.length).toBe(FLEET);
    expect(new Set(transitions.map((e) => e.agentId)).size).toBe(FLEET);
    expect(transitions.map((e) => e.cursor)).toEqual(cursors[0]);

    if (countInTable) {
      const counts = await countInTable([...ids]);
      expect(counts.size).toBe(FLEET);
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
    }
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
  }
}

if (onPostgres()) {
  describe('two server processes on one PostgreSQL database', () => {
    let database: TestDatabase;
    let replicas: Replica[] = [];
    beforeAll(async () => {
      database = await createTestDatabase();
      // Started together, as a deployment would: migrations take turns under a lock.
      replicas = await Promise.all([spawnReplica({ DATABASE_URL: database.url!, ...ENV }), spawnReplica({ DATABASE_URL: database.url!, ...ENV })]);
    }, 120_000);
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
      await database?.drop();
    }, 30_000);

    it('carries a registration, a tag change and a heartbeat transition made on replica A to a graphql-ws subscriber on replica B, and back', async () => {
      const [a, b] = replicas.map((r) => r.url);
      expect(a).not.toBe(b);
      await relayScenario(a, b);
      await relayScenario(b, a);
    }, 60_000);

    it('pushes a heartbeat taken by replica A to an agentHeartbeats subscriber on replica B, and back', async () => {
      const [a, b] = replicas.map((r) => r.url);
      await heartbeatFeedScenario(a, b);
      await heartbeatFeedScenario(b, a);
    }, 60_000);

    it(`marks each of ${FLEET} agents that stop heartbeating OFFLINE exactly once: once in the event log, once to subscribers on each replica`, async () => {
      const [a, b] = replicas.map((r) => r.url);
      await offlineOnceScenario(a, b, async (ids) => {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          const { rows } = await client.query(
            `select subject_id as agent_id, count(*)::int as n from events where subject_kind = 'agent' and type = 'status_changed' and payload->>'status' = 'offline' and subject_id = any($1::text[]) group by subject_id`,
            [ids],
          );
          return new Map(rows.map((r) => [r.agent_id as string, r.n as number]));
        } finally {
          await client.end();
        }
      });
    }, 150_000);
  });
} else {
  describe('one process on the embedded database, through the in-process bus', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ env: ENV });
    });
    afterAll(() => server?.close());

    it('delivers a registration, a tag change and a heartbeat transition to a graphql-ws subscriber through the in-process bus', async () => {
      await relayScenario(server.url, server.url);
    }, 60_000);

    it('pushes a heartbeat to an agentHeartbeats subscriber by reading the table', async () => {
      await heartbeatFeedScenario(server.url, server.url);
    }, 60_000);

    it(`marks each of ${FLEET} agents that stop heartbeating OFFLINE exactly once, in the log and to each of two subscribers`, async () => {
      await offlineOnceScenario(server.url, server.url);
    }, 150_000);
  });
}
