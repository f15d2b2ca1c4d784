import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { heartbeatRest, registerAgent, waitFor, wsClient, subscribeWs, type Agent } from '../helpers/liveness';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { TOKENS } from '../helpers/server';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * A real server process whose PostgreSQL connections run through a proxy the test cuts.
 * (The embedded database lives inside the process: there is nothing to cut.)
 */
describe('a database outage, answered honestly (PostgreSQL only: the embedded database cannot be cut off)', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: ServerProcess;
  let agent: Agent;

  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.url!);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    server = await spawnServer({
      databaseUrl: proxy.rewrite(database.url!),
      env: { DB_CONNECT_TIMEOUT_MS: '1000', DB_STATEMENT_TIMEOUT_MS: '1500', SWEEP_INTERVAL_MS: '50', LOG_LEVEL: 'warn' },
    });
    agent = await registerAgent(server.url, TOKENS.enrollment, { name: 'outage-agent' });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await database?.drop();
  });

  const list = () => request(`${server.url}/api/v1/agents/`, { token: TOKENS.viewer });
  const query = () => graphql(server.url, TOKENS.viewer, '{ agentStatusCounts { total } }');
  const beat = () => heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'healthy' } });

  function expectUnavailable(res: { status: number; headers: Headers; body: any }, what: string) {
    expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(503);
    expect(Number(res.headers.get('retry-after')), what).toBeGreaterThan(0);
    const code = res.body.error?.code ?? res.body.errors?.[0]?.extensions?.code;
    expect(code, what).toBe('SERVICE_UNAVAILABLE');
  }

  it('is ready, and serves, while the database answers', async () => {
    expect((await request(`${server.url}/ready`)).status).toBe(200);
    expect((await list()).status).toBe(200);
    expect((await beat()).status).toBe(200);
  });

  it('answers 503 with Retry-After to REST, GraphQL and heartbeats when connections are reset; /health stays 200, /ready turns 503', async () => {
    await proxy.cut();
    expectUnavailable(await list(), 'REST list');
    expectUnavailable(await query(), 'GraphQL query');
    expectUnavailable(await beat(), 'heartbeat');
    expectUnavailable(await graphql(server.url, agent.token, 'mutation($id: ID!) { heartbeat(input: { agentId: $id }) { status } }', { id: agent.id }), 'GraphQL heartbeat');
    expectUnavailable(await request(`${server.url}/api/v1/agents/register`, { token: TOKENS.enrollment, json: { name: 'during-outage', type: 't', host: 'h', port: 1 } }), 'registration');
    expect((await request(`${server.url}/health`)).status).toBe(200);
    // Its check's answer serves probes for a second: wait for the next one.
    const ready = await waitFor(async () => {
      const res = await request(`${server.url}/ready`);
      return res.status === 503 ? res : undefined;
    }, { timeout: 5_000, interval: 100, what: '/ready to answer 503' });
    expect(Number(ready.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(ready.body).toMatchObject({ status: 'unavailable', reason: expect.stringMatching(/database unreachable/) });
  });

  it('logs the outage a few times, not once per request: 300 failed requests make at most a dozen lines', async () => {
    const before = server.logLines().length;
    for (let i = 0; i < 30; i++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, j) => (j % 3 === 0 ? list() : j % 3 === 1 ? query() : beat())));
      for (const res of answers) expect(res.status).toBe(503);
    }
    const lines = server.logLines().slice(before);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(server.output()).not.toMatch(/^\s+at /m);
  });

  it('answers 503 within the configured timeouts when the database stops answering without resetting (a partition)', async () => {
    await proxy.blackhole();
    const started = Date.now();
    const answers = await Promise.all([list(), query(), beat()]);
    for (const res of answers) expect(res.status).toBe(503);
    // Connect timeout 1 s, statement timeout 1.5 s (+1 s on the client): no request hangs.
    expect(Date.now() - started).toBeLessThan(8_000);
    expect((await request(`${server.url}/health`)).status).toBe(200);
  });

  it('serves again, and turns ready, once the database is back, having written nothing for the refused requests', async () => {
    await proxy.restore();
    await waitFor(async () => (await request(`${server.url}/ready`)).status === 200, { timeout: 15_000, interval: 200, what: '/ready to answer 200' });
    expect((await beat()).status).toBe(200);
    const agents = (await list()).body.agents as { name: string }[];
    expect(agents.map((a) => a.name)).toEqual(['outage-agent']);
    const client = wsClient(server.url, TOKENS.viewer);
    try {
      const sub = subscribeWs(client, 'subscription($ids: [ID!]!) { agentHeartbeats(agentIds: $ids) { heartbeats { at } } }', { ids: [agent.id] });
      await sub.until((items) => items.length > 0);
    } finally {
      await client.dispose();
    }
  });
});
