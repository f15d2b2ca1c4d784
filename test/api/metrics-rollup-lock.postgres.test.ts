import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { rowsOf } from '../../api/db';
import { partitionName, RollupStore } from '../../api/metrics/rollup.store';
import { registerAgent } from '../helpers/liveness';
import { iso, MINUTE, pushRest } from '../helpers/metrics';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * PostgreSQL only (the embedded database has one session): a recompute of late minutes
 * on one replica and a roll-up in progress on another. The server's own roll-up job is
 * left idle (its first round an hour away), so this test's calls are the only ones.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { METRICS_ROLLUP_INTERVAL_MS: '3600000' } });
});
afterAll(async () => {
  await server?.close();
});

it('a recompute of late minutes waits for a roll-up in progress, then rolls up only the minutes it had reached', async () => {
  const db = server.app.database.db;
  const rows = async <T>(q: ReturnType<typeof sql>) => rowsOf<T>(await db.execute(q));
  const reached = Math.floor((Date.now() - 10 * MINUTE) / MINUTE) * MINUTE;
  await db.execute(sql`update metric_rollup_state set minute_done = ${new Date(reached)} where id = 1`);
  const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'rollup-lock' });
  const [before, after] = [reached - 5 * MINUTE, reached + 2 * MINUTE];
  const pushed = await pushRest(server.url, agent.id, agent.token, [
    { name: 'late_lock', value: 1, at: iso(before + 1_000) },
    { name: 'late_lock', value: 2, at: iso(after + 1_000) },
  ]);
  expect(pushed.status).toBe(200);
  const [{ id }] = await rows<{ id: number }>(sql`select id from metric_series where agent_id = ${agent.id} and name = 'late_lock'`);
  expect((await rows<{ n: number }>(sql`select count(*)::int as n from metric_rollup_marks where level = 1 and series_id = ${id}`))[0].n).toBe(2);
  const minuteRow = async (client: { query(text: string, values: unknown[]): Promise<{ rows: { count: number }[] }> }, minute: number) =>
    (await client.query('select count from metric_rollup_1m where series_id = $1 and bucket = $2', [id, new Date(minute)])).rows[0]?.count;

  // Another replica's roll-up, in progress: it holds the state row.
  const other = new pg.Client({ connectionString: server.databaseUrl });
  await other.connect();
  try {
    await other.query('begin');
    await other.query('select minute_done from metric_rollup_state where id = 1 for update');
    let finished = false;
    const recompute = new RollupStore(db).recomputeMarked(50, 0).then(() => (finished = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(finished).toBe(false);
    expect(await minuteRow(other, before), 'a minute rolled up while the roll-up held the state row').toBeUndefined();
    await other.query('rollback');
    await recompute;
    expect(await minuteRow(other, before)).toBe(1);
    expect(await minuteRow(other, after), 'a minute rolled up from its mark before the roll-up reached it').toBeUndefined();
    expect((await rows<{ n: number }>(sql`select count(*)::int as n from metric_rollup_marks where series_id = ${id}`))[0].n).toBe(0);
  } finally {
    await other.end();
  }
});

it('partition maintenance waits for a job holding an expired day’s marks before it drops that day', async () => {
  const db = server.app.database.db;
  const store = new RollupStore(db);
  const DAY = 24 * 60 * MINUTE;
  const retention = { rawRetentionDays: 7, minuteRetentionDays: 30, hourRetentionDays: 400 };
  // A day ten days back, with its partitions (made by maintenance as it ran back then).
  const day = Math.floor((Date.now() - 10 * DAY) / DAY) * DAY;
  await store.maintain(new Date(day), retention);
  const samples = partitionName('metric_samples', day);
  await db.execute(sql`insert into metric_rollup_marks (level, bucket, series_id) values (1, ${new Date(day + MINUTE)}, null)`);

  // A recompute on another replica has claimed that day's mark and still reads the day.
  const job = new pg.Client({ connectionString: server.databaseUrl });
  await job.connect();
  try {
    await job.query('begin');
    await job.query('select ctid from metric_rollup_marks where bucket = $1 for update', [new Date(day + MINUTE)]);
    let maintained = false;
    const maintenance = store.maintain(new Date(), retention).finally(() => (maintained = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(maintained).toBe(false);
    // Dropped already, the partition would wait on maintenance as maintenance waits on the
    // mark, and PostgreSQL would abort one of them after deadlock_timeout.
    expect((await job.query(`select count(*)::int as n from ${samples}`)).rows[0].n).toBe(0);
    await job.query('commit');
    const { dropped } = await maintenance;
    expect(dropped).toContain(samples);
    expect(rowsOf<{ n: number }>(await db.execute(sql`select count(*)::int as n from metric_rollup_marks where bucket < ${new Date(day + DAY)}`))[0].n).toBe(0);
  } finally {
    await job.end();
  }
});

