/**
 * Metrics on PostgreSQL, as ratios within one run:
 *   ingest  samples/s through REST JSON, OTLP protobuf and remote write, 2 000-sample
 *           requests from many agents, beside a bare node:http + pg server that COPYs the
 *           same samples into the same tables (the ceiling) and, when /usr/bin/prometheus
 *           is installed, Prometheus receiving the same remote-write load; and a bare
 *           node:http server that decodes remote write with the server's decoder and
 *           stores nothing (the most one Node.js process could take, set beside Prometheus);
 *   query   a 24 h range at a 1-minute step for one series; metricSummary over the fleet
 *           for 6 h;
 *   disk    bytes per stored sample, raw and roll-ups, tables plus indexes; then every
 *           closed hour compacted into blocks: bytes per compacted sample (tables,
 *           indexes and TOAST), and a raw-resolution read before and after.
 *
 *   npx tsx bench/metrics.bench.ts [--agents 200] [--seconds 10] [--concurrency 8]
 *       [--summary-agents 10000] [--only copy,rest,otlp,remote,prometheus,decode,query,disk] [--profile]
 *       [--shape scrape|steady|backlog]
 *   (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { sql } from 'drizzle-orm';
import { openDatabase, rowsOf, type Database } from '../api/db';
import { OtlpRequest, WriteRequest } from '../api/metrics/proto';
import { RollupStore, rollupMinutes } from '../api/metrics/rollup.store';
import { compactAll, partitionedSize } from './lib/compaction';
import snappy from 'snappyjs';
import { BENCH_TOKENS, createScratchDatabase, seedAgents, type BenchAgent } from './lib/fixtures';
import { cpuWindow, startServer, type CpuWindow, type ServerProcess } from './lib/proc';

const argv = process.argv.slice(2);
const num = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined;
const wanted = (key: string) => !only || only.includes(key);
const AGENTS = num('agents', 200);
const SECONDS = num('seconds', 10);
const CONCURRENCY = num('concurrency', 8);
const SUMMARY_AGENTS = num('summary-agents', 10_000);
/** CPU-profile the real server's main thread (read the file with bench/profile.ts). */
const PROFILE_DIR = argv.includes('--profile') ? path.resolve('bench/results/profiles/metrics') : undefined;
/**
 * What one request holds: SERIES series of one agent × STEPS consecutive seconds, the
 * first LATE_S seconds ago.
 *   scrape   2 000 series × 1 s at the current time: what a Prometheus agent's
 *            remote-write queue sends when it scrapes no more often than it sends (its
 *            5 s send deadline): each series once per request, so every sample is a
 *            series lookup, for Prometheus as for us.
 *   steady   1 000 series × 2 s at the current time: one agent's scrape rounds, scraped
 *            every second; samples are rolled up once, when their minute has closed, and
 *            every second sample is a series lookup.
 *   backlog  50 series × 40 s from 20 minutes ago: a sender catching up after an outage.
 *            Every sample is late for the roll-ups (each marks its minute to be rolled up
 *            again), and Prometheus appends 40 samples per series lookup, its fastest case.
 */
const SHAPES = {
  scrape: { series: 2000, steps: 1, lateS: 5 },
  steady: { series: 1000, steps: 2, lateS: 5 },
  backlog: { series: 50, steps: 40, lateS: 1200 },
};
const SHAPE = (argv.includes('--shape') ? argv[argv.indexOf('--shape') + 1] : 'scrape') as keyof typeof SHAPES;
if (!SHAPES[SHAPE]) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
const { series: SERIES, steps: STEPS, lateS: LATE_S } = SHAPES[SHAPE];
const PER_REQUEST = SERIES * STEPS;
const PROMETHEUS = '/usr/bin/prometheus';
const log = (s: string) => console.log(s);
const fixed = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');

type Format = 'json' | 'otlp' | 'remote';
interface Target {
  key: string;
  label: string;
  format: Format;
  url: string;
  /** Where the agent is named: its token (ours) or a label (the baselines). */
  auth: boolean;
}

/**
 * The body of request `n` of one agent in one phase: its own metric names (so no phase
 * repeats another's samples), timestamps moving forward from `t0` without overlap, as
 * Prometheus requires of each series.
 */
