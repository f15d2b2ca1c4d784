import { sql } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableConsumer } from '../../api/events/consumers';
import type { EventRecord } from '../../api/events/events.types';
import { graphql } from '../helpers/client';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/database';
import { heartbeatRest, registerAgent, waitFor } from '../helpers/liveness';
import { spawnReplica, type Replica } from '../helpers/replica';
import { startTestServer, TOKENS, type TestServer } from '../helpers/server';

/**
 * Durable consumers: a named reader of the event log whose position is stored with its
 * own writes. The built-in one, `fleet-availability`, keeps the fleet's status counts
 * per minute; its totals must equal the fleet's counts exactly when it has caught up,
 * which is what handling every event once (no more, no less) means for it.
 */

let counter = 0;
const register = (server: TestServer, fields: Record<string, unknown> = {}) =>
  registerAgent(server.url, server.enrollmentToken, { name: `consumer-${++counter}`, ...fields });

const AVAILABILITY = '{ agentStatusCounts { online degraded offline } fleetAvailability { points { online degraded offline } } }';

/** The fleet's counts, and the newest point of the availability roll-up. */
async function countsAndRollup(url: string, token: string) {
  const res = await graphql(url, token, AVAILABILITY);
  expect(res.body.errors).toBeUndefined();
  return { counts: res.body.data.agentStatusCounts, rollup: res.body.data.fleetAvailability.points.at(-1) };
}

/** Waits until the roll-up agrees with the fleet, then checks it stays so (no late duplicate). */
async function rollupSettles(url: string, token: string) {
  const settled = await waitFor(async () => {
    const { counts, rollup } = await countsAndRollup(url, token);
    return JSON.stringify(counts) === JSON.stringify(rollup) ? (counts as { online: number; degraded: number; offline: number }) : undefined;
  }, { timeout: 30_000, what: 'the availability roll-up to match the fleet' });
  return settled;
}

/** Some churn: registrations, degradations, recoveries, a deregistration. */
async function churn(server: TestServer, n: number) {
  const agents = await Promise.all(Array.from({ length: n }, () => register(server)));
  await Promise.all(agents.slice(0, Math.ceil(n / 2)).map((a) => heartbeatRest(server.url, a.id, a.token, { health: { status: 'degraded' } })));
  await Promise.all(agents.slice(0, Math.ceil(n / 4)).map((a) => heartbeatRest(server.url, a.id, a.token, { health: { status: 'healthy' } })));
  await graphql(server.url, server.adminToken, 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }', { id: agents[n - 1].id });
  return agents;
}

