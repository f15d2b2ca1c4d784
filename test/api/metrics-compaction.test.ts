import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertIn, createRule, gql } from '../helpers/alerts';
import { OffsetClock, registerAgent, type Agent } from '../helpers/liveness';
import { DAY, HOUR, iso, latestMetrics, MINUTE, pushRest, queryMetrics } from '../helpers/metrics';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Compaction of closed hours of raw samples into blocks, seen through the public doors:
 * every read answers the same before and after, a sample that arrives for a compacted
 * hour is read at once and merged by the next round, a repeat keeps the value stored
 * first, and the blocks go with raw retention. The jobs run when the test says (their
 * timers are set to an hour).
 */
const clock = new OffsetClock();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    clock,
    env: { METRICS_ROLLUP_INTERVAL_MS: '3600000', METRICS_MAINTENANCE_INTERVAL_MS: '86400000', METRICS_COMPACT_SLICE_ROWS: '250', ALERT_EVAL_INTERVAL_MS: '200', ALERT_TICK_MS: '100' },
  });
});
afterAll(async () => {
  await server?.close();
});

const jobs = () => server.app.services.metrics.jobs;
const rows = async <T>(q: ReturnType<typeof sql>) => ((await server.app.database.db.execute(q)) as unknown as { rows: T[] }).rows;
const push = async (agent: Agent, metrics: unknown[]) => {
  const res = await pushRest(server.url, agent.id, agent.token, metrics);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
};
/** Samples of one series still stored as rows, and compacted in blocks, within [from, to). */
async function stored(seriesName: string, agentId: string, from: number, to: number) {
  const [r] = await rows<{ raw: number; blocks: number; compacted: number }>(sql`
    select (select count(*)::int from metric_samples m where m.series_id = s.id and m.at >= ${new Date(from)} and m.at < ${new Date(to)}) as raw,
           (select count(*)::int from metric_sample_blocks b where b.series_id = s.id and b.hour >= ${new Date(from)} and b.hour < ${new Date(to)}) as blocks,
           (select coalesce(sum(cardinality(b.ats)), 0)::int from metric_sample_blocks b where b.series_id = s.id and b.hour >= ${new Date(from)} and b.hour < ${new Date(to)}) as compacted
    from metric_series s where s.agent_id = ${agentId} and s.name = ${seriesName}`);
  return r;
}

const hourNow = () => Math.floor(clock.now().getTime() / HOUR) * HOUR;
let agent: Agent;
let hour: number;
/** The end of the range that reaches from the compacted hour into the current one. */
let end: number;
/** The hour compacted: three hours back. Samples every 10 s of `load`, every minute of `old_only`. */
const loadValue = (i: number) => (i % 17) + i / 1000;
/** The average of `load` over the rule windows: the hour's samples and the one of the current hour (5). */
const avg = (Array.from({ length: 360 }, (_, i) => loadValue(i)).reduce((a, b) => a + b, 0) + 5) / 361;

async function reads() {
  const id = agent.id;
  const window = (aggregate: string, op: string, threshold: number) =>
    gql(server.url, server.adminToken, 'query($i: AlertRuleInput!) { previewAlertRule(input: $i) { wouldFire } }', {
      i: { name: 'p', kind: 'METRIC_THRESHOLD', scope: { environment: 'compaction' }, condition: { metric: 'load', aggregate, windowSeconds: 5 * 3600, op, threshold } },
    }).then((d) => d.previewAlertRule.wouldFire as number);
  return {
    hour: await queryMetrics(server.url, server.viewerToken, id, { names: ['load', 'old_only'], from: iso(hour), to: iso(hour + HOUR) }),
    across: await queryMetrics(server.url, server.viewerToken, id, { names: ['load'], from: iso(hour + 50 * MINUTE), to: iso(end) }),
    narrow: await queryMetrics(server.url, server.viewerToken, id, { names: ['load'], from: iso(hour + 20 * MINUTE + 5_000), to: iso(hour + 21 * MINUTE) }),
    minutes: await queryMetrics(server.url, server.viewerToken, id, { names: ['load'], from: iso(hour), to: iso(hour + HOUR), step: 60 }),
    latest: await latestMetrics(server.url, server.viewerToken, id),
    alerts: [await window('MAX', 'GT', 16.3), await window('MAX', 'GT', 16.4), await window('MIN', 'LT', 0.001), await window('AVG', 'GT', avg - 1e-6), await window('AVG', 'GT', avg + 1e-6), await window('LAST', 'GE', 5), await window('LAST', 'GT', 5)],
  };
}

