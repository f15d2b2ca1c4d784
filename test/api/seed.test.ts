import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { OffsetClock } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';
import { DEMO_AGENTS, seedDemoAgents } from '../../api/agents/seed';

let server: TestServer;
const clock = new OffsetClock();
beforeAll(async () => {
  server = await startTestServer({ clock, env: { SWEEP_INTERVAL_MS: '50' } });
});
afterAll(() => server?.close());

const fleet = async () =>
  (await graphql(server.url, server.viewerToken, '{ agents(first: 100) { nodes { name status lastHeartbeat } } }')).body.data.agents.nodes as { name: string; status: string; lastHeartbeat: string | null }[];

describe('the demo agents (--demo, npm run seed)', () => {
  it('are registered once: seeding again, after they went offline, leaves them as they are', async () => {
    const { agents } = server.app.services;
    expect(await seedDemoAgents(agents, server.app.database.db)).toBe(DEMO_AGENTS.length);
    expect((await fleet()).map((a) => a.name).sort()).toEqual(DEMO_AGENTS.map((a) => a.name).sort());
    // Never heartbeating, they go offline once their deadline passes.
    clock.advance(3_600_000);
    await expect.poll(async () => (await fleet()).every((a) => a.status === 'OFFLINE'), { timeout: 10_000 }).toBe(true);

    expect(await seedDemoAgents(agents, server.app.database.db)).toBe(0);
    const after = await fleet();
    expect(after).toHaveLength(DEMO_AGENTS.length);
    expect(after.every((a) => a.status === 'OFFLINE' && a.lastHeartbeat === null)).toBe(true);
  });
});
