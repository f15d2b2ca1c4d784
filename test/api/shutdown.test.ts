import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/database';
import { registerAgent, waitFor, wsUrl, type Agent } from '../helpers/liveness';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { TOKENS } from '../helpers/server';

/**
 * SIGTERM under load, on a real process: every request the server read is answered,
 * every acknowledged heartbeat is in the database afterwards, SSE streams end with
 * `complete`, WebSockets close with 1001, and the process exits 0 in time.
 */
const AGENTS = 40;
const ENV = { LOG_LEVEL: 'debug', SHUTDOWN_DELAY_MS: '500', SHUTDOWN_TIMEOUT_MS: '10000', HEARTBEAT_FLUSH_MS: '20' };
let database: TestDatabase;
let dataDir: string;
let server: ServerProcess;
let agents: Agent[];
const where = () => (onPostgres() ? { databaseUrl: database.url } : { env: { DATA_DIR: dataDir } });
const start = (env: Record<string, string> = {}) => {
  const w = where();
  return spawnServer({ databaseUrl: w.databaseUrl, env: { ...ENV, ...w.env, ...env } });
};

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'am-shutdown-'));
  server = await start();
  agents = [];
  for (let i = 0; i < AGENTS; i++) agents.push(await registerAgent(server.url, TOKENS.enrollment, { name: `drain-${i}` }));
}, 120_000);
afterAll(async () => {
  await server?.kill();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Outcome {
  id: string;
  agent: number;
  seq: number;
  status?: number;
  error?: string;
}

/** One agent beating as fast as it is answered on one keep-alive connection, until the server is gone. */
async function beatUntilGone(url: string, index: number, outcomes: Outcome[]) {
  const agent = agents[index];
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let seq = 1; ; seq++) {
    const outcome: Outcome = { id: `a${index}-s${seq}`, agent: index, seq };
    outcomes.push(outcome);
    const body = JSON.stringify({ health: { status: 'healthy', message: `seq-${seq}` }, sequence: seq });
    try {
      outcome.status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${url}/api/v1/agents/${agent.id}/heartbeat`, {
          method: 'POST',
          agent: keepAlive,
          headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json', 'x-request-id': outcome.id },
        }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    } catch (err) {
      outcome.error = (err as NodeJS.ErrnoException).code ?? String(err);
      if (outcome.error === 'ECONNREFUSED') break;
    }
  }
  keepAlive.destroy();
}

/** An SSE subscription that records whether it ended with `complete` or was cut. */
function sseStream(url: string) {
  const state = { events: 0, complete: false, failed: undefined as string | undefined, ended: undefined as Promise<void> | undefined };
  state.ended = (async () => {
    try {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.viewer}`, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'subscription { agentStatusChanged { status } }' }),
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        if (/^event: complete$/m.test(text)) state.complete = true;
        state.events++;
      }
    } catch (err) {
      state.failed = String((err as Error).cause ?? err);
    }
  })();
  return state;
}

describe('drain on SIGTERM under load', () => {
  it('answers every request it read, loses no acknowledged heartbeat, ends streams, closes sockets with 1001 and exits 0', async () => {
    const sse = sseStream(server.url);
    const socket = new WebSocket(wsUrl(server.url), 'graphql-transport-ws');
    socket.on('error', () => {});
    const wsClosed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${TOKENS.viewer}` } })));
    const outcomes: Outcome[] = [];
    const load = Promise.all(agents.map((_, i) => beatUntilGone(server.url, i, outcomes)));
    await waitFor(() => outcomes.filter((o) => o.status === 200).length > 500, { timeout: 30_000, what: 'load to build up' });

    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    // Within SHUTDOWN_DELAY_MS the replica still accepts, and says it is not ready.
    // (The signal is delivered asynchronously: a probe sent at once may still be answered before it.)
    const ready = await waitFor(async () => {
      const res = await request(`${server.url}/ready`);
      return res.status === 503 ? res : undefined;
    }, { timeout: 2_000, interval: 10, what: '/ready to answer 503' });
    expect(ready.body.status).toBe('draining');

    const exit = await server.exited;
    await load;
    expect(exit.code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(10_000);

    // Every heartbeat the server read (its request log) was answered with what it logged.
    const read = new Map(server.logLines().filter((l) => l.route === 'POST /api/v1/agents/:id/heartbeat').map((l) => [l.reqId as string, l.status as number]));
    expect(read.size).toBeGreaterThan(500);
    const byId = new Map(outcomes.map((o) => [o.id, o]));
    const unanswered = [...read].filter(([id, status]) => byId.get(id)?.status !== status);
    expect(unanswered).toEqual([]);
    expect([...read.values()].filter((s) => s === 499)).toEqual([]);
    // What the client saw fail was never read: refused connections, or a request written to a connection as it closed.
    const failedButRead = outcomes.filter((o) => o.error && read.has(o.id));
    expect(failedButRead).toEqual([]);

    await sse.ended;
    expect(sse.failed).toBeUndefined();
    expect(sse.complete).toBe(true);
    expect(await wsClosed).toBe(1001);

    // Started again on the same data: each agent's last acknowledged heartbeat is there, or a later one.
    server = await start();
    const res = await graphql(server.url, TOKENS.viewer, '{ agents(first: 100) { nodes { name healthMessage } } }');
    const stored = new Map<string, number>(res.body.data.agents.nodes.map((a: { name: string; healthMessage: string | null }) => [a.name, Number(a.healthMessage?.slice(4) ?? 0)]));
    const lost = agents.flatMap((_, i) => {
      const acked = Math.max(0, ...outcomes.filter((o) => o.agent === i && o.status === 200).map((o) => o.seq));
      return (stored.get(`drain-${i}`) ?? 0) >= acked ? [] : [`drain-${i}: acked ${acked}, stored ${stored.get(`drain-${i}`)}`];
    });
    expect(lost).toEqual([]);
  }, 120_000);
});