describe('the fleet-availability consumer on one server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('keeps the fleet’s counts per minute from every agent event, each handled once', async () => {
    await churn(server, 24);
    const counts = await rollupSettles(server.url, server.viewerToken);
    expect(counts.online + counts.degraded + counts.offline).toBe(23);
    const [lag] = (await server.app.consumers.lag()).filter((c) => c.name === 'fleet-availability');
    expect(lag).toMatchObject({ behindEvents: 0, behindSeconds: 0 });
    expect(lag.owner).toBe(server.app.consumers.replicaId);
  });

  it('answers fleetAvailability over a range in whole-minute steps, and refuses a range that is backwards or too fine', async () => {
    const to = new Date();
    const from = new Date(to.getTime() - 3_600_000);
    const res = await graphql(server.url, server.viewerToken, 'query($from: DateTime, $to: DateTime) { fleetAvailability(from: $from, to: $to, stepSeconds: 600) { stepSeconds points { at online } } }', { from, to });
    expect(res.body.data.fleetAvailability.stepSeconds).toBe(600);
    expect(res.body.data.fleetAvailability.points).toHaveLength(6);
    expect(Date.parse(res.body.data.fleetAvailability.points.at(-1).at)).toBe(to.getTime());
    for (const [args, field] of [
      [{ from: to, to: from }, 'from'],
      [{ stepSeconds: 90 }, 'stepSeconds'],
      [{ stepSeconds: 60, from: new Date(to.getTime() - 30 * 86_400_000), to }, 'stepSeconds'],
    ] as const) {
      const bad = await graphql(server.url, server.viewerToken, 'query($from: DateTime, $to: DateTime, $step: Int) { fleetAvailability(from: $from, to: $to, stepSeconds: $step) { stepSeconds } }', {
        ...args,
        step: 'stepSeconds' in args ? args.stepSeconds : undefined,
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { [field]: expect.any(String) } });
    }
  });

  it('reads the payloads of its own kinds only: events of other kinds pass by without theirs', async () => {
    const { app } = server;
    const [newest] = await app.events.before(undefined, 1);
    const from = newest?.position ?? { tx: 0n, id: 0n };
    const agent = await register(server);
    const key = await graphql(server.url, server.adminToken, 'mutation { createApiKey(input: { name: "consumer-payloads", role: VIEWER }) { key { id } } }');
    expect(key.body.errors).toBeUndefined();
    const read = (payloadOf?: string[]) =>
      waitFor(async () => {
        const records = await app.events.after(from, 1_000, payloadOf && { payloadOf });
        return records.some((r) => r.subjectId === agent.id) && records.some((r) => r.kind !== 'agent') ? records : undefined;
      }, { what: 'the agent event and the key event' });
    const slim = await read(['agent']);
    for (const r of slim) {
      if (r.kind === 'agent') expect(r.payload).toMatchObject({ agent: { id: r.subjectId } });
      else expect(r.payload).toBeNull();
    }
    const full = await read();
    expect(full.map((r) => r.cursor)).toEqual(slim.map((r) => r.cursor));
    expect(full.filter((r) => r.kind !== 'agent').every((r) => r.payload !== null)).toBe(true);
  });

  it('rolls a batch back when its handler fails midway, and handles it again, once, on the next try', async () => {
    const { app } = server;
    const table = `consumer_probe_${process.pid}`;
    await app.database.db.execute(sql.raw(`create table ${table} (event_id text not null)`));
    let failures = 1;
    const probe = new DurableConsumer(
      {
        name: `probe-${process.pid}`,
        startAt: 'end',
        kinds: ['agent'],
        async handle(tx, events: EventRecord[]) {
          for (const e of events) await tx.execute(sql`insert into ${sql.identifier(table)} values (${e.cursor})`);
          // Dies after writing its effects: the batch's writes and position must go together.
          if (failures-- > 0) throw new Error('handler failed midway');
        },
      },
      { db: app.database.db, log: app.events, bus: app.events.bus, clock: app.clock, leaseMs: 2_000, replicaId: 'probe-replica', onError: () => {} },
    );
    await probe.start();
    try {
      const agents = await Promise.all(Array.from({ length: 5 }, () => register(server)));
      const rows = await waitFor(async () => {
        const result = (await app.database.db.execute(sql.raw(`select event_id, count(*)::int as n from ${table} group by event_id`))) as unknown as { rows: { event_id: string; n: number }[] };
        return result.rows.length >= 5 ? result.rows : undefined;
      }, { what: 'the probe to handle the registrations' });
      expect(failures).toBeLessThan(0);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      expect(rows).toHaveLength(agents.length);
    } finally {
      await probe.stop();
      await app.database.db.execute(sql.raw(`drop table ${table}`));
    }
  });

  it('begins no batch while the replica’s urgent work runs, and handles what waited once it ends', async () => {
    const { app } = server;
    let release!: () => void;
    let urgent: Promise<void> | undefined = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const patient = new DurableConsumer(
      {
        name: `patient-${process.pid}`,
        startAt: 'end',
        kinds: ['agent'],
        async handle(_tx, events: EventRecord[]) {
          handled.push(...events.map((e) => e.cursor));
        },
      },
      { db: app.database.db, log: app.events, bus: app.events.bus, clock: app.clock, leaseMs: 2_000, replicaId: 'patient-replica', onError: () => {}, urgent: () => urgent },
    );
    await patient.start();
    try {
      await Promise.all(Array.from({ length: 3 }, () => register(server)));
      await app.feed.idle();
      await new Promise((r) => setTimeout(r, 300));
      expect(handled).toEqual([]);
      urgent = undefined;
      release();
      await waitFor(() => handled.length >= 3, { what: 'the consumer to handle what waited' });
      expect(new Set(handled).size).toBe(handled.length);
    } finally {
      await patient.stop();
    }
  });

  it('reports lag: events and seconds behind while a consumer cannot make progress, nothing once it caught up', async () => {
    const { app } = server;
    let failing = true;
    const name = `stuck-${process.pid}`;
    const stuck = new DurableConsumer(
      {
        name,
        startAt: 'end',
        kinds: ['agent'],
        async handle() {
          if (failing) throw new Error('cannot make progress');
        },
      },
      { db: app.database.db, log: app.events, bus: app.events.bus, clock: app.clock, leaseMs: 2_000, replicaId: 'stuck-replica', onError: () => {} },
    );
    await stuck.start();
    try {
      await Promise.all(Array.from({ length: 3 }, () => register(server)));
      const behind = await waitFor(async () => {
        const lag = (await app.consumers.lag()).find((c) => c.name === name);
        return lag && lag.behindSeconds >= 1 ? lag : undefined;
      }, { what: 'the lag to reach a second' });
      expect(behind.behindEvents).toBeGreaterThanOrEqual(3);
      expect(behind.owner).toBe('stuck-replica');
      failing = false;
      stuck.wake();
      const caughtUp = await waitFor(async () => {
        const lag = (await app.consumers.lag()).find((c) => c.name === name);
        return lag?.behindEvents === 0 ? lag : undefined;
      }, { what: 'the consumer to catch up' });
      expect(caughtUp.behindSeconds).toBe(0);
      expect(caughtUp.handled).toBeGreaterThanOrEqual(3n);
    } finally {
      await stuck.stop();
    }
  });
});

