/**
 * Heartbeat benchmark (not a test): throughput of the real server over REST and
 * GraphQL on PostgreSQL against baselines this script starts, fan-out latency to
 * graphql-ws subscribers, memory per idle subscriber, and alerting (OFFLINE → firing →
 * webhook, and many agents offline at once: bench/lib/alerts.ts). Every server runs in its
 * own process; the same raw-socket load generator (its own process) drives them all.
 *
 *   npm run bench [-- --quick] [--rounds 3] [--duration s] [--warmup s] [--agents 10000]
 *     [--concurrency 500] [--loadgens 1] [--subscribers 1000] [--sub-procs 2]
 *     [--fanout-rate 1] [--register-concurrency 50] [--mass-agents 10000] [--alert-agents 10000]
 *     [--only bare,batched,naive,rest,yoga,graphql,registerBare,register,fanout,mass,alerts] [--profile]
 *     [--server-root <another checkout, for A/B>]
 *
 * The throughput phases run in rounds, each round every phase once in turn (the batched
 * ceiling twice), and each phase reports its median run: a machine that slows down for a
 * while then weighs on a round of every phase, not on whichever phase it happened to
 * meet. The ceiling runs before and after REST: REST is compared with both, and the
 * ceiling's second run against its first shows how far the machine alone moves a ratio.
 *
 * PostgreSQL: $BENCH_DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/postgres);
 * a scratch database is created there and dropped at the end. Results: bench/results/latest.json.
 * With --profile, each server's main thread is CPU-profiled, one file per run
 * (<phase>[-again][.round<n>].cpuprofile): read them with bench/profile.ts; bench/alloc.ts
 * counts bytes allocated per request, the steadiest figure on a shared machine.
 */
// The alerts phase runs the server in this process: in production mode, as deployed.
import '../api/production';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { measureFanout, type FanoutResult } from './lib/fanout';
import { measureMass, type MassResult } from './lib/mass';
import { BENCH_TOKENS, createScratchDatabase, seedAgents, type ScratchDatabase } from './lib/fixtures';
import { cpuWindow, forkWorker, nextMessage, startServer, type ServerProcess } from './lib/proc';
import { measureAlerts, type AlertsResult } from './lib/alerts';
import { summarizeRun, type PhaseKey, type PhaseResult } from './lib/report';
import { summarize } from './lib/stats';
import type { LoadResult } from './workers/loadgen';

const ROOT = new URL('../', import.meta.url).pathname;
const RESULTS = path.join(ROOT, 'bench/results');

function flags() {
  const argv = process.argv.slice(2);
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string, fallback: number) => (get(name) !== undefined ? Number(get(name)) : fallback);
  const quick = argv.includes('--quick');
  return {
    quick,
    rounds: Math.max(1, num('rounds', quick ? 1 : 3)),
    durationMs: num('duration', quick ? 3 : 8) * 1000,
    warmupMs: num('warmup', quick ? 1 : 3) * 1000,
    agents: num('agents', 10_000),
    concurrency: num('concurrency', 500),
    /** Registrations in flight at once (the issue's figure: 50). */
    registerConcurrency: num('register-concurrency', 50),
    /** Agents that go offline, and come back, all at once in the mass phase. */
    massAgents: num('mass-agents', 10_000),
    /** Agents that go offline at once in the alerts phase. */
    alertAgents: num('alert-agents', 10_000),
    loadgens: num('loadgens', 1),
    subscribers: num('subscribers', 1000),
    subProcesses: num('sub-procs', 2),
    fanoutRate: num('fanout-rate', 1),
    only: get('only')?.split(','),
    profile: argv.includes('--profile'),
    /** Another checkout whose api/main.ts is the server measured (A/B a change); baselines stay. */
    serverRoot: get('server-root') ? path.resolve(get('server-root')!) : ROOT,
  };
}

