import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AggregationTemporalityPreference, OTLPMetricExporter as OtlpJsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, waitFor } from '../helpers/liveness';
import { latestMetrics, queryMetrics } from '../helpers/metrics';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `metrics-senders-${++counter}` });

describe('the OpenTelemetry JS SDK’s OTLP/HTTP exporters', () => {
  it.each([
    ['http/json, cumulative', (url: string, token: string) => new OtlpJsonExporter({ url, headers: { Authorization: `Bearer ${token}` } }), 'COUNTER'],
    [
      'http/protobuf, delta',
      (url: string, token: string) => new OtlpProtoExporter({ url, headers: { Authorization: `Bearer ${token}` }, temporalityPreference: AggregationTemporalityPreference.DELTA }),
      'DELTA',
    ],
  ])('push counters, gauges, up-down counters and histograms over %s', async (_what, makeExporter: (url: string, token: string) => PushMetricExporter, counterKind) => {
    const agent = await newAgent();
    const exporter = makeExporter(`${server.url}/v1/metrics`, agent.token);
    const provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })],
    });
    try {
      const meter = provider.getMeter('agent-monitor-test');
      meter.createCounter('http.requests', { unit: '{request}' }).add(5, { route: '/pay' });
      meter.createUpDownCounter('queue.depth').add(3);
      meter.createObservableGauge('system.cpu.utilization', { unit: '%' }).addCallback((r) => r.observe(42.5, { cpu: '0' }));
      const latency = meter.createHistogram('http.server.duration', { unit: 'ms' });
      for (const ms of [10, 20, 30]) latency.record(ms, { route: '/pay' });
      await provider.forceFlush();
    } finally {
      await provider.shutdown();
    }
    const latest = await latestMetrics(server.url, server.viewerToken, agent.id);
    const by = Object.fromEntries(latest.map((l) => [l.name, l]));
    expect(by['http.requests']).toMatchObject({ kind: counterKind, value: 5, labels: { route: '/pay' }, unit: '{request}' });
    expect(by['queue.depth']).toMatchObject({ value: 3 });
    expect(by['system.cpu.utilization']).toMatchObject({ kind: 'GAUGE', value: 42.5, labels: { cpu: '0' }, unit: '%' });
    expect(by['http.server.duration_count']).toMatchObject({ kind: counterKind, value: 3 });
    expect(by['http.server.duration_sum']).toMatchObject({ value: 60, unit: 'ms' });
  });
});

/**
 * Debian's Prometheus 2.42 in agent mode scrapes a target this test serves and remote-
 * writes to the server. Without the binary the test is skipped with the reason printed;
 * REQUIRE_PROMETHEUS=1 (CI) makes that a failure.
 */
const PROMETHEUS = process.env.PROMETHEUS_PATH || '/usr/bin/prometheus';
const hasPrometheus = existsSync(PROMETHEUS);
if (!hasPrometheus) {
  const reason = `${PROMETHEUS} not found (install it with: apt-get install -y prometheus)`;
  if (process.env.REQUIRE_PROMETHEUS === '1') throw new Error(`REQUIRE_PROMETHEUS=1 but the Prometheus test cannot run: ${reason}`);
  process.stderr.write(`\n[metrics] Prometheus remote-write test SKIPPED: ${reason}. Set REQUIRE_PROMETHEUS=1 to fail instead.\n\n`);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe.skipIf(!hasPrometheus)('Prometheus 2.42 remote write', () => {
  let child: ChildProcess | undefined;
  let target: http.Server | undefined;
  let dir: string | undefined;
  let log = '';
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    child = undefined;
  };
  // However the test ends, no Prometheus is left running.
  const onExit = () => child?.kill('SIGKILL');
  beforeAll(() => void process.once('exit', onExit));
  afterAll(async () => {
    await stop();
    process.off('exit', onExit);
    await new Promise((r) => (target ? target.close(r) : r(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes a target and remote-writes its samples, which read back as stored series', async () => {
    const agent = await newAgent();
    let requests = 0;
    target = http.createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# TYPE app_temperature_celsius gauge',
          'app_temperature_celsius{room="a"} 21.5',
          '# TYPE app_requests_total counter',
          `app_requests_total{code="200"} ${requests * 10}`,
          '',
        ].join('\n'),
      );
    });
    await new Promise<void>((r) => target!.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    const webPort = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'am-prometheus-'));
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: { scrape_interval: 1s }',
        'scrape_configs:',
        `  - job_name: app`,
        `    static_configs: [{ targets: ['127.0.0.1:${targetPort}'] }]`,
        'remote_write:',
        `  - url: ${server.url}/api/v1/write`,
        `    authorization: { type: Bearer, credentials: ${agent.token} }`,
        '    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }',
        '',
      ].join('\n'),
    );
    // 2.42 names agent mode a feature (`--agent` came with 3.0).
    child = spawn(PROMETHEUS, ['--enable-feature=agent', `--config.file=${config}`, `--storage.agent.path=${path.join(dir, 'wal')}`, `--web.listen-address=127.0.0.1:${webPort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    if (process.env.PROMETHEUS_LOG) child.stderr!.pipe(process.stderr);

    const latest = await waitFor(
      async () => {
        if (child?.exitCode !== null) throw new Error(`prometheus exited (${child?.exitCode}): ${log.slice(-2000)}`);
        const list = await latestMetrics(server.url, server.viewerToken, agent.id);
        const counter = list.find((l) => l.name === 'app_requests_total');
        return counter && counter.value >= 30 && list.some((l) => l.name === 'app_temperature_celsius') ? list : undefined;
      },
      { timeout: 40_000, interval: 250, what: 'samples from Prometheus' },
    );
    expect(latest.find((l) => l.name === 'app_temperature_celsius')).toMatchObject({ kind: 'GAUGE', value: 21.5, labels: { room: 'a', job: 'app', instance: `127.0.0.1:${targetPort}` } });
    expect(latest.find((l) => l.name === 'up')).toMatchObject({ value: 1 });
    // The counter grows by 10 a scrape, once a second: about 10 a second as a rate.
    const range = await queryMetrics(server.url, server.viewerToken, agent.id, { names: ['app_requests_total'], from: new Date(Date.now() - 60_000).toISOString() });
    const rates = range.series[0].points.map((p) => p.value);
    expect(rates.length).toBeGreaterThan(1);
    for (const r of rates) expect(r).toBeGreaterThan(3);
    expect(log).not.toMatch(/level=error/);
    await stop();
  }, 60_000);
});
