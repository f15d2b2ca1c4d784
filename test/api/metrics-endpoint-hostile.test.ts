import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/client';
import { registerAgent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * /metrics (Prometheus text) checks an agent token as every other door does: one that is
 * not valid (forged, or its agent deregistered) is 401, and only a valid agent token,
 * which may not read the metrics, is 403.
 */
let server: TestServer;
beforeAll(async () => {
  // No remembered token checks: each request sees the agent as it is now.
  server = await startTestServer({ env: { AGENT_TOKEN_CACHE_MS: '0' } });
});
afterAll(() => server?.close());

let counter = 0;
const newAgent = () => registerAgent(server.url, server.enrollmentToken, { name: `scrape-${++counter}` });
const forgedFor = (id: string) => `am_agent_${id.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;
const scrape = (token: string) => request(`${server.url}/metrics`, { token });

describe('/metrics and agent tokens', () => {
  it('answers 401 UNAUTHENTICATED to a forged agent token, for an agent that exists and one that does not', async () => {
    const agent = await newAgent();
    for (const token of [forgedFor(agent.id), forgedFor(randomUUID())]) {
      const res = await scrape(token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
    }
  });

  it("answers 401 to a deregistered agent's token, which was 403 while it was valid", async () => {
    const agent = await newAgent();
    const before = await scrape(agent.token);
    expect(before.status).toBe(403);
    expect(before.body.error.code).toBe('FORBIDDEN');
    expect((await request(`${server.url}/api/v1/agents/${agent.id}`, { method: 'DELETE', token: server.adminToken })).status).toBe(200);
    const after = await scrape(agent.token);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('still serves viewer tokens', async () => {
    const res = await request(`${server.url}/metrics`, { token: server.viewerToken });
    expect(res.status).toBe(200);
    expect(String(res.body)).toContain('agent_monitor_');
  });
});