function body(format: Format, phase: string, agent: BenchAgent, index: number, n: number, t0: number): { bytes: Buffer; type: string; encoding?: string } {
  const at = (k: number) => t0 + (n * STEPS + k) * 1000;
  const name = (s: number) => `bench_${phase}_m${s}`;
  const value = (s: number, k: number) => (s * 7 + k * 13 + n) % 1000;
  const labels = { job: 'bench', instance: `agent-${index}` };
  if (format === 'json') {
    const metrics = [];
    for (let s = 0; s < SERIES; s++) for (let k = 0; k < STEPS; k++) metrics.push({ name: name(s), value: value(s, k), labels, at: new Date(at(k)).toISOString() });
    return { bytes: Buffer.from(JSON.stringify({ metrics })), type: 'application/json' };
  }
  if (format === 'otlp') {
    const attributes = Object.entries(labels).map(([key, v]) => ({ key, value: { stringValue: v } }));
    const metrics = Array.from({ length: SERIES }, (_, s) => ({
      name: name(s),
      gauge: { dataPoints: Array.from({ length: STEPS }, (_, k) => ({ timeUnixNano: BigInt(at(k)) * 1_000_000n, asDouble: value(s, k), attributes })) },
    }));
    const request = { resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: agent.id } }] }, scopeMetrics: [{ metrics }] }] };
    return { bytes: Buffer.from(OtlpRequest.encode(OtlpRequest.fromObject(request)).finish()), type: 'application/x-protobuf' };
  }
  const timeseries = Array.from({ length: SERIES }, (_, s) => ({
    labels: [{ name: '__name__', value: name(s) }, ...Object.entries(labels).map(([k, v]) => ({ name: k, value: v }))],
    samples: Array.from({ length: STEPS }, (_, k) => ({ value: value(s, k), timestamp: at(k) })),
  }));
  return { bytes: Buffer.from(snappy.compress(WriteRequest.encode(WriteRequest.fromObject({ timeseries })).finish())), type: 'application/x-protobuf', encoding: 'snappy' };
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 });

