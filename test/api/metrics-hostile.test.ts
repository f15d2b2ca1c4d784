import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { heartbeatRest, registerAgent } from '../helpers/liveness';
import { latestMetrics, pushRest } from '../helpers/metrics';
import { encodeRemoteWrite, postOtlp, postRemoteWrite } from '../helpers/protocols';
import { capturingLogger } from '../helpers/raw';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The metric doors against input made to hurt: refusals by the thousand, times no date
 * can hold, labels that name JavaScript's prototype, 64-bit integers that are not, tokens
 * of another kind with a body not worth reading, and clients that leave mid-body.
 */
let server: TestServer;
const captured = capturingLogger();
beforeAll(async () => {
  server = await startTestServer({ log: captured.log });
});
afterAll(() => server?.close());

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `metrics-hostile-${++counter}` });
const series = (name: string, labels: Record<string, string>, samples: [number, number][]) => ({
  labels: [{ name: '__name__', value: name }, ...Object.entries(labels).map(([n, v]) => ({ name: n, value: v }))],
  samples: samples.map(([value, timestamp]) => ({ value, timestamp })),
});
const metricNames = async (agentId: string) => (await latestMetrics(server.url, server.viewerToken, agentId)).map((m) => m.name);

describe('refusals by the thousand', () => {
  it('counts 19 999 refused values of one kind on one line, and names at most 20 kinds', async () => {
    const agent = await newAgent();
    const now = Date.now() - 1000;
    // Each value differs, so each refusal's text does too: one kind all the same.
    const huge = Array.from({ length: 19_999 }, (_, i): [number, number] => [1e300 * (1 + i / 1e5), now - i]);
    const res = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('fine', {}, [[1, now]]), series('huge', {}, huge)] }));
    expect(res.status).toBe(400);
    const text = res.body.toString();
    expect(text).toMatch(/^1 samples written, 19999 refused: 19999 points: value must be within ±1e\+290, got 1e\+300$/);

    // 30 kinds (a label value too long, under 30 label names): 20 named, the rest counted.
    const long = 'x'.repeat(1100);
    const kinds = Array.from({ length: 30 }, (_, i) => series('labelled', { [`l${i}`]: long }, [[1, now]]));
    const many = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: kinds }));
    expect(many.status).toBe(400);
    const lines = many.body.toString().replace(/^0 samples written, 30 refused: /, '').split('; ');
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe('1 point: label l0 must be at most 1 KiB');
    expect(lines[20]).toBe('10 points: 10 other kinds of problem');
    expect(await metricNames(agent.id)).toEqual(['fine']);
  });
});

describe('requests of more than 20 000 points', () => {
  it('are refused whole with 413 on remote write and OTLP, as on REST, and write nothing', async () => {
    const agent = await newAgent();
    const at = Date.now() - 60_000;
    const samples = (n: number) => Array.from({ length: n }, (_, i): [number, number] => [i, at - i]);
    const over = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('many', {}, samples(20_001))] }));
    expect(over.status).toBe(413);
    expect(JSON.parse(over.body.toString()).error.message).toBe('more than 20000 samples in one request; send them in smaller requests');
    const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);
    const points = Array.from({ length: 20_001 }, (_, i) => ({ timeUnixNano: ns(at - i), asDouble: i }));
    const otlp = await postOtlp(server.url, agent.token, Buffer.from(JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'many_otlp', gauge: { dataPoints: points } }] }] }] })), { json: true });
    expect(otlp.status).toBe(413);
    expect(JSON.parse(otlp.body.toString()).message).toMatch(/more than 20000 samples/);
    const rest = await pushRest(server.url, agent.id, agent.token, Array.from({ length: 20_001 }, (_, i) => ({ name: 'many_rest', value: i })));
    expect(rest.status).toBe(400);
    expect(await metricNames(agent.id)).toEqual([]);
    // 20 000 is within.
    expect((await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('many', {}, samples(20_000))] }))).status).toBe(204);
    expect(await metricNames(agent.id)).toEqual(['many']);
  });
});