describe('a consumer restarted', () => {
  let database: TestDatabase;
  let dataDir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'am-consumer-'));
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = () => (database.url ? startTestServer({ databaseUrl: database.url }) : startTestServer({ env: { DATA_DIR: dataDir } }));

  it('resumes from its stored position: what it handled before is not handled again, what came while it was down is', async () => {
    const first = await start();
    await churn(first, 10);
    await rollupSettles(first.url, first.viewerToken);
    const [before] = (await first.app.consumers.lag()).filter((c) => c.name === 'fleet-availability');
    await first.close();

    const second = await start();
    try {
      // Handled by the first server, so not counted again; then new events.
      await churn(second, 6);
      const counts = await rollupSettles(second.url, second.viewerToken);
      expect(counts.online + counts.degraded + counts.offline).toBe(9 + 5);
      const [after] = (await second.app.consumers.lag()).filter((c) => c.name === 'fleet-availability');
      expect(after.handled).toBeGreaterThan(before.handled);
    } finally {
      await second.close();
    }
    // Two starts of an embedded database kept on disk, each migrating and writing it.
  }, 120_000);
});

if (onPostgres()) {
  describe('two replicas in one process sharing a database', () => {
    it('runs a consumer on one replica at a time, and the other takes over within a few seconds when it goes', async () => {
      const database = await createTestDatabase();
      const env = { CONSUMER_LEASE_MS: '1000' };
      const a = await startTestServer({ databaseUrl: database.url, env });
      const b = await startTestServer({ databaseUrl: database.url, env });
      try {
        const active = () => [a, b].filter((s) => s.app.consumers.all.some((c) => c.definition.name === 'fleet-availability' && c.active));
        await waitFor(() => active().length === 1, { what: 'one replica to hold the lease' });
        const [holder] = active();
        const other = holder === a ? b : a;
        for (let i = 0; i < 10; i++) {
          expect(active().length).toBeLessThanOrEqual(1);
          await new Promise((r) => setTimeout(r, 100));
        }
        await churn(other, 6);
        await rollupSettles(other.url, other.viewerToken);
        const handover = Date.now();
        await holder.close();
        await churn(other, 6);
        await waitFor(() => other.app.consumers.all.some((c) => c.definition.name === 'fleet-availability' && c.active), { what: 'the other replica to take over' });
        expect(Date.now() - handover).toBeLessThan(3_000);
        await rollupSettles(other.url, other.viewerToken);
      } finally {
        await a.close().catch(() => {});
        await b.close().catch(() => {});
        await database.drop();
      }
    });
  });
}

if (onPostgres()) {
  describe('two server processes, one killed mid-batch', () => {
    it('handles every event exactly once: the batch the killed replica had begun is undone, and the survivor handles it after taking the lease', async () => {
      const database = await createTestDatabase();
      const url = (name: string) => `${database.url}?application_name=${name}`;
      const env = { CONSUMER_LEASE_MS: '1000', LOG_LEVEL: 'error' };
      const replicas: Record<string, Replica> = {};
      const outsider = new pg.Client({ connectionString: database.url });
      const watcher = new pg.Client({ connectionString: database.url });
      try {
        replicas.a = await spawnReplica({ DATABASE_URL: url('replica-a'), ...env });
        replicas.b = await spawnReplica({ DATABASE_URL: url('replica-b'), ...env });
        await outsider.connect();
        await watcher.connect();
        const server = (name: string) => ({ url: replicas[name].url, enrollmentToken: TOKENS.enrollment }) as TestServer;

        // Settle once, so the consumer is running somewhere.
        await register(server('a'));
        await rollupSettles(replicas.a.url, TOKENS.viewer);

        // Hold the roll-up table: the next batch, wherever it runs, blocks inside its
        // transaction after reading its events and before it can commit.
        await outsider.query('begin');
        await outsider.query('lock table agent_status_minutes in share mode');
        await Promise.all(Array.from({ length: 40 }, (_, i) => register(server(i % 2 ? 'a' : 'b'))));
        // Watched from outside that transaction: inside it, pg_stat_activity is read once
        // and kept until it ends, so a batch that blocks after the first look never shows.
        const blocked = await waitFor(async () => {
          const { rows } = await watcher.query(
            `select application_name from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ilike '%agent_status_minutes%'`,
          );
          return rows[0]?.application_name as string | undefined;
        }, { timeout: 30_000, what: 'a consumer batch to block on the roll-up table' });
        const victim = blocked === 'replica-a' ? 'a' : 'b';
        const survivor = victim === 'a' ? 'b' : 'a';
        await replicas[victim].kill();
        await outsider.query('commit');

        // The survivor takes over once the lease runs out, and handles the batch again.
        await Promise.all(Array.from({ length: 10 }, () => register(server(survivor))));
        const counts = await rollupSettles(replicas[survivor].url, TOKENS.viewer);
        expect(counts.online).toBe(51);
        const { rows } = await outsider.query(
          `select c.handled::int as handled, (select count(*)::int from events where subject_kind = 'agent') as events, c.owner from event_consumers c where name = 'fleet-availability'`,
        );
        expect(rows[0].handled).toBe(rows[0].events);
      } finally {
        await outsider.end().catch(() => {});
        await watcher.end().catch(() => {});
        await Promise.all(Object.values(replicas).map((r) => r.stop()));
        await database.drop();
      }
    }, 120_000);
  });
}