interface Phase {
  key: PhaseKey;
  label: string;
  mode: 'rest' | 'graphql' | 'register';
  file: string;
  real: boolean;
}
const PHASES: Phase[] = [
  { key: 'bare', label: 'bare node:http (no work)', mode: 'rest', file: 'bench/baselines/bare.ts', real: false },
  { key: 'batched', label: 'bare node:http, batched UPDATE', mode: 'rest', file: 'bench/baselines/batched.ts', real: false },
  { key: 'naive', label: 'node:http, UPDATE per request', mode: 'rest', file: 'bench/baselines/naive.ts', real: false },
  { key: 'rest', label: 'Agent Monitor REST', mode: 'rest', file: 'api/main.ts', real: true },
  { key: 'batched', label: 'bare batched UPDATE, again', mode: 'rest', file: 'bench/baselines/batched.ts', real: false },
  { key: 'yoga', label: 'trivial yoga mutation', mode: 'graphql', file: 'bench/baselines/yoga.ts', real: false },
  { key: 'graphql', label: 'Agent Monitor GraphQL', mode: 'graphql', file: 'api/main.ts', real: true },
  { key: 'registerBare', label: 'bare registration + event', mode: 'register', file: 'bench/baselines/register.ts', real: false },
  { key: 'register', label: 'Agent Monitor registration', mode: 'register', file: 'api/main.ts', real: true },
];


const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup() {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
}

