import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullJitter, retryAfterMs } from '../../scripts/simulator/backoff';
import { runSimulation, Simulation, type Attempt, type SimulationStats } from '../../scripts/simulator/simulation';
import { listAgents } from '../helpers/agents';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

/** Runs until `done` holds of the counters (or 20 s pass), then `extraMs` more, and stops. */
async function simulateUntil(sim: Simulation, done: (s: SimulationStats) => boolean, extraMs: number): Promise<SimulationStats> {
  const deadline = Date.now() + 20_000;
  while (!done(sim.stats) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, extraMs));
  return sim.stop();
}

describe('the agent simulator', () => {
  it('registers every agent and keeps them heartbeating', async () => {
    const sim = new Simulation({ url: server.url, token: server.enrollmentToken, agents: 12, intervalMs: [150, 300], stopChance: 0 });
    const stats = await simulateUntil(sim, (s) => s.registrations === 12, 1_500);

    expect(stats.registrations).toBe(12);
    expect(stats.ok).toBeGreaterThanOrEqual(12 * 2);
    expect(stats.failed + stats.rateLimited).toBe(0);
    const agents = (await listAgents(server.url, server.adminToken)).filter((a) => a.name.startsWith('sim-'));
    expect(agents).toHaveLength(12);
    expect(new Set(agents.map((a) => a.type)).size).toBe(6);
    for (const a of agents) expect(a.last_heartbeat).not.toBeNull();
  });

  it('stops some agents and brings them back by registering again', async () => {
    const sim = new Simulation({
      url: server.url, token: server.enrollmentToken, agents: 6, namePrefix: 'comeback',
      intervalMs: [100, 150], stopChance: 0.2, returnChance: 1, downtimeMs: [100, 200],
    });
    const stats = await simulateUntil(sim, (s) => s.returned >= 2, 0);

    expect(stats.returned).toBeGreaterThan(0);
    expect(stats.registrations).toBe(6 + stats.returned);
    expect(stats.failed).toBe(0);
    // A comeback re-registers the same agent rather than creating a new one.
    const agents = await listAgents(server.url, server.adminToken);
    expect(agents.filter((a) => a.name.startsWith('comeback-'))).toHaveLength(6);
  });

});

describe('the agent simulator against a rate-limited server', () => {
  let limited: TestServer;
  beforeAll(async () => {
    limited = await startTestServer({ env: { HEARTBEAT_RATE_LIMIT: '5' } });
  });
  afterAll(() => limited?.close());

  it('waits out Retry-After when the server answers 429, instead of hammering it', async () => {
    const attempts: Attempt[] = [];
    const stats = await runSimulation({
      url: limited.url, token: limited.enrollmentToken, agents: 10, durationMs: 4_000,
      intervalMs: [100, 150], stopChance: 0, onAttempt: (a) => attempts.push(a),
    });

    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats.ok).toBeGreaterThan(0);
    const refused = attempts.filter((a) => a.kind === 'heartbeat' && a.status === 429);
    let retried = 0;
    for (const r of refused) {
      expect(r.retryAfterMs).toBeGreaterThanOrEqual(1000);
      expect(r.waitMs).toBeGreaterThanOrEqual(r.retryAfterMs!);
      const next = attempts.find((a) => a.agent === r.agent && a.sentAt > r.answeredAt);
      if (!next) continue; // the run ended during the wait
      retried++;
      // Timers may fire a hair early relative to performance.now(); allow 2 ms.
      expect(next.sentAt - r.answeredAt).toBeGreaterThanOrEqual(r.retryAfterMs! - 2);
    }
    expect(retried).toBeGreaterThan(0);
    // Without backoff, 10 agents every 100–150 ms would send ~270 heartbeats in 4 s.
    expect(stats.sent).toBeLessThan(140);
  });
});

describe('backoff helpers', () => {
  it('draws full-jitter delays between 0 and the capped exponential', () => {
    expect(fullJitter(() => 0.999, 1, 500, 30_000)).toBeLessThan(500);
    expect(fullJitter(() => 0.999, 4, 500, 30_000)).toBeCloseTo(3996, 0);
    expect(fullJitter(() => 0.999, 20, 500, 30_000)).toBeLessThanOrEqual(30_000);
    expect(fullJitter(() => 0, 5, 500, 30_000)).toBe(0);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
