import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock, registerAgent, waitFor, type Agent } from '../helpers/liveness';
import { DAY, HOUR, iso, latestMetrics, MINUTE, pushRest, queryMetrics } from '../helpers/metrics';
import { startTestServer, type TestServer } from '../helpers/server';

const clock = new OffsetClock();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ clock, env: { METRICS_ROLLUP_INTERVAL_MS: '50', METRICS_MAINTENANCE_INTERVAL_MS: '50' } });
});
afterAll(async () => {
  await server?.close();
});

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `metrics-storage-${++counter}` });
const push = async (agent: Agent, metrics: unknown[]) => {
  const res = await pushRest(server.url, agent.id, agent.token, metrics);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};

async function partitions(): Promise<string[]> {
  const result = (await server.app.database.db.execute(sql`
    select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent in ('metric_samples'::regclass, 'metric_rollup_1m'::regclass) order by 1`)) as unknown as { rows: { relname: string }[] };
  return result.rows.map((r) => r.relname);
}
const dayName = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');

describe('metric storage', () => {
  it('stores pushed samples and reads them back raw, with the latest value of each series', async () => {
    const agent = await newAgent();
    const now = clock.now().getTime();
    const body = await push(agent, [
      { name: 'cpu_percent', value: 10, at: iso(now - 20_000) },
      { name: 'cpu_percent', value: 30, at: iso(now - 10_000) },
      { name: 'disk_used_bytes', value: 5.1e10, labels: { mount: '/' } },
    ]);
    expect(body).toEqual({ accepted: 3 });
    const range = await queryMetrics(server.url, server.viewerToken, agent.id, { from: iso(now - 5 * MINUTE), to: iso(now + MINUTE) });
    expect(range.resolution).toBe('RAW');
    const cpu = range.series.find((s) => s.name === 'cpu_percent')!;
    expect(cpu).toMatchObject({ kind: 'GAUGE', unit: '%', labels: {} });
    expect(cpu.points.map((p) => p.value)).toEqual([10, 30]);
    const disk = range.series.find((s) => s.name === 'disk_used_bytes')!;
    expect(disk).toMatchObject({ unit: 'By', labels: { mount: '/' } });

    const latest = await latestMetrics(server.url, server.viewerToken, agent.id);
    expect(latest.find((l) => l.name === 'cpu_percent')).toMatchObject({ value: 30, at: iso(now - 10_000) });
  });

  it('rolls samples up into minutes and hours, including samples that arrive after their minute was rolled up', async () => {
    const agent = await newAgent();
    // Two hours back, so the roll-up job has long passed these minutes: they are late.
    const base = Math.floor((clock.now().getTime() - 3 * HOUR) / HOUR) * HOUR;
    const samples = [];
    for (let m = 0; m < 120; m++) for (const s of [0, 20, 40]) samples.push({ name: 'load', value: m + s / 20, at: iso(base + m * MINUTE + s * 1000) });
    await push(agent, samples);

    const minutes = await waitFor(
      async () => {
        const r = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['load'], from: iso(base), to: iso(base + 2 * HOUR), step: 60 });
        return r.series[0]?.points.length === 120 ? r : undefined;
      },
      { what: 'minute roll-ups of the late samples' },
    );
    expect(minutes.resolution).toBe('MINUTE');
    expect(minutes.series[0].points[5]).toEqual({ at: iso(base + 5 * MINUTE), value: 6, min: 5, max: 7, count: 3 });

    const hours = await waitFor(
      async () => {
        const r = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['load'], from: iso(base), to: iso(base + 2 * HOUR), step: 3600 });
        return r.series[0]?.points.length === 2 && r.series[0].points[1].count === 180 ? r : undefined;
      },
      { what: 'hour roll-ups' },
    );
    expect(hours.resolution).toBe('HOUR');
    // Minutes 0..59 hold m, m+1, m+2: the hour's average is 30.5, min 0, max 61.
    expect(hours.series[0].points[0]).toEqual({ at: iso(base), value: 30.5, min: 0, max: 61, count: 180 });

    // A late sample for an hour already rolled up is counted once it is rolled up again.
    await push(agent, [{ name: 'load', value: 1000, at: iso(base + 30 * MINUTE + 50_000) }]);
    await waitFor(
      async () => {
        const r = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['load'], from: iso(base), to: iso(base + HOUR), step: 3600 });
        return r.series[0].points[0].count === 181 && r.series[0].points[0].max === 1000;
      },
      { what: 'the hour rolled up again' },
    );

    // Many late pushes for one minute at once mark it many times: each sample counted once.
    await Promise.all(Array.from({ length: 8 }, (_, i) => push(agent, [{ name: 'load', value: 2000 + i, at: iso(base + 40 * MINUTE + 1_000 + i) }])));
    await waitFor(
      async () => {
        const r = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['load'], from: iso(base + 40 * MINUTE), to: iso(base + 41 * MINUTE), step: 60 });
        return r.series[0].points[0].count === 11 && r.series[0].points[0].max === 2007;
      },
      { what: 'the minute rolled up again with all eight' },
    );
    const hour = await waitFor(
      async () => {
        const r = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['load'], from: iso(base), to: iso(base + HOUR), step: 3600 });
        return r.series[0].points[0].count === 189 ? r : undefined;
      },
      { what: 'the hour rolled up again with all eight' },
    );
    expect(hour.series[0].points[0].max).toBe(2007);
  });

  it('rolls a late minute up again for the series that had late samples only, and their hours likewise', async () => {
    const [a, b] = [await newAgent(), await newAgent()];
    const base = Math.floor((clock.now().getTime() - 3 * HOUR) / HOUR) * HOUR;
    const minute = base + 10 * MINUTE;
    await Promise.all([a, b].map((agent) => push(agent, [{ name: 'late_series', value: 1, at: iso(minute + 1_000) }])));
    const db = server.app.database.db;
    const rows = async <T>(q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: T[] }).rows;
    const [idA, idB] = await Promise.all(
      [a, b].map(async (agent) => (await rows<{ id: number }>(sql`select id from metric_series where agent_id = ${agent.id} and name = 'late_series'`))[0].id),
    );
    const counts = async (table: 'metric_rollup_1m' | 'metric_rollup_1h', id: number, bucket: number) =>
      (await rows<{ count: number }>(sql`select count from ${sql.raw(table)} where series_id = ${id} and bucket = ${new Date(bucket)}`))[0]?.count;
    await waitFor(async () => (await counts('metric_rollup_1h', idA, base)) === 1 && (await counts('metric_rollup_1h', idB, base)) === 1, {
      what: "both series' late minute and hour rolled up",
    });

    // B's rows made wrong on purpose: a recompute of B's minute or hour would mend them.
    await db.execute(sql`update metric_rollup_1m set count = 99 where series_id = ${idB} and bucket = ${new Date(minute)}`);
    await db.execute(sql`update metric_rollup_1h set count = 99 where series_id = ${idB} and bucket = ${new Date(base)}`);
    await push(a, [{ name: 'late_series', value: 2, at: iso(minute + 2_000) }]);
    await waitFor(async () => (await counts('metric_rollup_1h', idA, base)) === 2, { what: "A's hour rolled up again" });
    expect(await counts('metric_rollup_1m', idA, minute)).toBe(2);
    expect(await counts('metric_rollup_1m', idB, minute)).toBe(99);
    expect(await counts('metric_rollup_1h', idB, base)).toBe(99);
  });

  it('leaves a marked minute the roll-up has not reached to it, and rolls it up there whole, the late sample in it', async () => {
    const agent = await newAgent();
    // Late by 40 s: more than LATE_MS, so its minute is marked, but less than ROLLUP_LAG_MS,
    // so the roll-up has not reached that minute. Rolling it up from the mark as well would
    // have the mark's transaction and the roll-up's write the same rows (a deadlock, across
    // replicas), and for nothing.
    const at = clock.now().getTime() - 40_000;
    const minute = Math.floor(at / MINUTE) * MINUTE;
    await push(agent, [{ name: 'barely_late', value: 5, at: iso(at) }]);
    const db = server.app.database.db;
    const rows = async <T>(q: ReturnType<typeof sql>) => ((await db.execute(q)) as unknown as { rows: T[] }).rows;
    const [{ id }] = await rows<{ id: number }>(sql`select id from metric_series where agent_id = ${agent.id} and name = 'barely_late'`);
    await waitFor(async () => (await rows<{ n: number }>(sql`select count(*)::int as n from metric_rollup_marks where series_id = ${id}`))[0].n === 0, {
      what: "the minute's mark taken",
    });
    // One snapshot: how far the roll-up has come, and whether the minute has a row.
    const [seen] = await rows<{ minute_done: Date | string; rolled: boolean }>(
      sql`select minute_done, exists(select 1 from metric_rollup_1m where series_id = ${id} and bucket = ${new Date(minute)}) as rolled from metric_rollup_state`,
    );
    expect(new Date(seen.minute_done).getTime()).toBeLessThanOrEqual(minute);
    expect(seen.rolled, 'rolled up from its mark before the roll-up reached it').toBe(false);

    clock.advance(2 * MINUTE);
    await waitFor(
      async () => (await rows<{ count: number }>(sql`select count from metric_rollup_1m where series_id = ${id} and bucket = ${new Date(minute)}`))[0]?.count === 1,
      { what: 'the minute rolled up by the roll-up, with the late sample' },
    );
  });

  it("keeps the open hour's roll-up row current, so a read over hours that ends now takes each sample once", async () => {
    const agent = await newAgent();
    const db = server.app.database.db;
    const rowsOf = <T>(r: unknown) => (r as { rows: T[] }).rows;
    // Ten minutes into the next hour, with a sample in each of its minutes.
    const h = Math.floor(clock.now().getTime() / HOUR) * HOUR + HOUR;
    clock.advance(h + 10 * MINUTE - clock.now().getTime());
    await push(agent, Array.from({ length: 10 }, (_, m) => ({ name: 'open_hour', value: m, at: iso(h + m * MINUTE + 5_000) })));
    // The row once the roll-up covers `coveredTo` and has counted `count` samples (those the
    // roll-up passed before they arrived are late, and counted when marked and recomputed).
    const hourRow = async (coveredTo: number, count: number) => {
      const [state] = rowsOf<{ hour_done: Date; hour_open_done: Date | null }>(await db.execute(sql`select hour_done, hour_open_done from metric_rollup_state`));
      if (new Date(state.hour_open_done ?? 0).getTime() < coveredTo) return undefined;
      expect(new Date(state.hour_done).getTime()).toBe(h);
      const [row] = rowsOf<{ count: number; max: number }>(
        await db.execute(sql`select r.count, r.max from metric_rollup_1h r join metric_series s on s.id = r.series_id
                             where s.agent_id = ${agent.id} and s.name = 'open_hour' and r.bucket = ${new Date(h)}`),
      );
      return row?.count === count ? { covered: new Date(state.hour_open_done!).getTime(), ...row } : undefined;
    };
    const readHour = async () => {
      const r = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['open_hour'], from: iso(h), to: iso(clock.now().getTime()), step: 3600 });
      expect(r.resolution).toBe('HOUR');
      expect(r.series[0].points).toHaveLength(1);
      return r.series[0].points[0];
    };

    // The roll-up reaches minute 9 (a minute after its end): the hour row holds minutes 0..8,
    // the read takes minute 9 raw, and nothing twice.
    const first = await waitFor(() => hourRow(h + 9 * MINUTE, 9), { what: "the open hour's row" });
    expect(first).toEqual({ covered: h + 9 * MINUTE, count: 9, max: 8 });
    expect(await readHour()).toEqual({ at: iso(h), value: 4.5, min: 0, max: 9, count: 10 });

    // A late sample in a minute the row already holds: the row is recomputed.
    await push(agent, [{ name: 'open_hour', value: 100, at: iso(h + 3 * MINUTE + 30_000) }]);
    await waitFor(() => hourRow(h + 9 * MINUTE, 10), { what: 'the late sample in the row' });
    expect(await readHour()).toMatchObject({ max: 100, count: 11 });

    // Samples for the next five minutes (sent ahead, so none is late), then five minutes
    // pass: the roll-up adds them to the row as it passes their minutes.
    await push(agent, Array.from({ length: 5 }, (_, i) => ({ name: 'open_hour', value: 10 + i, at: iso(h + (10 + i) * MINUTE + 5_000) })));
    clock.advance(5 * MINUTE);
    const later = await waitFor(() => hourRow(h + 14 * MINUTE, 15), { what: 'the row a few minutes later' });
    expect(later).toEqual({ covered: h + 14 * MINUTE, count: 15, max: 100 });
    expect(await readHour()).toMatchObject({ min: 0, max: 100, count: 16 });
  });

  it('keeps a repeated sample of a series and time once, with the value stored first', async () => {
    const agent = await newAgent();
    const at = iso(clock.now().getTime() - 5_000);
    await push(agent, [
      { name: 'temp', value: 1, at },
      { name: 'temp', value: 2, at },
    ]);
    await push(agent, [{ name: 'temp', value: 3, at }]);
    const latest = await latestMetrics(server.url, server.viewerToken, agent.id, ['temp']);
    expect(latest).toEqual([expect.objectContaining({ value: 1, at })]);
    const range = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['temp'] });
    expect(range.series[0].points).toHaveLength(1);
    expect(range.series[0].points[0]).toMatchObject({ value: 1, count: 1 });
  });

  it('creates daily partitions ahead of time and drops each resolution at the end of its retention', async () => {
    const agent = await newAgent();
    const start = clock.now().getTime();
    const names = await partitions();
    for (const offset of [0, 1, 2]) {
      expect(names).toContain(`metric_samples_p${dayName(start + offset * DAY)}`);
      expect(names).toContain(`metric_rollup_1m_p${dayName(start + offset * DAY)}`);
    }
    const at = start - 2 * HOUR;
    await push(agent, [{ name: 'kept', value: 42, at: iso(at) }]);
    const step = (s: number) => queryMetrics(server.url, server.viewerToken, agent.id, { names: ['kept'], from: iso(at - HOUR), to: iso(at + HOUR), step: s });
    await waitFor(async () => (await step(3600)).series[0]?.points.length === 1, { what: 'the hour roll-up' });

    // Past raw retention (7 days): the raw partition is gone, the minutes remain.
    clock.advance(8 * DAY);
    await waitFor(async () => !(await partitions()).includes(`metric_samples_p${dayName(at)}`), { what: 'the raw partition to be dropped' });
    expect(await partitions()).toContain(`metric_rollup_1m_p${dayName(at)}`);
    expect(await partitions()).toContain(`metric_samples_p${dayName(clock.now().getTime() + 2 * DAY)}`);
    expect(await latestMetrics(server.url, server.viewerToken, agent.id, ['kept'])).toEqual([]);
    const minutes = await step(60);
    expect(minutes.resolution).toBe('MINUTE');
    expect(minutes.series[0].points).toEqual([expect.objectContaining({ value: 42 })]);

    // Past the minutes' 30 days: only hours are left, and a range that old is read from them.
    clock.advance(23 * DAY);
    await waitFor(async () => !(await partitions()).includes(`metric_rollup_1m_p${dayName(at)}`), { what: 'the minute partition to be dropped' });
    const hours = await step(60);
    expect(hours.resolution).toBe('HOUR');
    expect(hours.series[0].points).toEqual([expect.objectContaining({ value: 42, count: 1 })]);

    // Past 400 days: nothing.
    clock.advance(370 * DAY);
    await waitFor(async () => (await step(3600)).series[0].points.length === 0, { what: 'the hour roll-up to be deleted' });
  });
});
