import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { subscribeWs, waitFor, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A database written by the version before the domain-neutral event log: its agent
 * events are carried over, in order, and a client's old cursor still resumes.
 */
const migrations = fileURLToPath(new URL('../../drizzle', import.meta.url));
const BEFORE = '20261130'; // the first migration of the event log, and all after it, are left out

const AGENT_ID = '5b0e4f1c-8a1e-4d59-9a34-0d1f2a3b4c5d';
const snapshot = (status: string) => ({
  id: AGENT_ID,
  name: 'old-agent',
  type: 'api_agent',
  host: 'old.example.com',
  port: 80,
  environment: 'production',
  status,
  health: 'healthy',
  healthMessage: null,
  metadata: { region: 'eu' },
  heartbeatIntervalSeconds: 30,
  lastHeartbeat: null,
  lastSequence: null,
  offlineAt: '2026-11-29T10:01:30.000Z',
  configurationRevision: 0,
  tags: ['legacy'],
  createdAt: '2026-11-29T10:00:00.000Z',
  updatedAt: '2026-11-29T10:00:00.000Z',
});

async function writeOldDatabase(run: (query: ReturnType<typeof sql>) => Promise<unknown>) {
  await run(sql`insert into agents (id, name, type, host, port, environment, token_hash, offline_at, created_at, updated_at)
    values (${AGENT_ID}, 'old-agent', 'api_agent', 'old.example.com', 80, 'production', ${'0'.repeat(64)}, now() - interval '1 minute', now(), now())`);
  await run(sql`insert into agent_configurations (agent_id, key, value) values (${AGENT_ID}, 'log.level', '"debug"'::jsonb), (${AGENT_ID}, 'limits', '{"cpu": 1}'::jsonb)`);
  await run(sql`update agents set configuration_revision = 2 where id = ${AGENT_ID}`);
  await run(sql`insert into agent_events (agent_id, type, status, agent, at) values (${AGENT_ID}, 'registered', 'online', ${JSON.stringify(snapshot('online'))}::jsonb, '2026-11-29T10:00:00Z')`);
  await run(sql`insert into agent_events (agent_id, type, previous_status, status, reason, agent, at)
    values (${AGENT_ID}, 'status_changed', 'online', 'offline', 'no heartbeat for 3 × 30 s', ${JSON.stringify(snapshot('offline'))}::jsonb, '2026-11-29T10:01:30Z')`);
  await run(sql`insert into agent_events (agent_id, type, previous_status, status, reason, agent, at)
    values (${AGENT_ID}, 'status_changed', 'offline', 'online', 'heartbeat received', ${JSON.stringify(snapshot('online'))}::jsonb, '2026-11-29T10:02:00Z')`);
}

describe('upgrading a database from before the domain-neutral event log', () => {
  let database: TestDatabase;
  let dataDir: string;
  let oldMigrations: string;
  let server: TestServer;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'am-upgrade-'));
    oldMigrations = mkdtempSync(path.join(tmpdir(), 'am-old-migrations-'));
    for (const entry of readdirSync(migrations)) if (entry < BEFORE) cpSync(path.join(migrations, entry), path.join(oldMigrations, entry), { recursive: true });
    if (database.url) {
      const pool = new pg.Pool({ connectionString: database.url });
      const db = drizzlePg({ client: pool });
      await migratePg(db, { migrationsFolder: oldMigrations });
      await writeOldDatabase((q) => db.execute(q));
      await pool.end();
      server = await startTestServer({ databaseUrl: database.url });
    } else {
      const client = new PGlite(dataDir);
      const db = drizzlePglite({ client });
      await migratePglite(db, { migrationsFolder: oldMigrations });
      await writeOldDatabase((q) => db.execute(q));
      await client.close();
      server = await startTestServer({ env: { DATA_DIR: dataDir } });
    }
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(oldMigrations, { recursive: true, force: true });
  });

  it('keeps the agent’s history, in its order, and resumes a subscription from a cursor the old version handed out', async () => {
    const res = await graphql(server.url, server.viewerToken, `{ agentEventLog(agentId: "${AGENT_ID}") { cursor type previousStatus status reason agent { name tags metadata statusChangedAt } } }`);
    const log = res.body.data.agentEventLog;
    expect(log.map((e: any) => [e.type, e.previousStatus, e.status])).toEqual([
      ['REGISTERED', null, 'ONLINE'],
      ['STATUS_CHANGED', 'ONLINE', 'OFFLINE'],
      ['STATUS_CHANGED', 'OFFLINE', 'ONLINE'],
    ]);
    expect(log[1]).toMatchObject({ reason: 'no heartbeat for 3 × 30 s', agent: { name: 'old-agent', tags: ['legacy'], metadata: { region: 'eu' } } });
    // Snapshots from before statusChangedAt: their agent's last change, updatedAt, stands in.
    expect(log[1].agent.statusChangedAt).toBe('2026-11-29T10:00:00.000Z');

    // The old version's cursors were bare ids: the first event's was "1".
    const ws = wsClient(server.url, server.viewerToken);
    try {
      const resumed = subscribeWs(ws, 'subscription { agentEvents(after: "1") { type status agentId } }');
      const items = await resumed.until((all) => all.length >= 2);
      expect(items.slice(0, 2).map((e) => [e.type, e.status])).toEqual([
        ['STATUS_CHANGED', 'OFFLINE'],
        ['STATUS_CHANGED', 'ONLINE'],
      ]);
    } finally {
      await ws.dispose();
    }
  });

  it('stamps configuration keys from before keys had revisions with their agent\'s revision, so a check-and-set of what an operator read succeeds', async () => {
    const read = await graphql(server.url, server.viewerToken, `{ agent(id: "${AGENT_ID}") { configurationRevision configuration { key revision } } }`);
    expect(read.body.data.agent).toEqual({ configurationRevision: 2, configuration: [{ key: 'limits', revision: 2 }, { key: 'log.level', revision: 2 }] });
    const set = await graphql(server.url, server.adminToken, `mutation { setAgentConfiguration(agentId: "${AGENT_ID}", key: "log.level", value: "info", ifRevision: 2) { configuration { key value revision } } }`);
    expect(set.body.errors).toBeUndefined();
    expect(set.body.data.setAgentConfiguration.configuration).toContainEqual({ key: 'log.level', value: 'info', revision: 3 });
  });

  it('gives an agent that was up, and fell due while the server was down, a grace period on the first start, since nothing recorded when sweeping last ran', async () => {
    const res = await graphql(server.url, server.viewerToken, `{ agent(id: "${AGENT_ID}") { status offlineAt statusChangedAt } }`);
    expect(res.body.data.agent.status).toBe('ONLINE');
    // Filled by the migration from the agent's latest transition in the log.
    expect(res.body.data.agent.statusChangedAt).toBe('2026-11-29T10:02:00.000Z');
    // One full deadline (3 × 30 s) from the start.
    expect(Date.parse(res.body.data.agent.offlineAt)).toBeGreaterThan(Date.now() + 60_000);
    await waitFor(async () => {
      const counts = await graphql(server.url, server.viewerToken, '{ fleetAvailability { points { online } } }');
      return counts.body.data.fleetAvailability.points.at(-1).online === 1;
    }, { what: 'the availability roll-up to count the carried-over agent' });
  });
});