describe('times and integers out of range', () => {
  it('refuses a remote-write sample whose time no date can hold with 400, storing the rest', async () => {
    const agent = await newAgent();
    const now = Date.now() - 1000;
    for (const at of [Number.MAX_SAFE_INTEGER * 1024, -Number.MAX_SAFE_INTEGER * 1024, 1.7e18]) {
      const res = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('ok', {}, [[1, now]]), series('far', {}, [[1, at]])] }));
      expect(res.status, String(at)).toBe(400);
      expect(res.body.toString()).toMatch(/1 samples written, 1 refused: 1 point: at must be a valid time/);
    }
    expect(await metricNames(agent.id)).toEqual(['ok']);
  });

  it('refuses OTLP/JSON 64-bit integers that are not integers or do not fit, instead of reading them as 0 or wrapped', async () => {
    const agent = await newAgent();
    const ns = String(BigInt(Date.now() - 1000) * 1_000_000n);
    const body = (point: Record<string, unknown>) =>
      Buffer.from(JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'queue.depth', gauge: { dataPoints: [{ timeUnixNano: ns, asInt: '5', ...point }] } }] }] }] }));
    for (const [point, field] of [
      [{ asInt: '99999999999999999999999999' }, /asInt must be a 64-bit integer/],
      [{ asInt: '9223372036854775808' }, /asInt must be a 64-bit integer/],
      [{ asInt: 1.5 }, /asInt must be a 64-bit integer/],
      [{ timeUnixNano: 'abc' }, /timeUnixNano must be an unsigned 64-bit integer/],
      [{ timeUnixNano: '-1' }, /timeUnixNano must be an unsigned 64-bit integer/],
    ] as const) {
      const res = await postOtlp(server.url, agent.token, body(point), { json: true });
      expect(res.status, JSON.stringify(point)).toBe(400);
      expect(JSON.parse(res.body.toString()).message).toMatch(field);
    }
    const ok = await postOtlp(server.url, agent.token, body({ asInt: '-9223372036854775808' }), { json: true });
    expect(ok.status).toBe(200);
    expect(await latestMetrics(server.url, server.viewerToken, agent.id)).toEqual([expect.objectContaining({ name: 'queue.depth', value: -9223372036854775808 })]);
  });

  it('refuses OTLP/JSON strings over 64 KiB and attribute lists of more than 1 024 values before protobufjs copies them', async () => {
    const agent = await newAgent();
    const body = (value: Record<string, unknown>) =>
      Buffer.from(JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'wide', gauge: { dataPoints: [{ asDouble: 1, attributes: [{ key: 'a', value }] }] } }] }] }] }));
    const long = await postOtlp(server.url, agent.token, body({ stringValue: 'q'.repeat(65 * 1024) }), { json: true });
    expect(long.status).toBe(400);
    expect(JSON.parse(long.body.toString()).message).toMatch(/stringValue must be at most 65536 characters/);
    const wide = await postOtlp(server.url, agent.token, body({ kvlistValue: { values: Array.from({ length: 1025 }, (_, i) => ({ key: `k${i}`, value: { intValue: '1' } })) } }), { json: true });
    expect(wide.status).toBe(400);
    expect(JSON.parse(wide.body.toString()).message).toMatch(/at most 1024 values/);
    // Within both, the point is refused on its own (its label passes 1 KiB), not the body.
    const within = await postOtlp(server.url, agent.token, body({ arrayValue: { values: Array(1024).fill({ stringValue: 'x' }) } }), { json: true });
    expect(within.status).toBe(200);
    expect(JSON.parse(within.body.toString()).partialSuccess).toMatchObject({ rejectedDataPoints: 1, errorMessage: expect.stringMatching(/at most 1 KiB/) });
  });

  it('refuses ranges that start before 1970 and summary steps out of range with 400', async () => {
    const agent = await newAgent();
    const range = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { metrics(from: "0001-01-01T00:00:00Z", to: "0001-01-01T01:00:00Z") { stepSeconds } } }', { id: agent.id });
    expect(range.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { from: 'must be on or after 1970-01-01T00:00:00Z' } });
    const summary = await graphql(server.url, server.viewerToken, '{ metricSummary(name: "cpu_percent", from: "0001-01-01T00:00:00Z", to: "0002-01-01T00:00:00Z") { stepSeconds } }');
    expect(summary.body.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { from: expect.stringMatching(/1970/) } });
    for (const step of [2147483647, 0, -5]) {
      const res = await graphql(server.url, server.viewerToken, 'query($step: Int) { metricSummary(name: "cpu_percent", step: $step) { stepSeconds } }', { step });
      expect(res.body.errors?.[0]?.extensions, String(step)).toMatchObject({ code: 'BAD_USER_INPUT', fields: { step: 'must be a whole number of seconds from 1 to 2678400' } });
    }
  });
});

