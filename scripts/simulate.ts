/**
 * Simulated agents against a running server: register, heartbeat at their interval
 * with jitter, back off when refused, fall ill, stop, and come back.
 *
 *   npm run simulate -- --agents 50 [--url http://localhost:8000] [--token <enrollment or admin>]
 *                       [--duration <s>] [--interval 5-15] [--prefix sim]
 *
 * The token defaults to $ENROLLMENT_TOKEN, then $ADMIN_TOKEN, then the one the embedded
 * server wrote to ./data/tokens.json ($DATA_DIR/tokens.json). Ctrl-C stops cleanly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Simulation, type SimulationStats } from './simulator/simulation';

function parseArgs(argv: string[]) {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument "${argv[i]}"`);
    flags.set(m[1], m[2] ?? argv[++i] ?? '');
  }
  const known = ['agents', 'url', 'token', 'duration', 'interval', 'prefix'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`unknown option --${k} (known: ${known.map((x) => `--${x}`).join(' ')})`);
  const number = (name: string, fallback: number) => {
    const v = flags.has(name) ? Number(flags.get(name)) : fallback;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
    return v;
  };
  const interval = (flags.get('interval') ?? '5-15').split('-').map(Number);
  if (interval.length !== 2 || !(interval[0] > 0) || !(interval[1] >= interval[0])) throw new Error('--interval must look like 5-15 (seconds)');
  return {
    agents: Math.floor(number('agents', 50)),
    url: flags.get('url') ?? 'http://localhost:8000',
    token: flags.get('token'),
    durationMs: flags.has('duration') ? number('duration', 0) * 1000 : undefined,
    intervalMs: [interval[0] * 1000, interval[1] * 1000] as [number, number],
    namePrefix: flags.get('prefix') ?? 'sim',
  };
}

function defaultToken(): string | undefined {
  const fromEnv = process.env.ENROLLMENT_TOKEN || process.env.ADMIN_TOKEN;
  if (fromEnv) return fromEnv;
  try {
    const file = path.join(process.env.DATA_DIR || './data', 'tokens.json');
    const tokens = JSON.parse(fs.readFileSync(file, 'utf8')) as { enrollment?: string; admin?: string };
    return tokens.enrollment ?? tokens.admin;
  } catch {
    return undefined;
  }
}

const summary = (s: SimulationStats, seconds: number) =>
  `${seconds.toFixed(0).padStart(4)} s  agents ${s.up} up / ${s.stopped} stopped (${s.sick} sick, ${s.returned} came back)` +
  `  heartbeats ${s.sent} sent / ${s.ok} ok / ${s.failed} failed / ${s.rateLimited} 429` +
  `  backing off ${s.backingOff}`;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const token = args.token ?? defaultToken();
  if (!token) throw new Error('no token: pass --token, set ENROLLMENT_TOKEN or ADMIN_TOKEN, or start the embedded server once so ./data/tokens.json exists');
  const health = await fetch(`${args.url.replace(/\/+$/, '')}/health`).catch((err: Error) => err);
  if (health instanceof Error) throw new Error(`cannot reach ${args.url}: ${(health.cause as Error)?.message ?? health.message}`);

  console.log(`Simulating ${args.agents} agents against ${args.url}${args.durationMs ? ` for ${args.durationMs / 1000} s` : ''} (Ctrl-C stops)`);
  const started = performance.now();
  const sim = new Simulation({ ...args, token });
  const tty = process.stdout.isTTY;
  const line = () => summary(sim.stats, (performance.now() - started) / 1000);
  const progress = setInterval(() => (tty ? process.stdout.write(`\r\x1b[2K${line()}`) : console.log(line())), tty ? 1000 : 5000);

  let interrupted = 0;
  process.on('SIGINT', () => {
    if (++interrupted > 1) process.exit(130); // a second Ctrl-C does not wait
    void sim.stop();
  });
  await sim.done;
  clearInterval(progress);
  if (tty) process.stdout.write('\r\x1b[2K');
  const seconds = (performance.now() - started) / 1000;
  const { up, stopped, sick } = sim.atStop ?? sim.stats;
  console.log(`${summary({ ...sim.stats, up, stopped, sick }, seconds)}\n${interrupted ? 'Interrupted' : 'Finished'}; ${sim.stats.registrations} registrations in all.`);
}

main().catch((err) => {
  console.error(`simulate: ${(err as Error).message}`);
  process.exit(1);
});