let reported = 0;
function post(url: string, headers: Record<string, string>, bytes: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: keepAlive, headers: { ...headers, 'content-length': String(bytes.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        // The first few refusals, so a failing phase says why.
        if ((res.statusCode ?? 0) >= 300 && reported++ < 3) log(`    ${res.statusCode} from ${url}: ${Buffer.concat(chunks).toString().slice(0, 300)}`);
        resolve(res.statusCode ?? 0);
      });
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

/**
 * CONCURRENCY requests in flight; each slot owns every CONCURRENCY-th agent, so one
 * agent's requests go in order. Bodies are encoded before the clock starts. A first
 * round (one request per agent) makes the series and is not counted; the bodies of the
 * rest are encoded after it, so their samples are `lateS` old however long it took (a
 * minute of making 400 000 series had left them late, each marking its minute).
 */
async function ingest(target: Target, agents: BenchAgent[], lateS: number, serverPid?: number): Promise<{ rate: number; requests: number; failed: number; cpu?: CpuWindow; latestAt: number; warmUpS: number }> {
  // Enough bodies for the fastest rate expected of the target (Prometheus took up to 0.66 M
  // samples/s here); a target that uses them all up ends its phase early.
  const expected = target.key === 'prometheus' || target.key === 'decode' ? 1_500_000 : 400_000;
  const perAgent = Math.max(2, Math.ceil(((SECONDS + 5) * expected) / PER_REQUEST / agents.length));
  const encode = (n: number, t0: number) => agents.map((a, i) => body(target.format, target.key, a, i, n, t0));
  const bodies = encode(0, Date.now() - (lateS + STEPS) * 1000).map((b) => [b]);
  const send = async (i: number, n: number) => {
    const b = bodies[i][n];
    const headers: Record<string, string> = { 'content-type': b.type };
    if (b.encoding) headers['content-encoding'] = b.encoding;
    if (target.format === 'remote') headers['x-prometheus-remote-write-version'] = '0.1.0';
    if (target.auth) headers.authorization = `Bearer ${agents[i].token}`;
    const url = target.format === 'json' ? `${target.url}/api/v1/agents/${agents[i].id}/metrics` : target.url;
    // A keep-alive socket the server closed as the request left is a reset, not a refusal: once more.
    const status = await post(url, headers, b.bytes).catch((err) => (err.code === 'ECONNRESET' ? post(url, headers, b.bytes) : Promise.reject(err)));
    return status >= 200 && status < 300;
  };
  const warming = performance.now();
  for (let i = 0; i < agents.length; i += CONCURRENCY) await Promise.all(agents.slice(i, i + CONCURRENCY).map((_, j) => send(i + j, 0)));
  const warmUpS = (performance.now() - warming) / 1000;
  const t0 = Date.now() - lateS * 1000;
  for (let n = 1; n < perAgent; n++) encode(n, t0).forEach((b, i) => bodies[i].push(b));
  let requests = 0;
  let failed = 0;
  let lastRequest = 0;
  const window = serverPid === undefined ? undefined : cpuWindow(serverPid, [process.pid]);
  const started = performance.now();
  const stopAt = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, slot) => {
      const mine = agents.map((_, i) => i).filter((i) => i % CONCURRENCY === slot);
      for (let n = 1; n < perAgent && performance.now() < stopAt; n++) {
        for (const i of mine) {
          if (performance.now() >= stopAt) break;
          if (await send(i, n)) requests++;
          else failed++;
          lastRequest = Math.max(lastRequest, n);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rate: (requests * PER_REQUEST) / seconds, requests, failed, cpu: window?.(), latestAt: t0 + (lastRequest + 1) * STEPS * 1000, warmUpS };
}

/**
 * Waits until the server's roll-up job has rolled up every sample pushed: its minutes
 * advanced past `latestAt` and no late minute left marked. A door's roll-ups then fall
 * in its own account, not in the next door's phase. Returns what that took.
 */
async function rolledUp(db: Database, latestAt: number, serverPid: number): Promise<{ seconds: number; cpu: CpuWindow }> {
  const window = cpuWindow(serverPid, []);
  const started = performance.now();
  for (;;) {
    const [row] = rowsOf<{ done: boolean | null }>(
      await db.db.execute(sql`select minute_done > ${new Date(latestAt)} and not exists (select 1 from metric_rollup_marks) as done from metric_rollup_state where id = 1`),
    );
    if (row?.done) break;
    if (performance.now() - started > 600_000) throw new Error('the roll-up job did not catch up within 10 minutes');
    await new Promise((r) => setTimeout(r, 250));
  }
  return { seconds: (performance.now() - started) / 1000, cpu: window() };
}

async function startPrometheus(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = 19_000 + Math.floor(Math.random() * 1000);
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'global: {}\n');
  const child = spawn(PROMETHEUS, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver'], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `${url}/api/v1/write`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function timed(times: number, run: () => Promise<void>): Promise<{ p50: number; max: number }> {
  await run();
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(ms.length / 2)], max: ms[ms.length - 1] };
}

