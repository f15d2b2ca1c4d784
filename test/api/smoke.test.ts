import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, SEED_AGENT } from '../helpers/client';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe('registration through REST', () => {
  it('answers 201 with the stored record and a token', async () => {
    const res = await request(`${server.url}/api/v1/agents/register`, { token: server.enrollmentToken, json: SEED_AGENT });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ ...SEED_AGENT, status: 'online' });
    expect(res.body.token).toMatch(/^am_agent_/);
  });
});