async function main() {
  const f = flags();
  const baseUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const log = (s: string) => console.log(s);
  const fixed = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');

  log(`Heartbeat benchmark: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
  log(`  ${f.agents} agents, ${f.concurrency} concurrent, ${f.warmupMs / 1000} s warm-up + ${f.durationMs / 1000} s per phase, ${f.rounds} round${f.rounds > 1 ? 's' : ''}; ${f.subscribers} subscribers`);
  const db: ScratchDatabase = await createScratchDatabase(baseUrl);
  cleanups.push(() => db.drop());
  const pgVersion = await (async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query('show server_version');
    await c.end();
    return rows[0].server_version as string;
  })();
  log(`  scratch database ${db.name} (PostgreSQL ${pgVersion})`);
  const seeded = performance.now();
  const agents = await seedAgents(db.url, f.agents);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'am-bench-'));
  cleanups.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));
  const agentsFile = path.join(tmp, 'agents.json');
  // The last few agents are kept for fan-out triggers, away from the load.
  const fanoutAgents = agents.slice(-4);
  fs.writeFileSync(agentsFile, JSON.stringify(agents.slice(0, -4)));
  log(`  registered ${f.agents} agents in ${((performance.now() - seeded) / 1000).toFixed(1)} s (SQL insert, real agent tokens)`);

  const profileDir = path.join(RESULTS, 'profiles');
  if (f.profile) fs.rmSync(profileDir, { recursive: true, force: true });
  if (f.serverRoot !== ROOT) log(`  real server from ${f.serverRoot}`);
  // The subscriber processes are a thousand dashboards behind one address, opening 50 sockets at a time each.
  const serverEnv = (name: string) => ({
    DATABASE_URL: db.url,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'warn',
    WS_MAX_UNAUTHENTICATED_PER_ADDRESS: '1000',
    ...BENCH_TOKENS,
    BENCH_NAME: name,
  });
  // One directory per phase: the tsx loader thread writes a profile of its own beside the main thread's.
  const start = (p: { key: string; file: string; real: boolean; label: string }) =>
    startServer(
      p.label,
      p.file,
      serverEnv(p.key),
      f.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, p.key)}`] : [],
      p.real ? f.serverRoot : ROOT,
    );

  /** Each phase's runs by round (the ceiling has two a round). */
  const runs: Partial<Record<PhaseKey, PhaseResult[][]>> = {};
  let sequenceBase = 0;
  const phases = PHASES.filter((p) => !f.only || f.only.includes(p.key));
  /** One profile per run: the phase's key, "-again" for the ceiling's second run, and the round when there are several. */
  const profileName = (phase: Phase, round: number) =>
    `${phase.key}${phases.indexOf(phase) > phases.findIndex((p) => p.key === phase.key) ? '-again' : ''}${f.rounds > 1 ? `.round${round}` : ''}`;
  for (let round = 1; round <= f.rounds; round++) {
    if (f.rounds > 1) log(`  round ${round} of ${f.rounds}`);
    for (const phase of phases) {
      sequenceBase += 1_000_000;
      const server = await start(phase);
      cleanups.push(() => server.stop());
      try {
        const r = await load(phase, server, agentsFile, f, sequenceBase, db.url);
        ((runs[phase.key] ??= [])[round - 1] ??= []).push(r);
        log(
          `  ${phase.label.padEnd(32)} ${fixed(r.rate).padStart(6)} req/s  ${fixed(r.serverCpuUsPerRequest).padStart(4)} µs server CPU/req  p50 ${fixed(r.latencyMs.p50, 1)} ms  p99 ${fixed(r.latencyMs.p99, 1)} ms  ` +
            `${r.commitsPerRequest ? `${fixed(1 / r.commitsPerRequest, 1)} req/commit  ` : ''}errors ${r.errors}  CPU (cores): server ${fixed(r.cpu.server, 2)} pg ${fixed(r.cpu.postgres, 2)} loadgen ${fixed(r.cpu.loadgen, 2)} other ${fixed(r.cpu.other, 2)}` +
            (r.firstError ? `\n      first error: ${r.firstError}` : ''),
        );
      } finally {
        await server.stop();
        if (f.profile) keepMainThreadProfile(profileDir, phase.key, profileName(phase, round));
      }
      if (phase.mode === 'register') await forgetRegistered(db.url);
    }
  }
  // Each phase by its median run; of an even count (the ceiling's, or any phase's with an
  // even --rounds), the lower middle run with the mean rate and server CPU per request of
  // the two middle ones (its other figures are that run's own).
  const results: Partial<Record<PhaseKey, PhaseResult>> = {};
  for (const [key, byRound] of Object.entries(runs) as [PhaseKey, PhaseResult[][]][]) {
    const list = byRound.flat();
    const sorted = list.slice().sort((a, b) => a.rate - b.rate);
    const lower = sorted[Math.floor((list.length - 1) / 2)];
    const upper = sorted[Math.floor(list.length / 2)];
    results[key] = { ...lower, label: list[0].label, rate: (lower.rate + upper.rate) / 2, serverCpuUsPerRequest: (lower.serverCpuUsPerRequest + upper.serverCpuUsPerRequest) / 2 };
  }

  let fanout: FanoutResult | undefined;
  if (!f.only || f.only.includes('fanout')) {
    const server = await start({ key: 'fanout', file: 'api/main.ts', real: true, label: 'Agent Monitor (fan-out)' });
    cleanups.push(() => server.stop());
    try {
      fanout = await measureFanout({
        server,
        viewerToken: BENCH_TOKENS.VIEWER_TOKEN,
        agents: fanoutAgents,
        subscribers: f.subscribers,
        processes: f.subProcesses,
        durationMs: f.durationMs,
        rate: f.fanoutRate,
        sequenceBase: sequenceBase + 1_000_000,
        log,
      });
      log(
        `  fan-out to ${fanout.subscribers} subscribers, ${fanout.transitions} transitions at ${fanout.ratePerSecond}/s: ` +
          `p50 ${fixed(fanout.latencyMs.p50, 1)} ms  p99 ${fixed(fanout.latencyMs.p99, 1)} ms  max ${fixed(fanout.latencyMs.max, 1)} ms; ` +
          `last subscriber p50 ${fixed(fanout.lastSubscriberMs.p50, 1)} / p99 ${fixed(fanout.lastSubscriberMs.p99, 1)} ms; ` +
          `delivered ${fanout.deliveries}/${fanout.expectedDeliveries}${fanout.mismatched ? `, ${fanout.mismatched} out of order` : ''}; ` +
          `server CPU ${fixed(fanout.serverCpuMsPerEvent, 1)} ms/event (${fixed(fanout.serverCpuUsPerDelivery)} µs/delivery, ${fixed(fanout.cpu.server, 2)} cores)`,
      );
    } finally {
      await server.stop();
      if (f.profile) keepMainThreadProfile(profileDir, 'fanout');
    }
  }

  let mass: MassResult | undefined;
  if (!f.only || f.only.includes('mass')) {
    const server = await start({ key: 'mass', file: 'api/main.ts', real: true, label: 'Agent Monitor (mass transitions)' });
    cleanups.push(() => server.stop());
    try {
      mass = await measureMass({ server, databaseUrl: db.url, viewerToken: BENCH_TOKENS.VIEWER_TOKEN, count: f.massAgents, log });
    } finally {
      await server.stop();
      if (f.profile) keepMainThreadProfile(profileDir, 'mass');
    }
  }

  let alerts: AlertsResult | undefined;
  if (!f.only || f.only.includes('alerts')) alerts = await measureAlerts({ baseUrl, agents: f.alertAgents, log });

  const report = summarizeRun(results, fanout, f.rounds, mass, alerts);
  // The target ratios of each round on its own: the spread the medians come from.
  const meanRate = (list?: PhaseResult[]) => (list?.length ? list.reduce((sum, r) => sum + r.rate, 0) / list.length : NaN);
  const perRound = (a: PhaseKey, b: PhaseKey) => runs[a]?.map((list, i) => meanRate(list) / meanRate(runs[b]?.[i])) ?? [];
  const roundRatios = {
    restVsBatchedCeiling: perRound('rest', 'batched'),
    graphqlVsTrivialYoga: perRound('graphql', 'yoga'),
    registerVsBare: perRound('register', 'registerBare'),
    // The same server measured twice: the spread a ratio gets from the machine alone.
    batchedCeilingVsItself: runs.batched?.map((list) => (list.length === 2 ? list[1].rate / list[0].rate : NaN)) ?? [],
  };
  log('');
  for (const line of report.lines) log(line);
  if (f.rounds > 1) {
    const list = (xs: number[]) => (xs.length ? xs.map((x) => `${fixed(x, 2)}×`).join(' ') : '–');
    log(
      `Each round on its own: REST / ceiling ${list(roundRatios.restVsBatchedCeiling)}; GraphQL / yoga ${list(roundRatios.graphqlVsTrivialYoga)}; ` +
        `registration / bare ${list(roundRatios.registerVsBare)}`,
    );
  }
  if (roundRatios.batchedCeilingVsItself.length) {
    log(`The ceiling's second run against its first, each round (the machine's own spread): ${roundRatios.batchedCeilingVsItself.map((x) => `${fixed(x, 2)}×`).join(' ')}`);
  }
  fs.mkdirSync(RESULTS, { recursive: true });
  const file = path.join(RESULTS, 'latest.json');
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg(), node: process.version, postgres: pgVersion },
        config: { ...f, only: f.only ?? 'all' },
        throughput: results,
        // Each phase's runs by round (the ceiling's two a round in order: before REST, after).
        rounds: runs,
        fanout,
        mass,
        alerts,
        ratios: report.ratios,
        roundRatios,
        targets: report.targets,
      },
      null,
      2,
    ) + '\n',
  );
  log(`\nResults written to ${path.relative(process.cwd(), file)}${f.profile ? `; CPU profiles in ${path.relative(process.cwd(), profileDir)}` : ''}`);
}