describe('labels named __proto__', () => {
  it('keeps them as labels on every door, so they name the same series as on the JSON door', async () => {
    const agent = await newAgent();
    const at = Date.now() - 1000;
    expect((await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('proto_rw', Object.fromEntries([['__proto__', 'x']]), [[1, at]]), series('proto_rw', {}, [[2, at]])] }))).status).toBe(204);
    const otlp = { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'proto_otlp', gauge: { dataPoints: [{ timeUnixNano: String(BigInt(at) * 1_000_000n), asDouble: 3, attributes: [{ key: '__proto__', value: { stringValue: 'y' } }] }] } }] }] }] };
    expect((await postOtlp(server.url, agent.token, Buffer.from(JSON.stringify(otlp)), { json: true })).status).toBe(200);
    expect((await request(`${server.url}/api/v1/agents/${agent.id}/metrics`, { token: agent.token, body: '{"metrics":[{"name":"proto_json","value":4,"labels":{"__proto__":"z"}}]}', headers: { 'content-type': 'application/json' } })).status).toBe(200);
    const latest = await latestMetrics(server.url, server.viewerToken, agent.id);
    const shown = latest.map((l) => `${l.name} ${JSON.stringify(l.labels)} ${l.value}`).sort();
    expect(shown).toEqual(['proto_json {"__proto__":"z"} 4', 'proto_otlp {"__proto__":"y"} 3', 'proto_rw {"__proto__":"x"} 1', 'proto_rw {} 2']);
  });
});

describe('label values that are not strings', () => {
  it('refuses one nested thousands deep with 400 naming the label, on the push door and in a heartbeat, and writes nothing', async () => {
    const agent = await newAgent();
    // Written as text: JSON.stringify of the value would overflow this process' stack too.
    const metrics = `[{"name":"deep_label","value":1,"labels":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}]`;
    const post = (path: string) => request(`${server.url}/api/v1/agents/${agent.id}/${path}`, { token: agent.token, body: `{"metrics":${metrics}}`, headers: { 'content-type': 'application/json' } });
    const pushed = await post('metrics');
    expect(pushed.status).toBe(400);
    expect(pushed.body.error.message).toMatch(/label a must be a string/);
    const beat = await post('heartbeat');
    expect(beat.status).toBe(400);
    expect(beat.body.error.message).toMatch(/label a must be a string/);
    expect(await metricNames(agent.id)).toEqual([]);
  });
});

