import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/agents';
import { request } from '../helpers/client';
import { registerAgent } from '../helpers/liveness';
import { latestMetrics, queryMetrics } from '../helpers/metrics';
import { decodeOtlpAnswer, decodeStatus, encodeOtlp, encodeRemoteWrite, postOtlp, postRemoteWrite } from '../helpers/protocols';
import { startTestServer, type TestServer } from '../helpers/server';
import { WriteRequest } from '../../api/metrics/proto';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { METRICS_MAX_BODY_BYTES: '65536', METRICS_MAX_DECODED_BYTES: '262144' } });
});
afterAll(async () => {
  await server?.close();
});

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `metrics-protocols-${++counter}` });
const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);
const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** An OTLP/JSON request as the specification spells it (lowerCamelCase, 64-bit integers as strings). */
function otlpRequest(now: number) {
  return {
    resourceMetrics: [
      {
        resource: { attributes: [attr('service.name', 'checkout')] },
        scopeMetrics: [
          {
            scope: { name: 'test' },
            metrics: [
              { name: 'system.cpu.utilization', unit: '%', gauge: { dataPoints: [{ timeUnixNano: ns(now - 2000), asDouble: 37.5, attributes: [attr('cpu', '0')] }] } },
              { name: 'http.requests', unit: '{request}', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ timeUnixNano: ns(now - 2000), asInt: '1200' }] } },
              { name: 'queue.depth', sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [{ timeUnixNano: ns(now - 2000), asInt: '17' }] } },
              { name: 'bytes.sent', unit: 'By', sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ timeUnixNano: ns(now - 2000), asInt: '4096' }] } },
              {
                name: 'http.server.duration',
                unit: 'ms',
                histogram: { aggregationTemporality: 2, dataPoints: [{ timeUnixNano: ns(now - 2000), count: '10', sum: 250, bucketCounts: ['4', '6'], explicitBounds: [10] }] },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('OTLP/HTTP at /v1/metrics', () => {
  it.each([
    ['protobuf', false, false],
    ['JSON', true, false],
    ['gzipped protobuf', false, true],
  ])('stores gauges, sums (cumulative and delta) and histogram count and sum sent as %s, answering 200 in kind', async (_what, json, gzip) => {
    const agent = await newAgent();
    const now = Date.now();
    const body = json ? Buffer.from(JSON.stringify(otlpRequest(now))) : encodeOtlp(otlpRequest(now));
    const res = await postOtlp(server.url, agent.token, body, { json, gzip });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(json ? 'application/json' : 'application/x-protobuf');
    if (json) expect(JSON.parse(res.body.toString())).toEqual({});
    else expect(decodeOtlpAnswer(res.body).partialSuccess).toBeUndefined();

    const latest = await latestMetrics(server.url, server.viewerToken, agent.id);
    const by = Object.fromEntries(latest.map((l) => [l.name, l]));
    expect(by['system.cpu.utilization']).toMatchObject({ kind: 'GAUGE', unit: '%', value: 37.5, labels: { cpu: '0' } });
    expect(by['http.requests']).toMatchObject({ kind: 'COUNTER', value: 1200, unit: '{request}' });
    expect(by['queue.depth']).toMatchObject({ kind: 'GAUGE', value: 17 });
    expect(by['bytes.sent']).toMatchObject({ kind: 'DELTA', value: 4096, unit: 'By' });
    expect(by['http.server.duration_count']).toMatchObject({ kind: 'COUNTER', value: 10 });
    expect(by['http.server.duration_sum']).toMatchObject({ kind: 'COUNTER', value: 250, unit: 'ms' });
    expect(by['http.requests'].at).toBe(new Date(now - 2000).toISOString());
  });

  it('answers partial_success naming the refused points, and stores the rest', async () => {
    const agent = await newAgent();
    const now = Date.now();
    const request = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                { name: 'ok', gauge: { dataPoints: [{ timeUnixNano: ns(now), asDouble: 1 }] } },
                { name: 'not a name', gauge: { dataPoints: [{ timeUnixNano: ns(now), asDouble: 1 }] } },
                { name: 'inf', gauge: { dataPoints: [{ timeUnixNano: ns(now), asDouble: 'Infinity' }, { timeUnixNano: ns(now + 3_600_000), asDouble: 2 }] } },
              ],
            },
          ],
        },
      ],
    };
    for (const json of [true, false]) {
      const res = await postOtlp(server.url, agent.token, json ? Buffer.from(JSON.stringify(request)) : encodeOtlp(request), { json });
      expect(res.status).toBe(200);
      const answer = json ? JSON.parse(res.body.toString()) : decodeOtlpAnswer(res.body);
      expect(Number(answer.partialSuccess.rejectedDataPoints)).toBe(3);
      expect(answer.partialSuccess.errorMessage).toMatch(/must match/);
      expect(answer.partialSuccess.errorMessage).toMatch(/finite number/);
      expect(answer.partialSuccess.errorMessage).toMatch(/5 minutes ahead/);
    }
    expect((await latestMetrics(server.url, server.viewerToken, agent.id)).map((l) => l.name)).toEqual(['ok']);
  });

  it('refuses what it cannot decode with 400 and a Status in the request’s encoding', async () => {
    const agent = await newAgent();
    const proto = await postOtlp(server.url, agent.token, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    expect(proto.status).toBe(400);
    expect(decodeStatus(proto.body)).toMatchObject({ code: 3, message: expect.stringMatching(/protobuf/) });
    const json = await postOtlp(server.url, agent.token, Buffer.from('{"resourceMetrics": 5}'), { json: true });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString()).message).toMatch(/resourceMetrics/);
    const gzip = await postOtlp(server.url, agent.token, Buffer.from('not gzip'), { headers: { 'content-encoding': 'gzip' } });
    expect(gzip.status).toBe(400);
    const type = await postOtlp(server.url, agent.token, Buffer.from('x'), { headers: { 'content-type': 'text/plain' } });
    expect(type.status).toBe(415);
  });

  it('refuses text that is not UTF-8 (a lone surrogate in JSON, invalid bytes in protobuf) with 400, rewriting nothing', async () => {
    const agent = await newAgent();
    const point = (value: string) => ({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'lone', gauge: { dataPoints: [{ asDouble: 1, attributes: [attr('a', value)] }] } }] }] }] });
    const json = await postOtlp(server.url, agent.token, Buffer.from(JSON.stringify(point('x\ud800'))), { json: true });
    expect(json.status).toBe(400);
    expect(JSON.parse(json.body.toString()).message).toMatch(/not valid UTF-8/);
    const wire = encodeOtlp(point('xyz'));
    wire[wire.indexOf(Buffer.from('xyz'))] = 0xff;
    const proto = await postOtlp(server.url, agent.token, wire);
    expect(proto.status).toBe(400);
    expect(decodeStatus(proto.body).message).toMatch(/not valid UTF-8/);
    expect(await latestMetrics(server.url, server.viewerToken, agent.id)).toEqual([]);
  });

  it('answers 401 without a token and 403 for an operator token', async () => {
    const body = encodeOtlp(otlpRequest(Date.now()));
    expect((await postOtlp(server.url, undefined, body)).status).toBe(401);
    const operator = await postOtlp(server.url, server.adminToken, body);
    expect(operator.status).toBe(403);
    expect(decodeStatus(operator.body).code).toBe(7);
    const gone = await newAgent();
    expect((await request(`${server.url}/api/v1/agents/${gone.id}`, { method: 'DELETE', token: server.adminToken })).status).toBe(200);
    const orphan = await postOtlp(server.url, gone.token, body);
    expect(orphan.status).toBe(401);
    expect(decodeStatus(orphan.body).message).toMatch(/register again/);
  });

  it('checks an agent token against its agent before reading the body: a forged one gets 401 for a body that would not even decode', async () => {
    const agent = await newAgent();
    const forged = `am_agent_${agent.id.replaceAll('-', '')}_${'A'.repeat(43)}`;
    const garbage = Buffer.from('{"resourceMetrics":"not a list"}');
    for (const opts of [{ json: true }, { json: true, gzip: true }, {}]) {
      const refused = await postOtlp(server.url, forged, garbage, opts);
      expect(refused.status).toBe(401);
      const status = 'json' in opts ? JSON.parse(refused.body.toString()) : decodeStatus(refused.body);
      expect(status).toMatchObject({ code: 16, message: expect.stringMatching(/token/) });
    }
    // The agent's own token with the same body: the body is what is wrong.
    expect((await postOtlp(server.url, agent.token, garbage, { json: true })).status).toBe(400);
  });

  it('answers 413 to a body over the limit, and to a gzip body that inflates past the decoded limit', async () => {
    const agent = await newAgent();
    const declared = await rawRequest(server.url, {
      path: '/v1/metrics',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/x-protobuf', 'content-length': 1_000_000 },
      body: Buffer.alloc(100),
      chunked: true,
    });
    expect(declared.status).toBe(413);
    const bomb = await postOtlp(server.url, agent.token, Buffer.alloc(1_000_000), { gzip: true });
    expect(bomb.status).toBe(413);
  });
});