/**
 * Node names profiles CPU.<date>.<pid>.<thread>.<n>; thread 0 is the server's main thread.
 * It is kept as <name>.cpuprofile, and the phase's directory emptied for its next run.
 */
function keepMainThreadProfile(dir: string, key: string, name = key) {
  const sub = path.join(dir, key);
  const main = fs.readdirSync(sub).find((n) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(n));
  const kept = path.join(dir, `${name}.cpuprofile`);
  if (main) fs.renameSync(path.join(sub, main), kept);
  fs.rmSync(sub, { recursive: true, force: true });
  console.log(`      profile: ${path.relative(process.cwd(), kept)} (npx tsx bench/profile.ts <file>)`);
}

/** Transactions committed in the scratch database so far (pg_stat_database; flushed by backends within ~1 s). */
async function commitCount(databaseUrl: string): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query('select xact_commit::float8 as n from pg_stat_database where datname = current_database()');
    return rows[0].n;
  } finally {
    await c.end();
  }
}

/**
 * Deletes the agents a registration phase created, and their events: left in place, the
 * next phases' servers would spend their time on them (consumers reading thousands of
 * events, then every one of those agents going offline and firing an alert), and the
 * later rounds would measure that instead of their own work.
 */
async function forgetRegistered(databaseUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query(`delete from events where subject_kind = 'agent' and subject_id in (select id::text from agents where name like 'bench-registered-%')`);
    await c.query(`delete from agents where name like 'bench-registered-%'`);
  } finally {
    await c.end();
  }
}

