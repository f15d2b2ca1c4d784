import { sql } from 'drizzle-orm';
import { bigint, bigserial, customType, index, jsonb, pgTable, timestamp, varchar } from 'drizzle-orm/pg-core';

/** PostgreSQL's 64-bit transaction id; read and written as decimal text. */
export const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * The append-only log of everything that happened, whatever it happened to: a subject
 * (its kind and id), a type, the time by the server's clock, and a payload the subject's
 * domain defines. `tx` is the writing transaction's id: readers order by (tx, id) and
 * take only transactions that can no longer commit (see position.ts), so writers need
 * no lock to append. No foreign key: history outlives its subject.
 */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    tx: xid8('tx').notNull().default(sql`pg_current_xact_id()`),
    subjectKind: varchar('subject_kind', { length: 32 }).notNull(),
    subjectId: varchar('subject_id', { length: 64 }).notNull(),
    type: varchar('type', { length: 64 }).notNull(),
    at: at('at').notNull(),
    payload: jsonb('payload').$type<unknown>().notNull(),
  },
  (t) => [index('events_order_idx').on(t.tx, t.id), index('events_subject_idx').on(t.subjectKind, t.subjectId, t.tx, t.id)],
);

/**
 * A durable consumer: its position in the log, advanced in the same transaction as its
 * handler's writes, and the lease that lets one replica at a time run it.
 */
export const eventConsumers = pgTable('event_consumers', {
  name: varchar('name', { length: 64 }).primaryKey(),
  tx: xid8('tx').notNull(),
  id: bigint('id', { mode: 'bigint' }).notNull(),
  handled: bigint('handled', { mode: 'bigint' }).notNull().default(0n),
  owner: varchar('owner', { length: 64 }),
  leaseUntil: at('lease_until'),
  updatedAt: at('updated_at').notNull().defaultNow(),
});
