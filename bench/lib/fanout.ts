/**
 * Fan-out latency and memory per idle subscriber, against a running real server.
 *
 * Memory: the server's VmRSS before and after N idle graphql-ws subscriptions, ÷ N.
 * Latency: heartbeats alternating degraded/healthy on a few agents each commit one
 * status transition; the clock starts when the heartbeat's response (sent after the
 * commit) arrives here and stops when a subscriber process receives the event. Both
 * read the same machine clock (machineClockMs).
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { machineClockMs as now } from './clock';
import { cpuWindow, forkWorker, nextMessage, rssKiB, type CpuWindow, type ServerProcess } from './proc';
import type { BenchAgent } from './fixtures';
import { summarize, type Summary } from './stats';

export interface FanoutOptions {
  server: ServerProcess;
  viewerToken: string;
  /** The agents whose transitions are triggered (a few). */
  agents: BenchAgent[];
  subscribers: number;
  processes: number;
  durationMs: number;
  /** Transitions per second, spread over `agents`. */
  rate: number;
  sequenceBase: number;
  log(line: string): void;
}

export interface FanoutResult {
  subscribers: number;
  memory: { rssBeforeKiB: number; rssAfterKiB: number; kibPerSubscriber: number };
  transitions: number;
  ratePerSecond: number;
  expectedDeliveries: number;
  deliveries: number;
  mismatched: number;
  /** Every (event, subscriber) delivery. */
  latencyMs: Summary;
  /** Per event, until its last subscriber had it. */
  lastSubscriberMs: Summary;
  /** Over the measured transitions; the server is saturated (and latency is queueing) near 1 core. */
  cpu: CpuWindow;
  serverCpuMsPerEvent: number;
  serverCpuUsPerDelivery: number;
  subscriberErrors: number;
  firstError?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DEGRADED = 1;
const ONLINE = 0;

function heartbeat(agentHttp: http.Agent, server: ServerProcess, agent: BenchAgent, status: number, sequence: number): Promise<number> {
  const body = JSON.stringify({ health: { status: status === DEGRADED ? 'degraded' : 'healthy', message: status === DEGRADED ? 'bench fan-out' : undefined }, sequence });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}/api/v1/agents/${agent.id}/heartbeat`,
      { method: 'POST', agent: agentHttp, headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(now()) : reject(new Error(`trigger heartbeat answered ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function allReceived(workers: ChildProcess[], expected: number, timeoutMs: number): Promise<{ min: number; errors: number; histogram?: string; firstError?: string }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(workers.map((w) => (w.send({ cmd: 'counts' }), nextMessage(w, 'counts'))));
    const min = Math.min(...counts.map((c) => c.min));
    const errors = counts.reduce((a, c) => a + c.errors, 0);
    if (min >= expected || performance.now() > deadline) {
      const histogram = counts.map((c) => JSON.stringify(c.histogram)).join(' ');
      return { min, errors, histogram, firstError: counts.find((c) => c.firstError)?.firstError };
    }
    await sleep(100);
  }
}