async function load(phase: Phase, server: ServerProcess, agentsFile: string, f: ReturnType<typeof flags>, sequenceBase: number, databaseUrl: string): Promise<PhaseResult> {
  const workers = Array.from({ length: f.loadgens }, () => forkWorker('bench/workers/loadgen.ts'));
  cleanups.push(async () => workers.forEach((w) => w.exitCode === null && w.kill()));
  const concurrency = phase.mode === 'register' ? f.registerConcurrency : f.concurrency;
  const per = Math.ceil(concurrency / f.loadgens);
  const measuring = Promise.all(workers.map((w) => nextMessage(w, 'measuring')));
  const measured = Promise.all(workers.map((w) => nextMessage(w, 'measured')));
  const done = Promise.all(workers.map((w) => nextMessage<{ result: LoadResult }>(w, 'done')));
  workers.forEach((w, i) =>
    w.send({
      cmd: 'run',
      port: server.port,
      mode: phase.mode,
      agentsFile,
      enrollmentToken: BENCH_TOKENS.ENROLLMENT_TOKEN,
      connections: Math.min(per, concurrency - i * per),
      slotOffset: i * per,
      slotStride: concurrency,
      warmupMs: f.warmupMs,
      durationMs: f.durationMs,
      sequenceBase,
    }),
  );
  await measuring;
  // The generators count their own CPU: one may exit before another's window closes.
  const window = cpuWindow(server.pid, []);
  const commits0 = await commitCount(databaseUrl);
  await measured;
  const cpu = window();
  // Transactions the server committed per answered request (≈ 1 / rows per flush when batching).
  const commits = (await commitCount(databaseUrl)) - commits0;
  const results = (await done).map((d) => d.result);
  cpu.loadgen = results.reduce((a, r) => a + r.cpuMs, 0) / cpu.wallMs;
  cpu.other = Math.max(0, cpu.machine - cpu.server - cpu.postgres - cpu.loadgen);
  const rate = results.reduce((a, r) => a + r.rate, 0);
  return {
    label: phase.label,
    rate,
    serverCpuUsPerRequest: (cpu.server / rate) * 1e6,
    commitsPerRequest: phase.key === 'bare' || phase.key === 'yoga' || phase.mode === 'register' ? 0 : commits / results.reduce((a, r) => a + r.ok, 0),
    ok: results.reduce((a, r) => a + r.ok, 0),
    errors: results.reduce((a, r) => a + r.errors, 0),
    statuses: results.reduce<Record<string, number>>((acc, r) => {
      for (const [k, v] of Object.entries(r.statuses)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
    latencyMs: results.length === 1 ? results[0].latencyMs : summarize(results.flatMap((r) => r.latencies)),
    cpu,
    firstError: results.find((r) => r.firstError)?.firstError,
  };
}


let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.log('\nInterrupted: stopping servers and dropping the scratch database…');
  void cleanup().finally(() => process.exit(130));
});

main()
  .then(cleanup)
  .catch(async (err) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  });
