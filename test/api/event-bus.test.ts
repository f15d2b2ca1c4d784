import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus, PgNotifyBus, EVENTS_CHANNEL, type EventBus } from '../../api/events/bus';
import { createTestDatabase, onPostgres, type TestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/liveness';

/**
 * The bus that wakes each replica's event feed. On PostgreSQL it must survive losing
 * its LISTEN connection (a restart, a failover, an idle-connection killer): report the
 * error once, listen again, and never hand the pool the same connection twice.
 */
describe(`event bus (${onPostgres() ? 'LISTEN/NOTIFY' : 'in-process'})`, () => {
  let database: TestDatabase;
  let pool: pg.Pool | undefined;
  let bus: EventBus;
  const errors: Error[] = [];
  let signals = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    if (database.url) {
      pool = new pg.Pool({ connectionString: database.url, max: 4 });
      pool.on('error', () => {});
      const notifyBus = new PgNotifyBus(pool, (err) => errors.push(err));
      await notifyBus.start();
      bus = notifyBus;
    } else {
      bus = new MemoryBus();
    }
    bus.onSignal(() => signals++);
  });

  afterAll(async () => {
    await bus?.close();
    await pool?.end();
    await database?.drop();
  });

  /** Sends a signal the way a committing writer does, and waits until it arrives. */
  async function signalArrives() {
    const before = signals;
    if (pool) await pool.query(`select pg_notify('${EVENTS_CHANNEL}', '')`);
    else bus.signal();
    await waitFor(() => signals > before, { what: 'the signal' });
  }

  it('delivers a signal to its listeners', async () => {
    await signalArrives();
  });

  // The in-process bus has no connection to lose.
  if (onPostgres()) it('listens again after its connection is killed, reporting each loss once', async () => {
    for (let round = 1; round <= 3; round++) {
      const listening = async () =>
        (await pool!.query(`select pid from pg_stat_activity where datname = current_database() and query = 'listen ${EVENTS_CHANNEL}'`)).rows;
      await waitFor(async () => (await listening()).length === 1, { what: 'one listening connection' });
      const [{ pid }] = await listening();
      await pool!.query('select pg_terminate_backend($1)', [pid]);
      await waitFor(() => errors.length === round, { what: `error report ${round}` });
      // Re-listening signals once by itself (to pick up what was committed meanwhile);
      // after that, a new notification must still arrive.
      await waitFor(async () => (await listening()).length === 1 && (await listening())[0].pid !== pid, { what: 'a new listening connection' });
      await signalArrives();
    }
    expect(errors).toHaveLength(3);
  });

  if (onPostgres()) it('gives its connection up on close, for good', async () => {
    await bus.close();
    const reported = errors.length;
    // Whatever the pool still holds is cut off now; a closed bus must neither notice
    // nor hand a connection back a second time (which would throw, uncaught).
    const outsider = new pg.Client({ connectionString: database.url });
    await outsider.connect();
    await outsider.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    await outsider.end();
    await new Promise((r) => setTimeout(r, 300));
    const listening = await pool!.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and query = 'listen ${EVENTS_CHANNEL}'`);
    expect(listening.rows[0].n).toBe(0);
    expect(errors.length).toBe(reported);
  });
});