describe('Prometheus remote write 1.0 at /api/v1/write', () => {
  const series = (name: string, labels: Record<string, string>, samples: [number, number][]) => ({
    labels: [{ name: '__name__', value: name }, ...Object.entries(labels).map(([n, v]) => ({ name: n, value: v }))],
    samples: samples.map(([value, timestamp]) => ({ value, timestamp })),
  });

  it('stores the samples of a snappy-compressed WriteRequest and answers 204', async () => {
    const agent = await newAgent();
    const now = Date.now();
    const res = await postRemoteWrite(
      server.url,
      agent.token,
      encodeRemoteWrite({
        timeseries: [
          series('node_cpu_seconds_total', { cpu: '0', mode: 'idle', job: 'node' }, [[100, now - 20_000], [110, now - 10_000]]),
          series('node_memory_MemAvailable_bytes', { job: 'node', empty: '' }, [[2e9, now - 10_000]]),
        ],
      }),
    );
    expect(res.status).toBe(204);
    const latest = await latestMetrics(server.url, server.viewerToken, agent.id);
    expect(latest.find((l) => l.name === 'node_cpu_seconds_total')).toMatchObject({ kind: 'COUNTER', unit: 's', value: 110, labels: { cpu: '0', mode: 'idle', job: 'node' } });
    expect(latest.find((l) => l.name === 'node_memory_MemAvailable_bytes')).toMatchObject({ kind: 'GAUGE', unit: 'By', labels: { job: 'node' } });
    // The counter reads as a rate: 10 over 10 s.
    const range = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['node_cpu_seconds_total'], from: new Date(now - 60_000).toISOString(), to: new Date(now).toISOString() });
    expect(range.series[0].points.map((p) => p.value)).toEqual([1]);
    expect(range.series[0].pointUnit).toBe('s/s');
  });

  it('skips staleness markers, and answers 400 naming refused samples while storing the others', async () => {
    const agent = await newAgent();
    const now = Date.now();
    const stale = new DataView(new ArrayBuffer(8));
    stale.setUint32(0, 0x7ff00000);
    stale.setUint32(4, 0x00000002);
    // Built as objects: V8 keeps a NaN's bits in an object field, but not in an array of numbers.
    const marked = series('up', { job: 'x' }, [[1, now - 5000]]);
    marked.samples.push({ value: stale.getFloat64(0), timestamp: now });
    const ok = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [marked] }));
    expect(ok.status, ok.body.toString()).toBe(204);
    const mixed = await postRemoteWrite(
      server.url,
      agent.token,
      encodeRemoteWrite({ timeseries: [series('up', { job: 'y' }, [[1, now], [NaN, now + 1]]), series('bad-name', {}, [[1, now]]), series('', {}, [[1, now]])] }),
    );
    expect(mixed.status).toBe(400);
    const text = mixed.body.toString();
    expect(text).toMatch(/1 samples written, 3 refused/);
    expect(text).toMatch(/finite number/);
    expect(text).toMatch(/__name__/);
    const latest = await latestMetrics(server.url, server.viewerToken, agent.id);
    expect(latest.map((l) => [l.labels.job, l.value, l.at]).sort()).toEqual([
      ['x', 1, new Date(now - 5000).toISOString()],
      ['y', 1, new Date(now).toISOString()],
    ]);
  });

  it('refuses values whose sums could overflow, and label values that are not UTF-8, storing the rest', async () => {
    const agent = await newAgent();
    const at = Date.now() - 1000;
    const series = (name: string, value: number, labels: Record<string, string> = {}) => ({
      labels: [{ name: '__name__', value: name }, ...Object.entries(labels).map(([k, v]) => ({ name: k, value: v }))],
      samples: [{ value, timestamp: at }],
    });
    const huge = await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [series('fine', 1), series('huge', -1.7976931348623157e308)] }));
    expect(huge.status).toBe(400);
    expect(huge.body.toString()).toMatch(/1 refused: .*must be within ±1e\+290/);
    expect((await latestMetrics(server.url, server.viewerToken, agent.id)).map((l) => l.name)).toEqual(['fine']);
    const raw = Buffer.from(WriteRequest.encode(WriteRequest.fromObject({ timeseries: [series('bytes', 1, { a: 'xyz' })] })).finish());
    raw[raw.indexOf(Buffer.from('xyz'))] = 0xc3;
    const bad = await postRemoteWrite(server.url, agent.token, Buffer.from(require('snappyjs').compress(new Uint8Array(raw))));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).error.message).toMatch(/not valid UTF-8/);
    // A label name given twice: that series is refused (400 naming why), the others written.
    const twice = (labels: [string, string][]) => ({ labels: labels.map(([n, v]) => ({ name: n, value: v })), samples: [{ value: 1, timestamp: Date.now() }] });
    const repeated = await postRemoteWrite(
      server.url,
      agent.token,
      encodeRemoteWrite({ timeseries: [twice([['__name__', 'dup_a'], ['__name__', 'dup_b']]), twice([['__name__', 'dup_c'], ['x', '1'], ['x', '2']]), series('single', 1, { x: '1' })] }),
    );
    expect(repeated.status).toBe(400);
    expect(repeated.body.toString()).toBe('1 samples written, 2 refused: 2 points: series with a label name given twice');
    expect((await latestMetrics(server.url, server.viewerToken, agent.id)).map((l) => l.name).sort()).toEqual(['fine', 'single']);
  });

  it('refuses malformed snappy and protobuf with 400, the wrong encoding with 415, other tokens with 401/403', async () => {
    const agent = await newAgent();
    expect((await postRemoteWrite(server.url, agent.token, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).status).toBe(400);
    const garbage = Buffer.from(require('snappyjs').compress(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f])));
    const proto = await postRemoteWrite(server.url, agent.token, garbage);
    expect(proto.status).toBe(400);
    expect(JSON.parse(proto.body.toString()).error.message).toMatch(/protobuf/);
    expect((await postRemoteWrite(server.url, agent.token, encodeRemoteWrite({ timeseries: [] }), { 'content-encoding': 'gzip' })).status).toBe(415);
    expect((await postRemoteWrite(server.url, undefined, encodeRemoteWrite({ timeseries: [] }))).status).toBe(401);
    expect((await postRemoteWrite(server.url, server.viewerToken, encodeRemoteWrite({ timeseries: [] }))).status).toBe(403);
    // The token's kind before the body's type.
    expect((await postRemoteWrite(server.url, server.viewerToken, encodeRemoteWrite({ timeseries: [] }), { 'content-type': 'text/plain' })).status).toBe(403);
    const big = require('snappyjs').compress(new Uint8Array(300_000));
    expect((await postRemoteWrite(server.url, agent.token, Buffer.from(big))).status).toBe(413);
  });
});
