import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../api/db';
import { LivenessStore } from '../../api/liveness/liveness.store';
import { LivenessPolicy } from '../../api/liveness/policy';
import { registerAgent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/** The sweep's read of due agents, against deadlines set by hand (the sweeper itself is stopped). */
let server: TestServer;
const store = new LivenessStore(new LivenessPolicy(3, 60_000));
const now = new Date('2030-01-01T00:00:00Z');
const at = (ms: number) => new Date(now.getTime() + ms);
const until = at(250);
// Deadlines relative to `now`, by agent name; `null` is an agent already offline.
const deadlines: Record<string, number | null> = { a: -5_000, b: -1, c: 0, d: 120, e: 40, f: 1_000, g: null };
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer();
  await server.app.sweeper.stop();
  for (const name of Object.keys(deadlines)) {
    ids[name] = (await registerAgent(server.url, server.enrollmentToken, { name: `due-${name}` })).id;
  }
  const db = server.app.database.db;
  for (const [name, ms] of Object.entries(deadlines)) {
    const status = ms === null ? 'offline' : 'online';
    await db.execute(sql`update agents set status = ${status}, offline_at = ${at(ms ?? -10_000)} where id = ${ids[name]}`);
  }
});
afterAll(async () => {
  await server?.close();
});

const inTransaction = <T>(work: (tx: Db) => Promise<T>) => server.app.database.db.transaction(work);
const sorted = (names: string[]) => names.map((n) => ids[n]).sort();

describe('the sweep reads due agents', () => {
  it('returns the due agents not offline in id order, and the earliest deadline ahead within the window', async () => {
    const due = await inTransaction((tx) => store.due(tx, now, until, 100));
    expect(due.ids).toEqual(sorted(['a', 'b', 'c']));
    expect(due.next).toEqual(at(40));
  });

  it('stops at the limit, and then looks no further ahead', async () => {
    const first = await inTransaction((tx) => store.due(tx, now, until, 2));
    expect(first.ids).toEqual(sorted(['a', 'b', 'c']).slice(0, 2));
    expect(first.next).toBeNull();
    const exact = await inTransaction((tx) => store.due(tx, now, until, 3));
    expect(exact.ids).toEqual(sorted(['a', 'b', 'c']));
    expect(exact.next).toEqual(at(40));
  });

  it('finds no deadline ahead when none falls within the window', async () => {
    const due = await inTransaction((tx) => store.due(tx, now, at(30), 100));
    expect(due).toEqual({ ids: sorted(['a', 'b', 'c']), next: null });
  });

});

describe('a sweep', () => {
  it('wakes the readers of the event log only when it took an agent offline', async () => {
    // A bus calls its listeners as a writer signals (another replica's NOTIFY aside).
    let signals = 0;
    server.app.events.bus.onSignal(() => signals++);
    // Every deadline above is in 2030: nobody is due by the server's clock.
    expect(await server.app.sweeper.sweep()).toBe(0);
    expect(signals).toBe(0);
    const { id } = await registerAgent(server.url, server.enrollmentToken, { name: 'due-now' });
    signals = 0;
    await server.app.database.db.execute(sql`update agents set offline_at = ${new Date(Date.now() - 60_000)} where id = ${id}`);
    expect(await server.app.sweeper.sweep()).toBe(1);
    expect(signals).toBeGreaterThan(0);
  });
});
