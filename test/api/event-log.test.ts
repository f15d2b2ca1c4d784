import type { Client } from 'graphql-ws';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../../api/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAgentEvents } from '../../api/agents/agents.events';
import { parseCursor } from '../../api/events/position';
import { graphql } from '../helpers/client';
import { compareCursors } from '../helpers/cursors';
import { onPostgres } from '../helpers/database';
import { registerRest } from '../helpers/agents';
import { registerAgent, subscribeWs, waitFor, wsClient, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The log's order is the order of the writing transactions' ids, not of their commits,
 * and writers take no lock to append. These tests force the case that order must
 * survive: a transaction that took its id first commits last.
 */
let server: TestServer;
let ws: Client;
beforeAll(async () => {
  server = await startTestServer();
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  await server?.close();
});

let counter = 0;
const newAgent = (fields: Record<string, unknown> = {}) => registerAgent(server.url, server.enrollmentToken, { name: `log-${++counter}`, ...fields });

const EVENTS = 'subscription($after: String) { agentEvents(after: $after) { cursor type agentId data } }';

async function logged(): Promise<{ cursor: string; agentId: string; data: { marker?: string } }[]> {
  const res = await graphql(server.url, server.viewerToken, '{ agentEventLog(last: 1000) { cursor agentId data } }');
  return res.body.data.agentEventLog;
}

/**
 * Appends one marked event about `agent` in a transaction of its own, through the
 * same log the services write to, and holds the transaction open until `release`.
 */
function appendHeld(agent: Agent, marker: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let appended!: () => void;
  const written = new Promise<void>((r) => (appended = r));
  const { events } = server.app;
  const committed = events.transaction(async (tx) => {
    await events.lockSubjects(tx, 'agent', [agent.id]);
    await appendAgentEvents(events, tx, [{ agentId: agent.id, type: 'tags_changed', data: { marker } }]);
    appended();
    await gate;
  });
  return { written, release, committed };
}

const markerOf = (e: { data: { marker?: string } }) => e.data.marker;

describe('a registration', () => {
  it('writes the agent, its tags and its REGISTERED event together, the event holding the agent as answered', async () => {
    const res = await registerRest(server.url, server.enrollmentToken, { name: `log-${++counter}`, type: 'web_server', host: 'h', port: 1, tags: ['zeta', 'Alpha', 'zeta', 'beta'] });
    expect(res.status).toBe(201);
    const { data } = (
      await graphql(server.url, server.viewerToken, `{ agentEventLog(agentId: "${res.body.id}") { type agent { id name status tags heartbeatIntervalSeconds } } }`)
    ).body;
    expect(data.agentEventLog).toHaveLength(1);
    const [event] = data.agentEventLog;
    expect(event.type).toBe('REGISTERED');
    expect(event.agent).toEqual({ id: res.body.id, name: res.body.name, status: 'ONLINE', tags: res.body.tags, heartbeatIntervalSeconds: res.body.heartbeat_interval_seconds });
    expect([...res.body.tags].sort()).toEqual(['Alpha', 'beta', 'zeta']);
    const stored = (await graphql(server.url, server.viewerToken, `{ agent(id: "${res.body.id}") { tags } }`)).body.data.agent;
    expect(stored.tags).toEqual(res.body.tags);
  });
});

describe('appends that commit out of order', () => {
  it('holds back an event whose transaction took its id after one still running, then delivers both in log order, each once, live and on resume', async () => {
    const [x, y] = [await newAgent(), await newAgent()];
    const live = subscribeWs(ws, EVENTS, {});
    await waitFor(() => server.app.feed.subscriberCount > 0, { what: 'the live subscription' });
    const start = (await logged()).at(-1)!.cursor;

    // A takes its transaction id first and stays open; B takes a later one and commits.
    const a = appendHeld(x, 'A');
    await a.written;
    if (onPostgres()) {
      const b = appendHeld(y, 'B');
      await b.written;
      b.release();
      await b.committed;
      // B is committed, but a reader that took it now could later meet A before it:
      // nobody sees B until A has ended.
      const resumedEarly = subscribeWs(ws, EVENTS, { after: start });
      await new Promise((r) => setTimeout(r, 300));
      expect((await logged()).map(markerOf)).not.toContain('B');
      expect(live.items.map(markerOf)).not.toContain('B');
      expect(resumedEarly.items.map(markerOf)).not.toContain('B');
      // What makes the feed read again soon, whether or not A ends with an event to signal.
      const from = parseCursor(start)!;
      expect(await server.app.events.heldBack(from)).toBe(true);
      a.release();
      await a.committed;
      expect(await server.app.events.heldBack(from)).toBe(false);
      const items = await resumedEarly.until((all) => all.some((e) => markerOf(e) === 'B'));
      expect(items.filter((e) => markerOf(e)).map(markerOf)).toEqual(['A', 'B']);
      resumedEarly.dispose();
    } else {
      // The embedded database runs one transaction at a time: B can only begin once A has
      // committed, so the two cannot interleave there.
      a.release();
      await a.committed;
      const b = appendHeld(y, 'B');
      b.release();
      await b.committed;
    }

    const order = (await logged()).filter((e) => markerOf(e)).map(markerOf);
    expect(order).toEqual(['A', 'B']);
    const seen = await live.until((all) => all.some((e) => markerOf(e) === 'B'));
    expect(seen.filter((e) => markerOf(e)).map(markerOf)).toEqual(['A', 'B']);
    const resumed = subscribeWs(ws, EVENTS, { after: start });
    const replayed = await resumed.until((all) => all.some((e) => markerOf(e) === 'B'));
    expect(replayed.filter((e) => markerOf(e)).map(markerOf)).toEqual(['A', 'B']);
    for (let i = 1; i < replayed.length; i++) expect(compareCursors(replayed[i].cursor, replayed[i - 1].cursor)).toBe(1);
    live.dispose();
    resumed.dispose();
  });

  it('refuses to lock subjects in a transaction that has already written, since its place in the log is fixed by then', async () => {
    const agent = await newAgent();
    const { events } = server.app;
    await expect(
      events.transaction(async (tx) => {
        events.created(tx, 'agent', agent.id);
        await appendAgentEvents(events, tx, [{ agentId: agent.id, type: 'tags_changed' }]);
        await events.lockSubjects(tx, 'agent', [agent.id]);
      }),
    ).rejects.toThrow(/before the transaction writes/);
  });

  it('refuses an event about a subject the transaction neither locked nor created', async () => {
    const agent = await newAgent();
    const { events } = server.app;
    await expect(events.transaction((tx) => appendAgentEvents(events, tx, [{ agentId: agent.id, type: 'tags_changed' }]))).rejects.toThrow(/without locking/);
  });
});

describe('cursors', () => {
  it('accepts a cursor from before transaction ids were part of it (a bare event id) as a resume point, and refuses one beyond every id', async () => {
    const agent = await newAgent();
    // A bare id sorts before every event written since: resuming from 0 replays them all.
    const all = subscribeWs(ws, EVENTS, { after: '0' });
    await all.until((items) => items.some((e) => e.agentId === agent.id));
    all.dispose();
    const beyond = subscribeWs(ws, EVENTS, { after: '9000000000000000000' });
    await waitFor(() => beyond.errors.length > 0, { what: 'the refusal' });
    expect((beyond.errors[0] as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { after: expect.any(String) } });
  });

  for (const [what, cursor] of [
    ['past the range of an event id', '99999999999999999999'],
    ['past the range of a transaction id', '99999999999999999999999:1'],
    ['with a sign', '-5:1'],
    ['with spaces', ' 1:2'],
  ]) {
    it(`answers a cursor ${what} with BAD_USER_INPUT, on the log query and on the subscription`, async () => {
      const res = await graphql(server.url, server.viewerToken, 'query($before: String) { agentEventLog(before: $before) { cursor } }', { before: cursor });
      expect(res.status).toBe(400);
      expect(res.body.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { before: expect.any(String) } });
      const sub = subscribeWs(ws, EVENTS, { after: cursor });
      await waitFor(() => sub.errors.length > 0, { what: 'the refusal' });
      expect((sub.errors[0] as any[])[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { after: expect.any(String) } });
    });
  }
});

