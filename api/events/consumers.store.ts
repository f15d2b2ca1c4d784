import { sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import type { Position } from './position';

export interface ConsumerRow {
  position: Position;
  owner: string | null;
  handled: bigint;
}

export interface ConsumerLagRow extends ConsumerRow {
  name: string;
  /** Whether the owner's lease has not run out, by the database's clock. */
  leaseLive: boolean;
  /** Events after the position, counted up to a cap. */
  behind: number;
  /** When the oldest event not yet handled was appended; null when none is waiting. */
  oldestWaiting: Date | null;
}

const lease = (ms: number) => sql`clock_timestamp() + make_interval(secs => ${ms / 1000})`;

/** How far lag counting goes: past this a consumer is simply "this far behind, or more". */
export const LAG_COUNT_CAP = 1_000_000;

/**
 * The SQL of durable consumers. Leases are timed by the database's clock, so replicas
 * whose clocks disagree still agree on when a lease has run out.
 */
export const consumerStore = {
  /** Creates the consumer's row at `start` unless it exists; an existing one keeps its position. */
  async ensure(db: Db, name: string, start: Position): Promise<void> {
    await db.execute(sql`
      insert into event_consumers (name, tx, id) values (${name}, ${start.tx.toString()}::xid8, ${start.id.toString()}::bigint)
      on conflict (name) do nothing
    `);
  },

  /** Takes the lease if it is free, expired or already ours; true when `owner` holds it now. */
  async acquire(db: Db, name: string, owner: string, ms: number): Promise<boolean> {
    const result = await db.execute(sql`
      update event_consumers set owner = ${owner}, lease_until = ${lease(ms)}
      where name = ${name} and (owner is null or owner = ${owner} or lease_until < clock_timestamp())
      returning name
    `);
    return rowsOf(result).length > 0;
  },

  /** Extends the lease; false when it is no longer ours. */
  async renew(db: Db, name: string, owner: string, ms: number): Promise<boolean> {
    const result = await db.execute(sql`
      update event_consumers set lease_until = ${lease(ms)} where name = ${name} and owner = ${owner} returning name
    `);
    return rowsOf(result).length > 0;
  },

  async release(db: Db, name: string, owner: string): Promise<void> {
    await db.execute(sql`update event_consumers set owner = null, lease_until = null where name = ${name} and owner = ${owner}`);
  },

  /**
   * Locks the consumer for the rest of `tx`: every batch of one consumer, on any replica,
   * runs one after another, each from the position the last one committed. The lock is
   * an advisory one rather than the row's: a row lock gives the transaction its id, and a
   * handler must still be able to lock the subjects it appends events about before that
   * (EventLog.lockSubjects). The row is read after the lock is granted, so it is the one
   * the previous batch committed.
   */
  async lock(tx: Db, name: string): Promise<ConsumerRow | undefined> {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('event-consumer:' || ${name}, 0))`);
    const result = await tx.execute(sql`
      select tx::text as tx, id::text as id, owner, handled::text as handled from event_consumers where name = ${name}
    `);
    const [row] = rowsOf<{ tx: string; id: string; owner: string | null; handled: string }>(result);
    return row && { position: { tx: BigInt(row.tx), id: BigInt(row.id) }, owner: row.owner, handled: BigInt(row.handled) };
  },

  async advance(tx: Db, name: string, to: Position, handled: number, owner: string, ms: number): Promise<void> {
    await tx.execute(sql`
      update event_consumers
      set tx = ${to.tx.toString()}::xid8, id = ${to.id.toString()}::bigint, handled = handled + ${handled},
          lease_until = ${lease(ms)}, updated_at = clock_timestamp()
      where name = ${name} and owner = ${owner}
    `);
  },

  async lag(db: Db): Promise<ConsumerLagRow[]> {
    const result = await db.execute(sql`
      select c.name, c.tx::text as tx, c.id::text as id, c.owner, c.handled::text as handled, coalesce(c.lease_until > clock_timestamp(), false) as lease_live,
        (select count(*) from (select 1 from events e where (e.tx, e.id) > (c.tx, c.id) limit ${LAG_COUNT_CAP}) w)::int as behind,
        (select e.at from events e where (e.tx, e.id) > (c.tx, c.id) order by e.tx, e.id limit 1) as oldest
      from event_consumers c order by c.name
    `);
    return rowsOf<{ name: string; tx: string; id: string; owner: string | null; handled: string; lease_live: boolean; behind: number; oldest: string | Date | null }>(result).map((r) => ({
      name: r.name,
      position: { tx: BigInt(r.tx), id: BigInt(r.id) },
      owner: r.owner,
      handled: BigInt(r.handled),
      leaseLive: r.lease_live,
      behind: r.behind,
      oldestWaiting: r.oldest === null ? null : new Date(r.oldest),
    }));
  },
};
