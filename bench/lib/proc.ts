/** Child processes of the benchmark, and what /proc says about them and the machine. */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * The Node flags `npm start` runs the server with (package.json's start script, the
 * words between `node` and `--import`): given to every server measured, baselines
 * included, so that a ratio compares code, not runtime settings.
 */
const START_FLAGS: string[] = (() => {
  const words: string[] = JSON.parse(fs.readFileSync(`${ROOT}package.json`, 'utf8')).scripts.start.split(/\s+/);
  return words[0] === 'node' ? words.slice(1, words.indexOf('--import')) : [];
})();

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  url: string;
  child: ChildProcess;
  /** Everything it printed, for when something goes wrong. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts a TypeScript server in its own `node --import tsx` process (no tsx wrapper,
 * so `pid` is the process that serves, whose RSS and CPU we read) and waits for it to
 * print `listening on http://host:port`. Every server measured, baselines included, runs in
 * production mode and with `npm start`'s Node flags, as a deployment would.
 */
export async function startServer(name: string, file: string, env: Record<string, string>, nodeFlags: string[] = [], cwd = ROOT): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...START_FLAGS, ...nodeFlags, '--import', 'tsx', file], {
    cwd,
    env: { NODE_ENV: 'production', ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s:\n${out}`)), 60_000);
    const look = () => {
      const m = /listening on http:\/\/[^:/]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    name,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Forks a TypeScript worker with an IPC channel. */
export function forkWorker(file: string, nodeFlags: string[] = []): ChildProcess {
  return fork(new URL(file, `file://${ROOT}`).pathname, [], { cwd: ROOT, execArgv: [...nodeFlags, '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Waits for the next IPC message of a type (rejecting if the worker dies first). */
export function nextMessage<T = any>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (m?.type !== type) return;
      cleanup();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`worker exited (${code}) while waiting for "${type}"`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Resident set size of a process, in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used, in ms. */
export function cpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** CPU time of every PostgreSQL process on the machine, in ms (backends come and go; pools keep theirs). */
export function postgresCpuMs(): number {
  let total = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.includes('(postgres)')) total += cpuMs(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Machine-wide busy and total CPU time, in ms, from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}

export interface CpuWindow {
  /** Share of one core each used over the window (1 = one core saturated). */
  server: number;
  postgres: number;
  loadgen: number;
  /** Everything else running on the machine meanwhile (other users' work, the OS). */
  other: number;
  /** Busy share of the whole machine (cores × 1). */
  machine: number;
  /** Length of the window. */
  wallMs: number;
}

/** Snapshot now, call the returned function at the end of the window. */
export function cpuWindow(serverPid: number, loadgenPids: number[]): () => CpuWindow {
  const t0 = performance.now();
  const s0 = cpuMs(serverPid);
  const p0 = postgresCpuMs();
  const l0 = loadgenPids.reduce((a, p) => a + cpuMs(p), 0);
  const m0 = machineCpuMs();
  return () => {
    const wall = performance.now() - t0;
    const server = (cpuMs(serverPid) - s0) / wall;
    const postgres = (postgresCpuMs() - p0) / wall;
    const loadgen = (loadgenPids.reduce((a, p) => a + cpuMs(p), 0) - l0) / wall;
    const m1 = machineCpuMs();
    const machine = (m1.busy - m0.busy) / wall;
    return { server, postgres, loadgen, other: Math.max(0, machine - server - postgres - loadgen), machine, wallMs: wall };
  };
}
