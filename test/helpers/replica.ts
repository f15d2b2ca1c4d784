import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database';
import { TOKENS } from './server';

/** A real server process (`node --import tsx api/main.ts`), as a deployment runs it. */
export interface Replica {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or signal) once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL: no drain, no goodbye, as a crash or an OOM kill. */
  kill(): Promise<void>;
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Starts a replica with the test tokens and resolves once it prints where it listens.
 * `env` adds to (or overrides) its environment: DATABASE_URL or DATA_DIR, PORT (0 by
 * default, a free one), intervals.
 */
export function spawnReplica(env: Record<string, string>): Promise<Replica> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      HOST: '127.0.0.1',
      ADMIN_TOKEN: TOKENS.admin,
      VIEWER_TOKEN: TOKENS.viewer,
      ENROLLMENT_TOKEN: TOKENS.enrollment,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!running()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const kill = async () => {
    if (!running()) return;
    child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const port = /Agent Monitor listening on http:\/\/localhost:(\d+)/.exec(output)?.[1];
      if (port) resolve({ url: `http://127.0.0.1:${port}`, pid: child.pid!, child, exited, output: () => output, stop, kill });
    });
    child.once('exit', (code) => reject(new Error(`replica exited with ${code} before listening:\n${output}`)));
  });
}

/** A fresh PostgreSQL database shared by replica processes, and a plain client on it. */
export interface ReplicaCluster {
  database: TestDatabase;
  /** A connection of its own, to read what the replicas wrote. */
  outsider: pg.Client;
  /** The running replicas, two at first; a test may stop some and start others. */
  replicas: Replica[];
  /** Starts one more replica on the database with the cluster's environment. */
  start(): Promise<Replica>;
}

/**
 * Registers the hooks of a describe block that runs two replicas with `env` on a fresh
 * database; everything is stopped and dropped after the block.
 */
export function useReplicaCluster(env: Record<string, string>): ReplicaCluster {
  const cluster = { replicas: [] as Replica[] } as ReplicaCluster;
  cluster.start = () => spawnReplica({ DATABASE_URL: cluster.database.url!, ...env });
  beforeAll(async () => {
    cluster.database = await createTestDatabase();
    cluster.outsider = new pg.Client({ connectionString: cluster.database.url });
    await cluster.outsider.connect();
    cluster.replicas.push(...(await Promise.all([cluster.start(), cluster.start()])));
  });
  afterAll(async () => {
    await Promise.all(cluster.replicas.map((r) => r.stop()));
    await cluster.outsider?.end();
    await cluster.database?.drop();
  });
  return cluster;
}
