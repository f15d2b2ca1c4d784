import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/database';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient, type Agent, type Collected } from '../helpers/liveness';
import { spawnReplica, type Replica } from '../helpers/replica';
import { TOKENS } from '../helpers/server';
import { startTcpProxy } from '../helpers/tcp-proxy';

/**
 * No false OFFLINE after the server's own outage, with real processes: 200 agents at a
 * 2 s interval keep trying to heartbeat while every replica is down for 20 s (or, on
 * PostgreSQL, while the database cannot be reached for 20 s). Afterwards the agents
 * that resume never go offline, and those that stay silent go offline when the grace
 * (one full deadline, 3 × 2 s) ends, within a second, as a subscriber sees it.
 */
const AGENTS = 200;
const SILENT = 20;
const INTERVAL_S = 2;
const DEADLINE_MS = 3 * INTERVAL_S * 1000;
const OUTAGE_MS = 20_000;
const ENV = { MISSED_HEARTBEATS: '3' };

const CHANGES = 'subscription { agentStatusChanged(filter: { tags: ["outage"] }) { agent { id offlineAt } previousStatus status reason at } }';

/** Agents heartbeating every interval to whichever replica `urls()` names, until stopped. */
function heartbeatLoops(agents: Agent[], urls: () => string[]) {
  const silent = new Set<string>();
  let running = true;
  const loops = agents.map(async (agent, i) => {
    await new Promise((r) => setTimeout(r, Math.random() * INTERVAL_S * 1000));
    while (running) {
      if (!silent.has(agent.id)) {
        const list = urls();
        if (list.length > 0) await heartbeatRest(list[i % list.length], agent.id, agent.token).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, INTERVAL_S * 1000));
    }
  });
  return {
    silence: (ids: string[]) => ids.forEach((id) => silent.add(id)),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

interface Outage {
  /** Starts the replicas; `urls` lists where agents and subscribers reach them. */
  start(): Promise<string[]>;
  /** Makes the server unavailable for OUTAGE_MS and then available again; resolves when it is. */
  outage(): Promise<string[]>;
  close(): Promise<void>;
}

async function scenario(outage: Outage) {
  let urls = await outage.start();
  const agents = await Promise.all(
    Array.from({ length: AGENTS }, (_, i) => registerAgent(urls[0], TOKENS.enrollment, { name: `outage-${i}`, tags: ['outage'], heartbeat_interval_seconds: INTERVAL_S })),
  );
  const loops = heartbeatLoops(agents, () => urls);
  try {
    await new Promise((r) => setTimeout(r, 2 * INTERVAL_S * 1000));
    const silent = agents.slice(0, SILENT).map((a) => a.id);
    loops.silence(silent);
    const down = Date.now();
    urls = [];
    urls = await outage.outage();
    const back = Date.now();

    const client = wsClient(urls[urls.length - 1], TOKENS.viewer);
    let changes: Collected<any> | undefined;
    try {
      changes = subscribeWs(client, CHANGES);
      const offline = await changes.until((items) => items.filter((e) => e.status === 'OFFLINE').length >= SILENT, DEADLINE_MS + 15_000);
      const receivedAt = Date.now();
      // Long enough for a false OFFLINE of a resumed agent to show: they heartbeat every 2 s.
      await new Promise((r) => setTimeout(r, 2 * INTERVAL_S * 1000));
      const offlineIds = changes.items.filter((e) => e.status === 'OFFLINE').map((e) => e.agent.id);
      expect(new Set(offlineIds)).toEqual(new Set(silent));
      expect(offlineIds).toHaveLength(SILENT);
      for (const e of offline) {
        expect(e.reason).toMatch(/^no heartbeat within the grace period/);
        // The grace is a full deadline from when the server came back.
        expect(Date.parse(e.agent.offlineAt)).toBeGreaterThanOrEqual(back - 3_000 + DEADLINE_MS);
        expect(Date.parse(e.at) - Date.parse(e.agent.offlineAt)).toBeLessThan(1_000);
      }
      // Delivered to the subscriber within a second of the grace's end.
      const graceEnd = Math.max(...offline.map((e) => Date.parse(e.agent.offlineAt)));
      expect(receivedAt - graceEnd).toBeLessThan(1_500);
    } finally {
      changes?.dispose();
      await client.dispose();
    }

    // Nothing in the log either: no OFFLINE since the outage began but for the silent ones.
    const log = await graphql(urls[0], TOKENS.viewer, '{ agentEventLog(last: 1000) { type status agentId at } }');
    const offlineSince = (log.body.data.agentEventLog as any[]).filter((e) => e.type === 'STATUS_CHANGED' && e.status === 'OFFLINE' && Date.parse(e.at) >= down);
    expect(new Set(offlineSince.map((e) => e.agentId))).toEqual(new Set(silent));
    expect(offlineSince).toHaveLength(SILENT);
  } finally {
    await loops.stop();
  }
}

describe('after every replica was down for 20 s', () => {
  let database: TestDatabase;
  let dataDir: string;
  let replicas: Replica[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'am-outage-'));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // Two replicas on PostgreSQL; the embedded database is one process by nature.
  const env = () => (database.url ? { DATABASE_URL: database.url, ...ENV } : { DATA_DIR: dataDir, ...ENV });
  const spawnAll = async () => {
    replicas = await Promise.all(Array.from({ length: database.url ? 2 : 1 }, () => spawnReplica(env())));
    return replicas.map((r) => r.url);
  };

  it('marks none of the agents that resume offline, and the silent ones offline when the grace ends', async () => {
    await scenario({
      start: spawnAll,
      async outage() {
        await Promise.all(replicas.map((r) => r.kill()));
        await new Promise((r) => setTimeout(r, OUTAGE_MS));
        return spawnAll();
      },
      close: async () => {},
    });
  }, 180_000);
});

if (onPostgres()) {
  describe('after the database could not be reached for 20 s', () => {
    it('marks none of the agents that resume offline, and the silent ones offline when the grace ends', async () => {
      const database = await createTestDatabase();
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(database.url!).port || 5432) });
      const through = new URL(database.url!);
      through.host = `127.0.0.1:${proxy.port}`;
      let replica: Replica | undefined;
      try {
        await scenario({
          async start() {
            replica = await spawnReplica({ DATABASE_URL: through.toString(), ...ENV, LOG_LEVEL: 'silent' });
            return [replica.url];
          },
          async outage() {
            await proxy.cut();
            await new Promise((r) => setTimeout(r, OUTAGE_MS));
            await proxy.restore();
            // Back once the replica answers from its database again.
            await waitFor(async () => (await graphql(replica!.url, TOKENS.viewer, '{ agentStatusCounts { total } }')).status === 200, { timeout: 20_000, interval: 100, what: 'the database to be reachable again' });
            return [replica!.url];
          },
          close: async () => {},
        });
      } finally {
        await replica?.stop();
        await proxy.close();
        await database.drop();
      }
    }, 180_000);
  });
}