describe('appending', () => {
  it('returns each event’s id in the drafts’ order, while other transactions append beside it', async () => {
    const { events, database } = server.app;
    const appendMany = (batch: string) =>
      events.transaction(async (tx) => {
        const drafts = Array.from({ length: 300 }, (_, i) => ({ kind: 'probe', subjectId: `${batch}-${i % 7}`, type: `t${i % 3}`, payload: { batch, i } }));
        await events.lockSubjects(tx, 'probe', [...new Set(drafts.map((d) => d.subjectId))]);
        return { batch, ids: await events.append(tx, drafts) };
      });
    const appended = await Promise.all(['a', 'b', 'c'].map(appendMany));
    for (const { batch, ids } of appended) {
      expect(ids).toHaveLength(300);
      const result = await database.db.execute(sql`select id::text as id, subject_id, type, payload from events where id = any(${sql.param(ids.map(String))}::bigint[])`);
      const rows = new Map(rowsOf<{ id: string; subject_id: string; type: string; payload: { batch: string; i: number } }>(result).map((r) => [r.id, r]));
      ids.forEach((id, i) => expect(rows.get(String(id)), `${batch}[${i}]`).toMatchObject({ subject_id: `${batch}-${i % 7}`, type: `t${i % 3}`, payload: { batch, i } }));
    }
  });
});