export async function measureFanout(o: FanoutOptions): Promise<FanoutResult> {
  const workers = Array.from({ length: o.processes }, () => forkWorker('bench/workers/subscribers.ts'));
  const agentHttp = new http.Agent({ keepAlive: true, maxSockets: o.agents.length });
  const wsUrl = `${o.server.url.replace(/^http/, 'ws')}/graphql`;
  const ids = o.agents.map((a) => a.id);
  let sequence = o.sequenceBase;
  const status = o.agents.map(() => ONLINE);
  const flip = async (i: number) => {
    status[i] = status[i] === ONLINE ? DEGRADED : ONLINE;
    return heartbeat(agentHttp, o.server, o.agents[i], status[i], ++sequence);
  };
  try {
    // One subscription and one transition first, so code loaded on first use is not
    // counted as per-subscriber memory.
    workers[0].send({ cmd: 'open', url: wsUrl, token: o.viewerToken, count: 1, agents: ids });
    await nextMessage(workers[0], 'opened');
    await flip(0);
    await flip(0);
    await allReceived(workers.slice(0, 1), 2, 10_000);
    await sleep(1500);
    const rssBeforeKiB = rssKiB(o.server.pid);

    const per = Math.ceil((o.subscribers - 1) / o.processes);
    const opened = await Promise.all(
      workers.map((w, i) => {
        const count = Math.max(0, Math.min(per, o.subscribers - 1 - i * per));
        w.send({ cmd: 'open', url: wsUrl, token: o.viewerToken, count, agents: ids });
        return nextMessage(w, 'opened');
      }),
    );
    const failed = opened.reduce((a, r) => a + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} subscriptions failed: ${opened.find((r) => r.firstError)?.firstError}`);
    await sleep(2000);
    const rssAfterKiB = rssKiB(o.server.pid);
    const total = o.subscribers;
    const memory = { rssBeforeKiB, rssAfterKiB, kibPerSubscriber: (rssAfterKiB - rssBeforeKiB) / (total - 1) };
    o.log(`      ${total} subscribers open; server RSS ${(rssBeforeKiB / 1024).toFixed(1)} → ${(rssAfterKiB / 1024).toFixed(1)} MiB`);

    // Warm-up: every agent flips twice; wait until every subscriber has seen it all.
    for (let round = 0; round < 2; round++) await Promise.all(o.agents.map((_, i) => flip(i)));
    const settled = await allReceived(workers, 2 * o.agents.length, 20_000);
    if (settled.min < 2 * o.agents.length) throw new Error(`warm-up events did not reach every subscriber (events per subscriber: ${settled.histogram}) ${settled.firstError ?? ''}`);
    await Promise.all(workers.map((w) => (w.send({ cmd: 'reset' }), nextMessage(w, 'reset'))));

    // Measured: one transition every 1/rate s, round-robin over the agents.
    const triggers: { at: number[]; status: number[] }[] = o.agents.map(() => ({ at: [], status: [] }));
    const pending: Promise<void>[] = [];
    const window = cpuWindow(o.server.pid, workers.map((w) => w.pid!));
    const started = performance.now();
    for (let k = 0; performance.now() - started < o.durationMs; k++) {
      const due = started + (k * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const i = k % o.agents.length;
      // Flips of one agent are serialised, so its events reach subscribers in trigger order.
      const previous = pending[i] ?? Promise.resolve();
      pending[i] = previous.then(async () => {
        const at = await flip(i);
        triggers[i].at.push(at);
        triggers[i].status.push(status[i]);
      });
    }
    await Promise.all(pending);
    const transitions = triggers.reduce((a, t) => a + t.at.length, 0);
    const done = await allReceived(workers, transitions, 30_000);
    const cpu = window();
    const reports = await Promise.all(workers.map((w) => (w.send({ cmd: 'report' }), nextMessage(w, 'report'))));

    const latencies: number[] = [];
    const lastByEvent = triggers.map((t) => t.at.map(() => -Infinity));
    let deliveries = 0;
    let mismatched = 0;
    for (const report of reports) {
      for (const sub of report.subscribers as { agent: number[]; status: number[]; at: number[] }[]) {
        const seen = o.agents.map(() => 0);
        for (let j = 0; j < sub.at.length; j++) {
          const a = sub.agent[j];
          if (a < 0) continue;
          const k = seen[a]++;
          if (k >= triggers[a].at.length || sub.status[j] !== triggers[a].status[k]) {
            mismatched++;
            continue;
          }
          const ms = sub.at[j] - triggers[a].at[k];
          latencies.push(ms);
          lastByEvent[a][k] = Math.max(lastByEvent[a][k], ms);
          deliveries++;
        }
      }
    }
    return {
      subscribers: total,
      memory,
      transitions,
      ratePerSecond: o.rate,
      expectedDeliveries: transitions * total,
      deliveries,
      mismatched,
      latencyMs: summarize(latencies),
      lastSubscriberMs: summarize(lastByEvent.flat().filter(Number.isFinite)),
      cpu,
      serverCpuMsPerEvent: (cpu.server * cpu.wallMs) / transitions,
      serverCpuUsPerDelivery: ((cpu.server * cpu.wallMs) / Math.max(1, deliveries)) * 1000,
      subscriberErrors: done.errors,
      firstError: done.firstError,
    };
  } finally {
    agentHttp.destroy();
    await Promise.all(workers.map(async (w) => {
      if (w.exitCode !== null) return;
      w.send({ cmd: 'close' });
      await nextMessage(w, 'closed').catch(() => {});
    }));
  }
}
