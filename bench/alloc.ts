/**
 * Bytes allocated per heartbeat, by function and by package: the server runs under the
 * inspector and V8's sampling heap profiler counts every sampled allocation, including
 * objects already collected. Unlike req/s this barely moves with what else the machine
 * runs, so it is the figure to compare when changing the hot path.
 *
 *   npx tsx bench/alloc.ts [--mode rest|graphql] [--server real|bare|batched|naive|yoga]
 *                          [--server-root <checkout>] [--top 30]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { BENCH_TOKENS, createScratchDatabase, seedAgents } from './lib/fixtures';
import { forkWorker, nextMessage, startServer } from './lib/proc';

const argv = process.argv.slice(2);
const get = (name: string, fallback: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : fallback);
const mode = get('mode', 'rest') as 'rest' | 'graphql';
const which = get('server', 'real');
const top = Number(get('top', '30'));
const root = path.resolve(get('server-root', new URL('../', import.meta.url).pathname));
const file = which === 'real' ? 'api/main.ts' : `bench/baselines/${which}.ts`;

const db = await createScratchDatabase(process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'am-alloc-'));
try {
  const agentsFile = path.join(tmp, 'agents.json');
  fs.writeFileSync(agentsFile, JSON.stringify(await seedAgents(db.url, 10_000)));
  const env = { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', DATA_DIR: 'memory://', LOG_LEVEL: 'warn', ...BENCH_TOKENS };
  const server = await startServer(which, file, env, ['--inspect=127.0.0.1:0'], which === 'real' ? root : undefined);
  try {
    const inspector = new WebSocket(/Debugger listening on (ws:\/\/\S+)/.exec(server.output())![1]);
    await new Promise((r) => inspector.once('open', r));
    let id = 0;
    const waiting = new Map<number, (v: any) => void>();
    inspector.on('message', (d) => {
      const m = JSON.parse(d.toString());
      waiting.get(m.id)?.(m.result);
      waiting.delete(m.id);
    });
    const call = (method: string, params = {}) => new Promise<any>((r) => (waiting.set(++id, r), inspector.send(JSON.stringify({ id, method, params }))));

    const load = forkWorker('bench/workers/loadgen.ts');
    const done = nextMessage(load, 'done');
    load.send({ cmd: 'run', port: server.port, mode, agentsFile, connections: 500, slotOffset: 0, slotStride: 500, warmupMs: 3000, durationMs: 6000, sequenceBase: 0 });
    await nextMessage(load, 'measuring');
    await call('HeapProfiler.enable');
    await call('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    await nextMessage(load, 'measured');
    const { profile } = await call('HeapProfiler.stopSampling');
    const requests = (await done).result.completed as number;
    inspector.close();

    const byFunction = new Map<string, number>();
    const byPackage = new Map<string, number>();
    const walk = (n: { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children?: unknown[] }) => {
      const { url, functionName, lineNumber } = n.callFrame;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.replace(/^file:\/\//, '').replace(`${root}/`, '') || '(native)');
      const key = `${functionName || '(anonymous)'}  ${pkg}:${lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + n.selfSize);
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + n.selfSize);
      for (const c of n.children ?? []) walk(c as never);
    };
    walk(profile.head);
    const total = [...byPackage.values()].reduce((a, b) => a + b, 0);
    const print = (title: string, m: Map<string, number>) => {
      console.log(`\n${title}`);
      for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(v / requests).toFixed(0).padStart(8)} B/req  ${k}`);
    };
    console.log(`${which} server, ${mode}: ${requests} requests measured, ${(total / requests).toFixed(0)} bytes allocated per request (sampled every 4 KiB)`);
    print('By package / file', byPackage);
    print('By function', byFunction);
  } finally {
    await server.stop();
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
  await db.drop();
}
process.exit(0);
