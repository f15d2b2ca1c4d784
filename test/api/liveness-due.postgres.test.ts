import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rowsOf } from '../../api/db';
import { LivenessStore } from '../../api/liveness/liveness.store';
import { LivenessPolicy } from '../../api/liveness/policy';
import { startTestServer, type TestServer } from '../helpers/server';

/** PostgreSQL only: the embedded database plans nothing in parallel. */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

it('the sweep scans agents in one backend even where a parallel plan would be cheaper', async () => {
  const store = new LivenessStore(new LivenessPolicy(3, 60_000));
  const plans = await server.app.database.db.transaction(async (tx) => {
    await tx.execute(sql`set local parallel_setup_cost = 0`);
    await tx.execute(sql`set local parallel_tuple_cost = 0`);
    await tx.execute(sql`set local min_parallel_table_scan_size = 0`);
    const scan = sql`explain select id from agents where status <> 'offline' and offline_at <= now()`;
    const plan = async () => rowsOf<{ 'QUERY PLAN': string }>(await tx.execute(scan)).map((r) => r['QUERY PLAN']).join('\n');
    const before = await plan();
    const now = new Date();
    await store.due(tx, now, now, 1);
    return { before, after: await plan() };
  });
  expect(plans.before).toMatch(/Gather/);
  expect(plans.after).not.toMatch(/Gather|Parallel/);
});
