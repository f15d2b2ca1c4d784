import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { onPostgres } from '../helpers/database';
import { registerAgent, subscribeWs, waitFor, wsClient, type Agent } from '../helpers/liveness';
import { HOUR, iso, MINUTE, pushRest, queryMetrics } from '../helpers/metrics';
import { startTestServer, type TestServer } from '../helpers/server';

// On PostgreSQL a second replica on the same database takes the pushes the subscriber
// on the first should see; the embedded database has one process, so one server does both.
let server: TestServer;
let ingest: TestServer;
let ws: Client;
beforeAll(async () => {
  const env = { METRICS_FEED_MS: '50', METRICS_ROLLUP_INTERVAL_MS: '50' };
  server = await startTestServer({ env });
  ingest = onPostgres() ? await startTestServer({ env, databaseUrl: server.databaseUrl }) : server;
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  if (ingest !== server) await ingest?.close();
  await server?.close();
});

let counter = 0;
const newAgent = (fields: Record<string, unknown> = {}) => registerAgent(server.url, server.enrollmentToken, { name: `metrics-queries-${++counter}`, ...fields });
const push = async (agent: Agent, metrics: unknown[]) => {
  const res = await pushRest(ingest.url, agent.id, agent.token, metrics);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
};

describe('metric queries', () => {
  it('reads a counter as a per-second rate over each step (a drop is a reset), or raw', async () => {
    const agent = await newAgent();
    const t0 = Math.floor((Date.now() - 10 * MINUTE) / MINUTE) * MINUTE;
    // 600 bytes a minute, then a restart back to 0 at minute 4.
    const values = [0, 600, 1200, 1800, 300, 900];
    await push(agent, values.map((value, i) => ({ name: 'net_tx_bytes_total', value, at: iso(t0 + i * MINUTE) })));
    // Samples this old come late for the roll-up job, which rolls their minutes up again within an interval.
    const rate = await waitFor(async () => {
      const r = await queryMetrics(server.url, server.viewerToken, agent.id, { from: iso(t0), to: iso(t0 + 6 * MINUTE), step: 60 });
      return r.series[0]?.points.length === 5 ? r : undefined;
    }, { what: 'the minutes rolled up' });
    expect(rate.series[0]).toMatchObject({ kind: 'COUNTER', unit: 'By', pointUnit: 'By/s' });
    expect(rate.series[0].points.map((p) => p.value)).toEqual([10, 10, 10, 5, 10]);
    const raw = await queryMetrics(server.url, server.viewerToken, agent.id, { from: iso(t0), to: iso(t0 + 6 * MINUTE), step: 60, counters: 'RAW' });
    expect(raw.series[0].points.map((p) => p.value)).toEqual(values);
  });

  it('picks a step that keeps a series to about 1 000 points, and says which resolution it read', async () => {
    const agent = await newAgent();
    await push(agent, [{ name: 'cpu_percent', value: 1 }]);
    const now = Date.now();
    const cases: [number, string, number][] = [
      [15 * MINUTE, 'RAW', 1],
      [6 * 60 * MINUTE, 'RAW', 22],
      [24 * 60 * MINUTE, 'MINUTE', 120],
      [7 * 24 * 60 * MINUTE, 'MINUTE', 660],
      [60 * 24 * 60 * MINUTE, 'HOUR', 7200],
    ];
    for (const [span, resolution, step] of cases) {
      const r = await queryMetrics(server.url, server.viewerToken, agent.id, { from: iso(now - span), to: iso(now) });
      expect([r.resolution, r.stepSeconds]).toEqual([resolution, step]);
      expect(span / 1000 / r.stepSeconds).toBeLessThanOrEqual(1000);
    }
    const bad = await graphql(server.url, server.viewerToken, 'query($id: ID!, $from: DateTime) { agent(id: $id) { metrics(from: $from) { resolution } } }', { id: agent.id, from: iso(now + MINUTE) });
    expect(bad.body.errors?.[0]?.extensions?.fields).toEqual({ from: 'must be before to' });
  });

  it('lists the metric names of a fleet selection, and summarises one per group with avg, max and p95', async () => {
    const env = `summary-${Date.now()}`;
    const gateways = await Promise.all([0, 1, 2].map(() => newAgent({ type: 'api_gateway', environment: env })));
    const db = await newAgent({ type: 'database_monitor', environment: env });
    // Ten minutes into the previous hour, so the three minutes and the window never straddle an hour's edge.
    const t0 = Math.floor(Date.now() / HOUR) * HOUR - HOUR + 10 * MINUTE;
    await Promise.all(gateways.map((g, i) => push(g, [0, 1, 2].map((m) => ({ name: 'cpu_percent', value: 10 * (i + 1) + m, at: iso(t0 + m * MINUTE) })))));
    await push(db, [{ name: 'cpu_percent', value: 90, at: iso(t0) }, { name: 'db_connections', value: 5, at: iso(t0) }]);

    const names = await graphql(server.url, server.viewerToken, 'query($f: AgentFilter) { metricNames(filter: $f) { name kind unit agents series } }', { f: { environment: env } });
    expect(names.body.data.metricNames).toEqual([
      { name: 'cpu_percent', kind: 'GAUGE', unit: '%', agents: 4, series: 4 },
      { name: 'db_connections', kind: 'GAUGE', unit: '', agents: 1, series: 1 },
    ]);
    const onlyGateways = await graphql(server.url, server.viewerToken, 'query($f: AgentFilter) { metricNames(filter: $f) { name } }', { f: { environment: env, type: 'api_gateway' } });
    expect(onlyGateways.body.data.metricNames).toEqual([{ name: 'cpu_percent' }]);

    const summary = await waitFor(async () => {
      const res = await graphql(
      server.url,
      server.viewerToken,
      `query($f: AgentFilter, $from: DateTime, $to: DateTime) {
        metricSummary(name: "cpu_percent", filter: $f, groupBy: TYPE, from: $from, to: $to, step: 3600) {
          resolution stepSeconds groups { key series avg max p95 points { at avg max p95 series } }
        }
      }`,
      { f: { environment: env }, from: iso(t0 - MINUTE), to: iso(t0 + 10 * MINUTE) },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data.metricSummary.groups.length === 2 ? res : undefined;
    }, { what: 'the minutes rolled up' });
    const groups = Object.fromEntries(summary.body.data.metricSummary.groups.map((g: any) => [g.key, g]));
    // Each gateway's hour average: 11, 21, 31.
    expect(groups.api_gateway).toMatchObject({ series: 3, avg: 21, max: 32 });
    expect(groups.api_gateway.p95).toBeCloseTo(30, 5);
    expect(groups.database_monitor).toMatchObject({ series: 1, avg: 90, max: 90, p95: 90 });
  });

  it('pushes new samples to agentMetrics subscribers, whichever replica took them, filtered by name', async () => {
    const agent = await newAgent();
    await push(agent, [{ name: 'cpu_percent', value: 1, at: iso(Date.now() - 60_000) }]);
    const feed = server.app.services.metrics.feed;
    const reads = feed.reads;
    const sub = subscribeWs(ws, 'subscription($id: ID!) { agentMetrics(agentId: $id, names: ["cpu_percent"]) { agentId samples { name labels kind unit at value } } }', { id: agent.id });
    await waitFor(() => feed.reads >= reads + 2, { what: 'the feed to prime the subscription' });
    await push(agent, [
      { name: 'cpu_percent', value: 55, labels: { core: '1' } },
      { name: 'memory_used_bytes', value: 1 },
    ]);
    const [batch] = await sub.until((items) => items.length > 0);
    expect(batch.agentId).toBe(agent.id);
    expect(batch.samples).toEqual([expect.objectContaining({ name: 'cpu_percent', value: 55, labels: { core: '1' }, kind: 'GAUGE', unit: '%' })]);
    await push(agent, [{ name: 'cpu_percent', value: 56, labels: { core: '1' } }]);
    const items = await sub.until((list) => list.length > 1);
    expect(items[1].samples.map((s: any) => s.value)).toEqual([56]);
    sub.dispose();
    await waitFor(() => feed.subscriberCount === 0 && !feed.active, { what: 'the feed to stop reading' });
  });

  it('refuses metric subscriptions and reads to agent tokens', async () => {
    const agent = await newAgent();
    const res = await graphql(server.url, agent.token, 'query($f: AgentFilter) { metricSummary(name: "x", filter: $f) { name } }', {});
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