describe('compaction of raw samples', () => {
  it('moves a closed hour into one block per series, and every read answers the same before and after', async () => {
    agent = await registerAgent(server.url, server.enrollmentToken, { name: 'compaction-1', environment: 'compaction' });
    hour = hourNow() - 3 * HOUR;
    end = clock.now().getTime() + MINUTE;
    const samples = [];
    for (let i = 0; i < 360; i++) samples.push({ name: 'load', value: loadValue(i), at: iso(hour + i * 10_000) });
    for (let m = 0; m < 60; m++) samples.push({ name: 'old_only', value: m * 1.5, labels: { disk: 'a' }, at: iso(hour + m * MINUTE + 123) });
    await push(agent, samples);
    // The current hour stays raw.
    await push(agent, [{ name: 'load', value: 5, at: iso(clock.now().getTime() - 1_000) }]);
    await jobs().rollup();
    const before = await reads();
    expect(before.hour.resolution).toBe('RAW');
    expect(before.hour.series.find((s) => s.name === 'load')!.points).toHaveLength(360);
    expect(before.narrow.series[0].points.map((p) => p.value)).toEqual([1, 2, 3, 4, 5].map((k) => loadValue(120 + k)));
    expect(before.latest.find((l) => l.name === 'old_only')).toMatchObject({ value: 88.5, at: iso(hour + 59 * MINUTE + 123) });
    expect(before.alerts).toEqual([1, 0, 1, 1, 0, 1, 0]);

    expect(await jobs().compact()).toBe(420);
    expect(await stored('load', agent.id, hour, hour + HOUR)).toEqual({ raw: 0, blocks: 1, compacted: 360 });
    expect(await stored('old_only', agent.id, hour, hour + HOUR)).toEqual({ raw: 0, blocks: 1, compacted: 60 });
    expect(await stored('load', agent.id, hourNow(), hourNow() + HOUR)).toMatchObject({ raw: 1, blocks: 0 });
    expect(await reads()).toEqual(before);
    // Nothing more to move: a second round changes nothing.
    expect(await jobs().compact()).toBe(0);
  });

  it('reads a sample that arrives for a compacted hour at once, keeps the first value of a repeat, and merges it in the next round', async () => {
    await push(agent, [
      { name: 'load', value: 1000, at: iso(hour + 30 * MINUTE + 5_000) },
      // A repeat of a compacted sample: the value stored first stays.
      { name: 'load', value: -1, at: iso(hour + 26 * MINUTE) },
      { name: 'old_only', value: 7, labels: { disk: 'a' }, at: iso(hour + HOUR - 500) },
    ]);
    expect(await stored('load', agent.id, hour, hour + HOUR)).toEqual({ raw: 2, blocks: 1, compacted: 360 });
    const check = async () => {
      const r = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['load'], from: iso(hour + 25 * MINUTE), to: iso(hour + 25 * MINUTE + 1000_000) });
      expect(r.resolution).toBe('RAW');
      expect(r.series[0].points.find((p) => p.at === iso(hour + 26 * MINUTE))).toEqual({ at: iso(hour + 26 * MINUTE), value: loadValue(156), min: loadValue(156), max: loadValue(156), count: 1 });
      expect(r.series[0].points.find((p) => p.value === 1000)).toMatchObject({ at: iso(hour + 30 * MINUTE + 5_000), count: 1 });
      expect(r.series[0].points.reduce((n, p) => n + p.count, 0)).toBe(101);
      const latest = await latestMetrics(server.url, server.viewerToken, agent.id, ['old_only']);
      expect(latest).toEqual([expect.objectContaining({ value: 7, at: iso(hour + HOUR - 500) })]);
    };
    await check();
    // The minute roll-up counts the late sample once, the repeat not at all.
    await jobs().rollup();
    const minutes = async () => (await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['load'], from: iso(hour), to: iso(hour + HOUR), step: 60 })).series[0].points;
    expect((await minutes())[30]).toMatchObject({ count: 7, max: 1000 });
    expect((await minutes())[26]).toMatchObject({ count: 6, min: loadValue(156) });

    expect(await jobs().compact()).toBe(3);
    expect(await stored('load', agent.id, hour, hour + HOUR)).toEqual({ raw: 0, blocks: 1, compacted: 361 });
    expect(await stored('old_only', agent.id, hour, hour + HOUR)).toEqual({ raw: 0, blocks: 1, compacted: 61 });
    await check();
    expect((await minutes())[30]).toMatchObject({ count: 7, max: 1000 });
  });

  it('evaluates alert rules over compacted samples: a threshold over the window, and when a metric was last seen', async () => {
    const { rule } = await createRule(server.url, server.adminToken, {
      name: 'late spike',
      kind: 'METRIC_THRESHOLD',
      scope: { environment: 'compaction' },
      condition: { metric: 'load', aggregate: 'MAX', windowSeconds: 5 * 3600, op: 'GT', threshold: 999 },
    });
    expect(await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name)).toMatchObject({ value: 1000 });
    const absent = await createRule(server.url, server.adminToken, { name: 'old_only silent', kind: 'METRIC_ABSENT', scope: { environment: 'compaction' }, condition: { metric: 'old_only', absentSeconds: 3600 } });
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', absent.rule.name);
    // Silent since the last compacted sample, not since the start of the window.
    expect(Math.abs(alert.value - (clock.now().getTime() - (hour + HOUR - 500)) / 1000)).toBeLessThan(30);
  });

  it('leaves the marks of late samples younger than the settle time for a later round', async () => {
    const late = await registerAgent(server.url, server.enrollmentToken, { name: 'compaction-settle', environment: 'compaction' });
    const minute = Math.floor((clock.now().getTime() - 2 * HOUR) / MINUTE) * MINUTE;
    await push(late, [{ name: 'settle', value: 1, at: iso(minute + 1_000) }]);
    await push(late, [{ name: 'settle', value: 3, at: iso(minute + 2_000) }]);
    const count = async () =>
      (await rows<{ count: number | null }>(sql`select r.count from metric_rollup_1m r join metric_series s on s.id = r.series_id
                                                 where s.agent_id = ${late.id} and r.bucket = ${new Date(minute)}`))[0]?.count;
    const marks = async () => (await rows<{ n: number }>(sql`select count(*)::int as n from metric_rollup_marks where bucket = ${new Date(minute)}`))[0].n;
    expect(await marks()).toBe(2);
    await jobs().rollup(60_000);
    expect(await marks()).toBe(2);
    expect(await count()).toBeUndefined();
    await jobs().rollup();
    expect(await marks()).toBe(0);
    expect(await count()).toBe(2);
  });

  it('drops the blocks of a day with its raw partition at the end of raw retention', async () => {
    const day = Math.floor(hour / DAY) * DAY;
    const name = `metric_sample_blocks_p${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;
    const partitions = async () => (await rows<{ relname: string }>(sql`select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'metric_sample_blocks'::regclass`)).map((r) => r.relname);
    expect(await partitions()).toContain(name);
    clock.advance(8 * DAY);
    const { dropped } = await jobs().maintain();
    expect(dropped).toContain(name);
    expect(await partitions()).not.toContain(name);
    expect(await partitions()).toContain(`metric_sample_blocks_p${new Date(Math.floor(clock.now().getTime() / DAY) * DAY + 2 * DAY).toISOString().slice(0, 10).replaceAll('-', '')}`);
    expect(await latestMetrics(server.url, server.viewerToken, agent.id, ['old_only'])).toEqual([]);
  });
});
