/** The benchmark's scratch database and its registered agents. */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { hashToken, newAgentToken } from '../../api/auth/tokens';
import { openDatabase } from '../../api/db';

export const BENCH_TOKENS = {
  ADMIN_TOKEN: 'bench-admin-token-0123456789abcdef',
  VIEWER_TOKEN: 'bench-viewer-token-0123456789abcdef',
  ENROLLMENT_TOKEN: 'bench-enroll-token-0123456789abcdef',
};

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new database beside the one `baseUrl` names, migrated by the server's own migrator. */
export async function createScratchDatabase(baseUrl: string): Promise<ScratchDatabase> {
  const name = `am_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: 'memory://', poolSize: 2 });
  await database.close();
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface BenchAgent {
  id: string;
  token: string;
}

const KINDS = ['web_server', 'database_monitor', 'api_gateway', 'cache_monitor', 'security_scanner', 'log_processor'];

/**
 * Registers `count` agents straight into the table, with real agent tokens (the
 * server checks their hashes as it would for agents registered over HTTP). A 3600 s
 * interval and a distant deadline keep the offline sweeper out of the measurements.
 */
export async function seedAgents(url: string, count: number): Promise<BenchAgent[]> {
  const agents = Array.from({ length: count }, () => {
    const id = randomUUID();
    return { id, token: newAgentToken(id) };
  });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let i = 0; i < count; i += 5000) {
      const slice = agents.slice(i, i + 5000);
      await client.query(
        `insert into agents (id, name, type, host, port, environment, token_hash, heartbeat_interval_seconds, offline_at, metadata)
         select u.id, 'bench-' || u.n, u.type, 'bench-' || u.n || '.internal', 8080, 'production', u.hash, 3600,
                now() + interval '1 day', '{"bench": true}'::jsonb
         from unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) as u(id, n, type, hash)`,
        [slice.map((a) => a.id), slice.map((_, j) => i + j), slice.map((_, j) => KINDS[(i + j) % KINDS.length]), slice.map((a) => hashToken(a.token))],
      );
    }
    await client.query('vacuum analyze agents');
  } finally {
    await client.end();
  }
  return agents;
}
