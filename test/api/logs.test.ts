import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { heartbeatRest, rawWs, registerAgent, waitFor, type Agent } from '../helpers/liveness';
import { capturingLogger } from '../helpers/raw';
import { startTestServer, type TestServer } from '../helpers/server';

// Long enough that one test's failures fall in one interval; the test ends it with flush().
const captured = capturingLogger('debug', 60_000);
let server: TestServer;
let agent: Agent;
let clockFails = false;
const clock = {
  now: () => {
    if (clockFails) throw new Error('clock exploded');
    return new Date();
  },
};

beforeAll(async () => {
  server = await startTestServer({ log: captured.log, clock });
  agent = await registerAgent(server.url, server.enrollmentToken, { name: 'logs-agent' });
});
afterAll(() => server?.close());

describe('structured logs', () => {
  it('writes one JSON line per request with its id, route pattern, status and duration, and echoes the id', async () => {
    const res = await request(`${server.url}/api/v1/agents/${agent.id}`, { token: server.viewerToken, headers: { 'x-request-id': 'trace-me-42' } });
    expect(res.headers.get('x-request-id')).toBe('trace-me-42');
    const line = await waitFor(() => captured.lines().find((l) => l.reqId === 'trace-me-42'));
    expect(line).toMatchObject({ level: 'info', msg: 'request', method: 'GET', route: 'GET /api/v1/agents/:id', status: 200 });
    expect(typeof line.ms).toBe('number');
    expect(typeof line.time).toBe('string');
    // An id the server would not trust is replaced by its own.
    const odd = await request(`${server.url}/health`, { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f]+-\w+$/);
  });

  it('logs successful heartbeats at debug only, and refused ones at info', async () => {
    expect((await heartbeatRest(server.url, agent.id, agent.token, {})).status).toBe(200);
    expect((await heartbeatRest(server.url, agent.id, agent.token, { health: { status: 'sleepy' } })).status).toBe(400);
    const lines = await waitFor(() => {
      const l = captured.lines().filter((x) => x.route === 'POST /api/v1/agents/:id/heartbeat');
      return l.length >= 2 ? l : undefined;
    });
    expect(lines.find((l) => l.status === 200)?.level).toBe('debug');
    expect(lines.find((l) => l.status === 400)?.level).toBe('info');
  });

  it('never writes a token, whatever the door and outcome', async () => {
    const tokens = [server.adminToken, server.viewerToken, server.enrollmentToken, agent.token, 'some-unknown-token-0123456789'];
    for (const token of tokens) {
      await request(`${server.url}/api/v1/agents/`, { token });
      await graphql(server.url, token, '{ viewer { role } }');
      await heartbeatRest(server.url, agent.id, token, {});
      const socket = rawWs(server.url, { authorization: `Bearer ${token}` });
      // Accepted (admin, viewer) or closed with 4403 (the rest).
      await Promise.race([waitFor(() => socket.acked()), socket.closed]);
      socket.socket.close();
      await socket.closed;
    }
    clockFails = true;
    try {
      await request(`${server.url}/api/v1/agents/register`, { token: server.enrollmentToken, json: { name: 'n', type: 't', host: 'h', port: 1 } });
    } finally {
      clockFails = false;
    }
    const text = captured.text();
    expect(text.length).toBeGreaterThan(0);
    for (const token of tokens) expect(text).not.toContain(token);
    expect(text).not.toMatch(/am_agent_[0-9a-f]{32}_/);
  }, 60_000);

  it('writes the first error of a kind at once and the rest of its interval as one line with a count', async () => {
    // Ends the interval an earlier test's failure began.
    captured.log.flush();
    const before = captured.lines().length;
    clockFails = true;
    try {
      for (let i = 0; i < 30; i++) await request(`${server.url}/api/v1/agents/register`, { token: server.enrollmentToken, json: { name: `t${i}`, type: 't', host: 'h', port: 1 } });
    } finally {
      clockFails = false;
    }
    const during = captured.lines().slice(before).filter((l) => String(l.msg).startsWith('POST request failed'));
    expect(during).toHaveLength(1);
    expect(during[0].err.message).toBe('clock exploded');
    // The interval ends (here by flush, as at shutdown): one line with the count.
    captured.log.flush();
    const summary = captured.lines().slice(before).filter((l) => String(l.msg).startsWith('POST request failed'));
    expect(summary).toHaveLength(2);
    expect(summary[1]).toMatchObject({ level: 'error', repeated: 29, msg: 'POST request failed (29 more like it)' });
  });
});
