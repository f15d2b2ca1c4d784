import { describe, expect, it } from 'vitest';
import { registerAgent, waitFor, type Agent } from '../helpers/liveness';
import { HOUR, iso, pushRest, queryMetrics } from '../helpers/metrics';
import { useReplicaCluster, type Replica } from '../helpers/replica';
import { TOKENS } from '../helpers/server';

/**
 * Two real server processes on one PostgreSQL, both running the compaction every 50 ms in
 * small slices, while samples for a closed hour arrive through both, then repeats and
 * late samples for it: every sample ends up in a block once, with the value stored first.
 */
const ENV = { METRICS_ROLLUP_INTERVAL_MS: '50', METRICS_COMPACT_SLICE_ROWS: '100', LOG_LEVEL: 'error' };
const SERIES = 20;
const STEPS = 360;

describe('compaction across two replicas', () => {
  const cluster = useReplicaCluster(ENV);

  it('loses and doubles no sample, and keeps the first value of a repeat', async () => {
    const [a, b] = cluster.replicas;
    const agent: Agent = await registerAgent(a.url, TOKENS.enrollment, { name: 'compaction-pair' });
    const hour = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const value = (s: number, k: number) => s * 1000 + k;
    const expected = new Map<string, number>();
    const batches: unknown[][] = [];
    for (let k0 = 0; k0 < STEPS; k0 += 10) {
      const batch = [];
      for (let s = 0; s < SERIES; s++) {
        for (let k = k0; k < k0 + 10; k++) {
          batch.push({ name: `m${s}`, value: value(s, k), at: iso(hour + k * 10_000) });
          expected.set(`m${s} ${hour + k * 10_000}`, value(s, k));
        }
      }
      batches.push(batch);
    }
    const send = async (replica: Replica, metrics: unknown[]) => {
      const res = await pushRest(replica.url, agent.id, agent.token, metrics);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    };
    // Four requests at a time, through both replicas, while both compact.
    for (let i = 0; i < batches.length; i += 4) await Promise.all(batches.slice(i, i + 4).map((batch, j) => send((i + j) % 2 ? a : b, batch)));
    await waitFor(async () => (await cluster.outsider.query(`select count(*)::int as n from metric_sample_blocks`)).rows[0].n > 0, { timeout: 20_000, what: 'the first blocks' });

    // Repeats (ignored) and new samples between the others (kept), for the hour being compacted.
    for (let round = 0; round < 6; round++) {
      const extra = [];
      for (let s = round; s < SERIES; s += 6) {
        for (let k = round; k < STEPS; k += 37) {
          extra.push({ name: `m${s}`, value: -1, at: iso(hour + k * 10_000) });
          const at = hour + k * 10_000 + 5_000;
          if (!expected.has(`m${s} ${at}`)) expected.set(`m${s} ${at}`, -value(s, k) - 0.5);
          extra.push({ name: `m${s}`, value: expected.get(`m${s} ${at}`), at: iso(at) });
        }
      }
      await Promise.all([send(a, extra.slice(0, extra.length / 2)), send(b, extra.slice(extra.length / 2))]);
      await new Promise((r) => setTimeout(r, 100));
    }

    const counts = async () =>
      (
        await cluster.outsider.query(`select (select count(*)::int from metric_samples where at >= $1 and at < $2) as raw,
                                     (select coalesce(sum(cardinality(ats)), 0)::int from metric_sample_blocks where hour = $1) as compacted,
                                     (select count(*)::int from metric_sample_blocks where hour = $1) as blocks`, [new Date(hour), new Date(hour + HOUR)])
      ).rows[0] as { raw: number; compacted: number; blocks: number };
    await waitFor(async () => (await counts()).raw === 0, { timeout: 30_000, what: 'every raw row of the hour compacted' });
    expect(await counts()).toEqual({ raw: 0, compacted: expected.size, blocks: SERIES });

    const { rows } = await cluster.outsider.query(`
      select s.name, b.hour + u.off * interval '1 millisecond' as at, u.val
      from metric_sample_blocks b join metric_series s on s.id = b.series_id cross join lateral unnest(b.ats, b.vals) as u(off, val)`);
    const stored = new Map(rows.map((r: { name: string; at: Date; val: number }) => [`${r.name} ${r.at.getTime()}`, r.val]));
    const differing = [...expected].filter(([k, v]) => stored.get(k) !== v).map(([k, v]) => `${k}: ${stored.get(k)} (expected ${v})`);
    expect(differing).toEqual([]);
    expect(stored.size).toBe(expected.size);
    // And through the public door, from either replica.
    for (const replica of [a, b]) {
      const range = await queryMetrics(replica.url, TOKENS.viewer, agent.id, { names: ['m3'], from: iso(hour), to: iso(hour + HOUR) });
      const points = range.series[0].points;
      expect(points.reduce((n, p) => n + p.count, 0)).toBe([...expected.keys()].filter((k) => k.startsWith('m3 ')).length);
      expect(points.some((p) => p.min === -1)).toBe(false);
    }
  });
});
