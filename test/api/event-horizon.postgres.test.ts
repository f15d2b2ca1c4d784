import pg from 'pg';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { registerAgent, subscribeWs, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Transaction ids are shared by every database of a PostgreSQL server. A transaction
 * left open in another database (here the suite's base database, beside the server's
 * scratch one) must not hold back this server's event log: readers wait only for
 * transactions that could still write to it.
 */
describe('a long transaction in another database of the same PostgreSQL server', () => {
  let server: TestServer;
  let ws: Client;
  let other: pg.Client;

  beforeAll(async () => {
    server = await startTestServer();
    ws = wsClient(server.url, server.viewerToken);
    other = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
    await other.connect();
  });
  afterAll(async () => {
    await other?.query('rollback').catch(() => {});
    await other?.end();
    await ws?.dispose();
    await server?.close();
  });

  it('holds back neither live subscribers nor the log, while it stays open', async () => {
    const live = subscribeWs(ws, 'subscription { agentEvents { type agentId } }');
    // Let the subscription start before the other transaction takes its id.
    await new Promise((r) => setTimeout(r, 500));
    await other.query('begin');
    const { rows } = await other.query('select pg_current_xact_id()::text as xid');
    expect(rows[0].xid).toMatch(/^\d+$/);

    const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'horizon-1' });
    const items = await live.until((list) => list.some((e) => e.agentId === agent.id), 5_000);
    expect(items.find((e) => e.agentId === agent.id)).toEqual({ type: 'REGISTERED', agentId: agent.id });
    const log = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agentEventLog(agentId: $id) { type } }', { id: agent.id });
    expect(log.body.data.agentEventLog).toEqual([{ type: 'REGISTERED' }]);
    // Still the same open transaction: what was delivered did not wait for it to end.
    const open = await other.query('select pg_current_xact_id()::text as xid');
    expect(open.rows[0].xid).toBe(rows[0].xid);
    live.dispose();
  });
});