async function main() {
  const base = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  log(`Metrics benchmark: ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${AGENTS} agents, ${CONCURRENCY} concurrent, ${PER_REQUEST}-sample requests (${SHAPE}: ${SERIES} series × ${STEPS} s, from ${LATE_S} s ago), ${SECONDS} s per phase`);
  const scratch = await createScratchDatabase(base);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'am-metrics-bench-'));
  const servers: ServerProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const agents = await seedAgents(scratch.url, Math.max(AGENTS, wanted('query') ? SUMMARY_AGENTS : 0));
    const pushing = agents.slice(0, AGENTS);
    // The server compacts nothing by itself here: the raw figures are of rows, and the
    // compaction is measured on its own at the end.
    const env = { DATABASE_URL: scratch.url, PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'memory://', LOG_LEVEL: 'warn', METRICS_COMPACT_AFTER_SECONDS: '604800', METRICS_MAX_SERIES_PER_AGENT: String(Math.max(1000, 4 * SERIES)), ...BENCH_TOKENS };
    if (PROFILE_DIR) fs.rmSync(PROFILE_DIR, { recursive: true, force: true });
    const real = await startServer('Agent Monitor', 'api/main.ts', env, PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []);
    servers.push(real);
    const db = await openDatabase({ databaseUrl: scratch.url, dataDir: 'memory://', poolSize: 2, statementTimeoutMs: 600_000 });
    stops.push(() => db.close());
    const rates: Record<string, number> = {};
    // Timestamps inside the raw retention and never past the 5-minute future limit. The
    // ceiling's are 20 minutes old in either shape: the server's roll-up job, which runs
    // through the later phases, leaves those alone (they are behind it, and COPY marks
    // nothing), so no phase pays for rolling up another server's samples.
    const phase = async (target: Target, serverPid?: number) => {
      // Each door that stores starts from the same place as the ceiling did: no samples or
      // roll-ups of an earlier door (their indexes grown past PostgreSQL's buffers, every
      // later insert reading and writing pages back; the last door ran at half its own
      // speed), and a checkpoint just taken.
      if (serverPid !== undefined) {
        await db.db.execute(sql`truncate metric_samples, metric_rollup_1m, metric_rollup_1h, metric_rollup_marks`);
        await db.db.execute(sql`checkpoint`);
      }
      const r = await ingest(target, pushing, target.key === 'copy' ? 1200 : LATE_S, serverPid);
      rates[target.key] = r.rate;
      // CPU per sample, so a phase's cost can be told apart from its speed.
      // (A negative share: processes that exited within the window took their CPU time with them.)
      const per = (share: number) => (share < 0 ? '–' : fixed((share / r.rate) * 1e6, 1));
      const cpu = r.cpu;
      const cost = cpu ? `; CPU µs per sample: server ${per(cpu.server)}, PostgreSQL ${per(cpu.postgres)}, load ${per(cpu.loadgen)}` : '';
      log(`  ${target.label.padEnd(36)} ${fixed(r.rate).padStart(8)} samples/s  (${r.requests} requests after ${fixed(r.warmUpS, 1)} s making the series${r.failed ? `, ${r.failed} FAILED` : ''}${cost})`);
      if (serverPid === real.pid) {
        const samples = r.requests * PER_REQUEST;
        const after = await rolledUp(db, r.latestAt, real.pid);
        const spent = (share: number) => fixed(((share * after.cpu.wallMs) / samples) * 1000, 1);
        log(`    then its roll-ups: done ${fixed(after.seconds)} s later; CPU µs per sample meanwhile: server ${spent(after.cpu.server)}, PostgreSQL ${spent(after.cpu.postgres)}`);
      }
    };
    // Prometheus first, while the server has nothing to roll up, and stopped before the
    // other phases, so neither works in the background of the other's phase.
    if (wanted('prometheus')) {
      if (!fs.existsSync(PROMETHEUS)) log(`  Prometheus: skipped, ${PROMETHEUS} not installed`);
      else {
        const prom = await startPrometheus(tmp);
        stops.push(prom.stop);
        await phase({ key: 'prometheus', label: 'Prometheus 2.42, remote write', format: 'remote', url: prom.url, auth: false });
        await prom.stop();
      }
    }
    if (wanted('decode')) {
      const decode = await startServer('bare decode', 'bench/baselines/metrics-decode.ts', env);
      servers.push(decode);
      await phase({ key: 'decode', label: 'bare node:http, decode only', format: 'remote', url: decode.url, auth: false }, decode.pid);
      await decode.stop();
    }
    if (wanted('copy')) {
      const copy = await startServer('bare COPY', 'bench/baselines/metrics-copy.ts', env);
      servers.push(copy);
      await phase({ key: 'copy', label: 'bare node:http + COPY (the ceiling)', format: 'json', url: copy.url, auth: false }, copy.pid);
      await copy.stop();
    }
    if (wanted('rest')) await phase({ key: 'rest', label: 'Agent Monitor, REST JSON', format: 'json', url: real.url, auth: true }, real.pid);
    if (wanted('otlp')) await phase({ key: 'otlp', label: 'Agent Monitor, OTLP protobuf', format: 'otlp', url: `${real.url}/v1/metrics`, auth: true }, real.pid);
    if (wanted('remote')) await phase({ key: 'remote', label: 'Agent Monitor, remote write', format: 'remote', url: `${real.url}/api/v1/write`, auth: true }, real.pid);

    let query: Record<string, { p50: number; max: number }> | undefined;
    let rawRead: (() => Promise<void>) | undefined;
    if (wanted('query')) {
      const now = Date.now();
      const from = new Date(Math.floor((now - 24 * 3_600_000) / 3_600_000) * 3_600_000);
      const to = new Date(Math.floor(now / 60_000) * 60_000 - 60_000);
      const seeded = performance.now();
      // One series with a sample every second for 24 h; the fleet's cpu_percent every minute for 6 h.
      await db.db.execute(sql`
        with s as (insert into metric_series (agent_id, name, labels, labels_hash, kind, unit) values (${agents[0].id}, 'bench_day', '{}', md5('{}'), 'gauge', '%') returning id)
        insert into metric_samples (series_id, at, value) select s.id, t, extract(epoch from t)::int % 100 from s, generate_series(${from}::timestamptz, ${to}::timestamptz, interval '1 second') t`);
      await db.db.execute(sql`
        with s as (
          insert into metric_series (agent_id, name, labels, labels_hash, kind, unit)
          select id, 'cpu_percent', '{}', md5('{}'), 'gauge', '%' from agents order by id limit ${SUMMARY_AGENTS} returning id)
        insert into metric_samples (series_id, at, value)
        select s.id, t, (s.id * 7 + extract(epoch from t)::int / 60) % 100 from s, generate_series(${to}::timestamptz - interval '6 hours', ${to}::timestamptz, interval '1 minute') t`);
      // Under the roll-up state's lock, which the server's job takes for each round: the
      // two rolling up the same minutes at once can deadlock.
      await db.db.transaction(async (tx) => {
        await tx.execute(sql`select 1 from metric_rollup_state where id = 1 for update`);
        await tx.execute(rollupMinutes(from, to));
      });
      // The hours as a late sample's would be: marked, then recomputed by the server's own
      // code (the open hour's row under the roll-up state's lock).
      await db.db.execute(sql`insert into metric_rollup_marks (level, bucket) select 2, h from generate_series(${from}::timestamptz, ${to}::timestamptz, interval '1 hour') h`);
      const rollups = new RollupStore(db.db);
      while ((await rollups.recomputeMarked()) > 0);
      await db.db.execute(sql`analyze`);
      log(`  query data: 24 h at 1 s for one series, 6 h at 1 min for ${SUMMARY_AGENTS} agents, rolled up in ${fixed((performance.now() - seeded) / 1000, 1)} s`);
      const gql = async (q: string, variables: Record<string, unknown>) => {
        const res = await fetch(`${real.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_TOKENS.VIEWER_TOKEN}` }, body: JSON.stringify({ query: q, variables }) });
        const out = (await res.json()) as { errors?: unknown; data?: any };
        if (out.errors) throw new Error(JSON.stringify(out.errors));
        return out.data;
      };
      const day = { id: agents[0].id, from: new Date(to.getTime() - 24 * 3_600_000 + 3_600_000).toISOString(), to: to.toISOString() };
      const range = await gql('query($id: ID!, $from: DateTime, $to: DateTime) { agent(id: $id) { metrics(names: ["bench_day"], from: $from, to: $to, step: 60) { resolution stepSeconds series { points { at } } } } }', day);
      const r = range.agent.metrics;
      const six = { from: new Date(to.getTime() - 6 * 3_600_000).toISOString(), to: to.toISOString() };
      const summary = await gql('query($from: DateTime, $to: DateTime) { metricSummary(name: "cpu_percent", from: $from, to: $to) { resolution groups { series points { at } } } }', six);
      // 1 000 s of the one-second series at raw resolution: rows now, blocks after the compaction.
      const rawWindow = { id: agents[0].id, from: new Date(from.getTime() + 2 * 3_600_000).toISOString(), to: new Date(from.getTime() + 2 * 3_600_000 + 1_000_000).toISOString() };
      rawRead = async () => {
        const d = await gql('query($id: ID!, $from: DateTime, $to: DateTime) { agent(id: $id) { metrics(names: ["bench_day"], from: $from, to: $to) { resolution series { points { at value } } } } }', rawWindow);
        if (d.agent.metrics.resolution !== 'RAW' || d.agent.metrics.series[0].points.length !== 1000) throw new Error(`raw read: ${d.agent.metrics.resolution}, ${d.agent.metrics.series[0]?.points.length} points`);
      };
      query = {
        raw: await timed(10, rawRead),
        day: await timed(10, async () => void (await gql('query($id: ID!, $from: DateTime, $to: DateTime) { agent(id: $id) { metrics(names: ["bench_day"], from: $from, to: $to, step: 60) { series { points { at value } } } } }', day))),
        summary: await timed(5, async () => void (await gql('query($from: DateTime, $to: DateTime) { metricSummary(name: "cpu_percent", from: $from, to: $to) { groups { avg max p95 points { at avg max p95 } } } }', six))),
      };
      log(`  24 h of one series at a 1 min step (${r.resolution}, ${r.stepSeconds} s, ${r.series[0]?.points.length} points): p50 ${fixed(query.day.p50, 1)} ms, max ${fixed(query.day.max, 1)} ms  (target ≤ 50 ms)`);
      log(`  1 000 s of one series at raw resolution (rows): p50 ${fixed(query.raw.p50, 1)} ms, max ${fixed(query.raw.max, 1)} ms`);
      log(`  metricSummary over ${summary.metricSummary.groups[0]?.series} series for 6 h (${summary.metricSummary.resolution}, ${summary.metricSummary.groups[0]?.points.length} points): p50 ${fixed(query.summary.p50)} ms, max ${fixed(query.summary.max)} ms  (target ≤ 500 ms)`);
    }

    let disk: Record<string, unknown> | undefined;
    if (wanted('disk')) {
      const raw = await partitionedSize(db.db, 'metric_samples');
      const minutes = await partitionedSize(db.db, 'metric_rollup_1m');
      const hours = await partitionedSize(db.db, 'metric_rollup_1h');
      log(`  disk: raw ${fixed(raw.bytes / Math.max(1, raw.rows), 1)} bytes/sample (${raw.rows} samples); 1 min roll-ups ${fixed(minutes.bytes / Math.max(1, minutes.rows), 1)} bytes/row (${minutes.rows}); 1 h roll-ups ${fixed(hours.bytes / Math.max(1, hours.rows), 1)} bytes/row (${hours.rows})`);

      const compaction = await compactAll(db.db);
      const perSample = compaction.blocks.bytes / Math.max(1, compaction.blocks.rows);
      log(`  compaction: ${compaction.moved} samples into blocks in ${fixed(compaction.seconds, 1)} s (${compaction.slices} slices), ${compaction.raw.rows} rows left raw (the current hour, not rolled up into hours yet)`);
      log(`  disk: compacted ${fixed(perSample, 1)} bytes/sample (${compaction.blocks.rows} samples in ${fixed(compaction.blocks.bytes / 1048576, 1)} MiB, tables + indexes + TOAST)  (target ≤ 24) ${perSample <= 24 ? 'met' : 'MISSED'}`);
      if (rawRead && query) {
        query.rawCompacted = await timed(10, rawRead);
        log(`  1 000 s of one series at raw resolution (blocks): p50 ${fixed(query.rawCompacted.p50, 1)} ms, max ${fixed(query.rawCompacted.max, 1)} ms`);
      }
      disk = { raw, minutes, hours, compaction };
    }

    log('');
    const ratio = (a: string, b: string, target: number) => {
      if (!rates[a] || !rates[b]) return;
      const x = rates[a] / rates[b];
      log(`  ${a} / ${b}: ${fixed(x, 2)} ×  (target ≥ ${target} ×) ${x >= target ? 'met' : 'MISSED'}`);
    };
    for (const door of ['rest', 'otlp', 'remote']) ratio(door, 'copy', 0.7);
    ratio('remote', 'prometheus', 0.5);
    if (rates.decode && rates.prometheus) log(`  decode only / prometheus: ${fixed(rates.decode / rates.prometheus, 2)} ×  (no door of one Node.js process storing anything can pass this)`);
    fs.mkdirSync('bench/results', { recursive: true });
    fs.writeFileSync('bench/results/metrics-latest.json', JSON.stringify({ at: new Date().toISOString(), loadavg: os.loadavg(), config: { SHAPE, AGENTS, SECONDS, CONCURRENCY, SUMMARY_AGENTS, SERIES, STEPS, LATE_S }, rates, query, disk }, null, 2) + '\n');
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await scratch.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
    keepAlive.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