describe('heartbeats that carry metrics', () => {
  it('writes no series for a heartbeat refused on its own fields, on either door', async () => {
    const agent = await newAgent();
    const rest = await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'bogus' }, metrics: [{ name: 'orphan_rest', value: 1 }] });
    expect(rest.status).toBe(400);
    const gql = await graphql(server.url, agent.token, 'mutation($i: HeartbeatInput!) { heartbeat(input: $i) { status } }', { i: { agentId: agent.id, sequence: -1, metrics: [{ name: 'orphan_gql', value: 1 }] } });
    expect(gql.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const names = await graphql(server.url, server.viewerToken, '{ metricNames { name } }');
    expect(names.body.data.metricNames.map((n: { name: string }) => n.name)).not.toEqual(expect.arrayContaining(['orphan_rest']));
    expect(names.body.data.metricNames.map((n: { name: string }) => n.name)).not.toEqual(expect.arrayContaining(['orphan_gql']));
    // Accepted, both are written.
    expect((await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'healthy' }, metrics: [{ name: 'beat_rest', value: 1 }] })).status).toBe(200);
    expect(await metricNames(agent.id)).toEqual(['beat_rest']);
  });
});

describe('tokens of another kind, and clients that leave', () => {
  it('refuses an operator or enrollment token before reading the body (403, not a complaint about the body)', async () => {
    const agent = await newAgent();
    for (const token of [server.adminToken, server.viewerToken, server.enrollmentToken]) {
      const rest = await request(`${server.url}/api/v1/agents/${agent.id}/metrics`, { token, body: 'not json at all', headers: { 'content-type': 'application/json' } });
      expect(rest.status).toBe(403);
      expect((await postRemoteWrite(server.url, token, Buffer.from('not snappy'))).status).toBe(403);
    }
    // An agent's own token with the same bodies: the body is what is wrong.
    expect((await request(`${server.url}/api/v1/agents/${agent.id}/metrics`, { token: agent.token, body: 'not json at all', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await postRemoteWrite(server.url, agent.token, Buffer.from('not snappy'))).status).toBe(400);
    // Another agent's token: 403 as well.
    const other = await newAgent();
    expect((await pushRest(server.url, agent.id, other.token, [{ name: 'x', value: 1 }])).status).toBe(403);
  });

  it('answers a push for an agent deregistered since its token was last checked with 401, not a 500', async () => {
    const agent = await newAgent();
    expect((await pushRest(server.url, agent.id, agent.token, [{ name: 'warm', value: 1 }])).status).toBe(200);
    expect((await request(`${server.url}/api/v1/agents/${agent.id}`, { method: 'DELETE', token: server.adminToken })).status).toBeLessThan(300);
    // Within the second its token check is trusted for: a new series has no agent to belong to.
    const late = await pushRest(server.url, agent.id, agent.token, [{ name: 'after_deregistration', value: 1 }]);
    expect(late.status).toBe(401);
    const write = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('after_too', {}, [[1, Date.now() - 1000]])] }));
    expect(write.status).toBe(401);
  });

  it('takes a client that closes mid-body for what it is: no error logged, nothing about the database', async () => {
    const agent = await newAgent();
    const { port } = new URL(server.url);
    const before = captured.lines().length;
    for (const [path, type] of [
      [`/api/v1/agents/${agent.id}/metrics`, 'application/json'],
      [`/api/v1/agents/${agent.id}/heartbeat`, 'application/json'],
      ['/api/v1/write', 'application/x-protobuf'],
      ['/v1/metrics', 'application/x-protobuf'],
    ]) {
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const encoding = path === '/api/v1/write' ? 'content-encoding: snappy\r\n' : '';
      socket.write(`POST ${path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${agent.token}\r\ncontent-type: ${type}\r\n${encoding}content-length: 100\r\n\r\n{"metr`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
      // The server sees the close, and the request's log line is written.
      await expect.poll(() => captured.lines().slice(before).filter((l) => l.route && l.status === 499).length, { timeout: 5000 }).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = captured.lines().slice(before);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'warn' || /database|metric ingest/.test(String(l.msg)))).toEqual([]);
    expect(lines.filter((l) => l.status === 499)).toHaveLength(4);
  });
});
