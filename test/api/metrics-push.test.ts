import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { rawRequest } from '../helpers/agents';
import { heartbeatRest, registerAgent, type Agent } from '../helpers/liveness';
import { iso, latestMetrics, pushRest, queryMetrics } from '../helpers/metrics';
import { encodeRemoteWrite, postRemoteWrite } from '../helpers/protocols';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { METRICS_MAX_SERIES_PER_AGENT: '5', METRICS_MAX_BODY_BYTES: '65536' } });
});
afterAll(async () => {
  await server?.close();
});

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `metrics-push-${++counter}` });
const stored = async (agent: Agent) => latestMetrics(server.url, server.viewerToken, agent.id);

describe('REST push', () => {
  it('takes a list of samples with the agent’s own token; `at` defaults to the server’s clock', async () => {
    const agent = await newAgent();
    const before = Date.now();
    const res = await pushRest(server.url, agent.id, agent.token, [
      { name: 'cpu_percent', value: 12.5 },
      { name: 'disk_used_bytes', value: 5.1e10, labels: { mount: '/' }, at: iso(before - 60_000) },
      { name: 'requests_total', value: 7, kind: 'counter', unit: '{request}' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 3 });
    const latest = await stored(agent);
    const cpu = latest.find((l) => l.name === 'cpu_percent')!;
    expect(Date.parse(cpu.at)).toBeGreaterThanOrEqual(before - 1000);
    expect(latest.find((l) => l.name === 'disk_used_bytes')).toMatchObject({ value: 5.1e10, labels: { mount: '/' }, at: iso(before - 60_000), unit: 'By', kind: 'GAUGE' });
    expect(latest.find((l) => l.name === 'requests_total')).toMatchObject({ kind: 'COUNTER', unit: '{request}' });
  });

  it('refuses a missing token (401), an operator token and another agent’s token (403)', async () => {
    const [agent, other] = await Promise.all([newAgent(), newAgent()]);
    const metrics = [{ name: 'cpu_percent', value: 1 }];
    expect((await pushRest(server.url, agent.id, undefined, metrics)).status).toBe(401);
    expect((await pushRest(server.url, agent.id, server.adminToken, metrics)).status).toBe(403);
    const foreign = await pushRest(server.url, agent.id, other.token, metrics);
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.message).toMatch(/own agent/);
    expect(await stored(agent)).toEqual([]);
  });

  it.each([
    ['a name outside the pattern', { name: '1cpu', value: 1 }, /must match/],
    ['a name over 200 characters', { name: 'a'.repeat(201), value: 1 }, /at most 200/],
    ['more than 30 labels', { name: 'x', value: 1, labels: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`l${i}`, 'v'])) }, /at most 30 labels/],
    ['a label value over 1 KiB', { name: 'x', value: 1, labels: { big: 'x'.repeat(1025) } }, /at most 1 KiB/],
    ['a label name outside the pattern', { name: 'x', value: 1, labels: { 'bad-name': 'v' } }, /label name/],
    ['a value that is not a number', { name: 'x', value: 'NaN' }, /must be a number/],
    ['a value whose sums could overflow', { name: 'x', value: 1.7976931348623157e308 }, /must be within ±1e\+290/],
    ['a label value holding a lone surrogate', { name: 'x', value: 1, labels: { a: 'ok\ud800' } }, /lone UTF-16 surrogate/],
    ['a unit holding a lone surrogate', { name: 'x', value: 1, unit: '\udc00' }, /lone UTF-16 surrogate/],
    ['a time more than 5 minutes ahead', { name: 'x', value: 1, at: iso(Date.now() + 6 * 60_000) }, /5 minutes ahead/],
    ['a time older than the raw retention', { name: 'x', value: 1, at: iso(Date.now() - 8 * 86_400_000) }, /older than the raw retention/],
  ])('refuses %s with 400, naming the entry, and writes none of the request', async (_what, bad, message) => {
    const agent = await newAgent();
    const res = await pushRest(server.url, agent.id, agent.token, [{ name: 'good', value: 1 }, bad]);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('BAD_USER_INPUT');
    expect(Object.values(res.body.error.fields).join(' ')).toMatch(message);
    expect(Object.keys(res.body.error.fields)[0]).toMatch(/^metrics\.1/);
    expect(await stored(agent)).toEqual([]);
  });

  it('refuses points of series past the per-agent limit, naming them, and writes nothing of that request', async () => {
    const agent = await newAgent();
    const series = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ name: 'fan_rpm', value: i, labels: { fan: String(from + i) } }));
    const over = await pushRest(server.url, agent.id, agent.token, series(6));
    expect(over.status).toBe(400);
    expect(over.body.error.message).toMatch(/at most 5 series; these 6 would pass it: fan_rpm\{"fan":"0"\}/);
    expect(await stored(agent)).toEqual([]);
    expect((await pushRest(server.url, agent.id, agent.token, series(5))).status).toBe(200);
    // Known series still take samples; a sixth does not.
    expect((await pushRest(server.url, agent.id, agent.token, series(5))).status).toBe(200);
    const sixth = await pushRest(server.url, agent.id, agent.token, series(1, 5));
    expect(sixth.status).toBe(400);
    expect(sixth.body.error.message).toMatch(/fan_rpm\{"fan":"5"\}/);
  });

  it('writes the points of known series and of new ones within the limit from remote write, and counts those past it', async () => {
    const agent = await newAgent();
    const at = Date.now() - 10_000;
    const series = (disk: string, times: number[]) => ({
      labels: [{ name: '__name__', value: 'disk_free' }, { name: 'disk', value: disk }],
      samples: times.map((t) => ({ value: t, timestamp: at + t * 1000 })),
    });
    // Three series known before; then a push that has them, four new ones (room for two),
    // and a series that comes back later in the same request.
    expect((await pushRest(server.url, agent.id, agent.token, ['a', 'b', 'c'].map((disk) => ({ name: 'disk_free', value: 0, labels: { disk }, at: iso(at - 60_000) })))).status).toBe(200);
    const body = encodeRemoteWrite({ timeseries: [series('a', [1, 2]), series('d', [1, 2]), series('b', [1]), series('e', [1]), series('f', [1, 2]), series('d', [3]), series('g', [1]), series('c', [1])] });
    const first = await postRemoteWrite(server.url, agent.token, body);
    expect(first.status).toBe(400);
    expect(first.body.toString()).toBe('8 samples written, 3 refused: 3 points: the agent may have at most 5 series; new series refused: disk_free{"disk":"f"}, disk_free{"disk":"g"}');
    const latest = await stored(agent);
    expect(latest.map((l) => [l.labels.disk, l.value]).sort()).toEqual([['a', 2], ['b', 1], ['c', 1], ['d', 3], ['e', 1]]);
    // The same again: this replica knows five of the series now, and still refuses the other two.
    const again = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('g', [4]), series('a', [4]), series('f', [4])] }));
    expect(again.body.toString()).toBe('1 samples written, 2 refused: 2 points: the agent may have at most 5 series; new series refused: disk_free{"disk":"g"}, disk_free{"disk":"f"}');
    expect((await stored(agent)).find((l) => l.labels.disk === 'a')?.value).toBe(4);
  });

  it('answers 413 to a body over the limit from its Content-Length, without reading the rest', async () => {
    const agent = await newAgent();
    const res = await rawRequest(server.url, {
      path: `/api/v1/agents/${agent.id}/metrics`,
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json', 'content-length': 10_000_000 },
      body: Buffer.from('{"metrics":['),
      chunked: true,
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses malformed JSON and a body without a metrics array with 400', async () => {
    const agent = await newAgent();
    const broken = await request(`${server.url}/api/v1/agents/${agent.id}/metrics`, { token: agent.token, body: '{"metrics":[', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    const missing = await request(`${server.url}/api/v1/agents/${agent.id}/metrics`, { token: agent.token, json: { metric: [] } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields.metrics).toMatch(/array/);
  });
});

describe('metrics with a heartbeat, and pushMetrics', () => {
  it('stores the metrics a REST heartbeat carries, in the same request', async () => {
    const agent = await newAgent();
    const res = await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'healthy' }, metrics: [{ name: 'cpu_percent', value: 42 }] });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('online');
    expect(await stored(agent)).toEqual([expect.objectContaining({ name: 'cpu_percent', value: 42 })]);
  });

  it('refuses a heartbeat whose metrics are refused, and records neither', async () => {
    const agent = await newAgent();
    const res = await heartbeatRest(server.url, agent.id, agent.token, { metrics: [{ name: 'bad name', value: 1 }] });
    expect(res.status).toBe(400);
    expect(res.body.error.fields['metrics.0']).toMatch(/must match/);
    const read = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { lastHeartbeat } }', { id: agent.id });
    expect(read.body.data.agent.lastHeartbeat).toBeNull();
    expect(await stored(agent)).toEqual([]);
  });

  it('stores metrics from the GraphQL heartbeat mutation and from pushMetrics', async () => {
    const agent = await newAgent();
    const beat = await graphql(
      server.url,
      agent.token,
      'mutation($input: HeartbeatInput!) { heartbeat(input: $input) { status } }',
      { input: { agentId: agent.id, metrics: [{ name: 'memory_used_bytes', value: 1024, labels: { kind: 'rss' } }] } },
    );
    expect(beat.body).toEqual({ data: { heartbeat: { status: 'ONLINE' } } });
    const push = await graphql(server.url, agent.token, 'mutation($input: PushMetricsInput!) { pushMetrics(input: $input) { accepted } }', {
      input: { agentId: agent.id, metrics: [{ name: 'net_rx_bytes_total', value: 10, kind: 'COUNTER', at: iso(Date.now() - 1000) }] },
    });
    expect(push.body).toEqual({ data: { pushMetrics: { accepted: 1 } } });
    const latest = await stored(agent);
    expect(latest.map((l) => [l.name, l.kind, l.unit, l.labels])).toEqual([
      ['memory_used_bytes', 'GAUGE', 'By', { kind: 'rss' }],
      ['net_rx_bytes_total', 'COUNTER', 'By', {}],
    ]);
    const viewer = await graphql(server.url, server.viewerToken, 'mutation($input: PushMetricsInput!) { pushMetrics(input: $input) { accepted } }', {
      input: { agentId: agent.id, metrics: [{ name: 'x', value: 1 }] },
    });
    expect(viewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lets no agent token read metrics', async () => {
    const agent = await newAgent();
    const res = await graphql(server.url, agent.token, '{ metricNames { name } }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const range = await graphql(server.url, agent.token, 'query($id: ID!) { agent(id: $id) { latestMetrics { name } } }', { id: agent.id });
    expect(range.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await queryMetrics(server.url, server.adminToken, agent.id)).toMatchObject({ series: [] });
  });
});

describe('the series cache', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startTestServer({ env: { METRICS_SERIES_CACHE: '1000', METRICS_MAX_SERIES_PER_AGENT: '1000' } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('writes every point after it filled up and started afresh, finding the series it forgot in the database', async () => {
    const [a, b] = await Promise.all([1, 2].map((n) => registerAgent(small.url, small.enrollmentToken, { name: `series-cache-${n}` })));
    const push = (agent: Agent, value: number, at: number) =>
      pushRest(small.url, agent.id, agent.token, Array.from({ length: 600 }, (_, i) => ({ name: 'queue_depth', value, labels: { queue: `q${i}` }, at: iso(at) })));
    const at = Date.now() - 60_000;
    // 1 200 series: the cache holds 1 000, so it starts afresh during the second push.
    for (const [agent, value] of [[a, 1], [b, 2], [a, 3], [b, 4]] as const) {
      const res = await push(agent, value, at + value * 1000);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ accepted: 600 });
    }
    for (const [agent, value] of [[a, 3], [b, 4]] as const) {
      const latest = await latestMetrics(small.url, small.viewerToken, agent.id);
      expect(latest).toHaveLength(600);
      expect(new Set(latest.map((l) => l.value))).toEqual(new Set([value]));
    }
  });
});
