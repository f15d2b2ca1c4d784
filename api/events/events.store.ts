import { sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { cursorOf, type Position } from './position';
import type { EventDraft, EventRecord, EventSelection } from './events.types';

interface Row {
  id: string;
  tx: string;
  subject_kind: string;
  subject_id: string;
  type: string;
  at: string | Date;
  payload: unknown;
}

const toRecord = (r: Row): EventRecord => {
  const position = { tx: BigInt(r.tx), id: BigInt(r.id) };
  return { position, cursor: cursorOf(position), kind: r.subject_kind, subjectId: r.subject_id, type: r.type, at: new Date(r.at), payload: r.payload };
};

const columns = (s: EventSelection): SQL =>
  sql`e.id::text as id, e.tx::text as tx, e.subject_kind, e.subject_id, e.type, e.at, ${
    s.payloadOf ? sql`case when e.subject_kind = any(${sql.param([...s.payloadOf])}::text[]) then e.payload end as payload` : sql.raw('e.payload')
  }`;
/**
 * The oldest transaction that may still write events here: those below it have all
 * ended, so their events can no longer change. It is the snapshot's oldest running
 * transaction (its xmin) once transactions known to run in another database are left
 * out: transaction ids are shared by every database of a PostgreSQL server, and a long
 * transaction in another one (a report, a dump, another application) would otherwise
 * hold back every reader of this log until it ended. A transaction that is not found
 * running in another database (it ended meanwhile, or its session cannot be seen)
 * counts as ours: the horizon may then stop short, never go too far.
 */
const HORIZON_OF = (snapshot: string) =>
  `coalesce((select min(x) from pg_snapshot_xip(${snapshot}) x
              where x::xid not in (select a.backend_xid from pg_stat_activity a
                                   where a.backend_xid is not null and a.datname is distinct from current_database())),
            pg_snapshot_xmax(${snapshot}))`;
const HORIZON = sql.raw(`(select ${HORIZON_OF('s')} from pg_current_snapshot() s)`);

const selection = (s: EventSelection): SQL => {
  const parts: SQL[] = [];
  if (s.kind !== undefined) parts.push(sql`and e.subject_kind = ${s.kind}`);
  if (s.subjectId !== undefined) parts.push(sql`and e.subject_id = ${s.subjectId}`);
  return sql.join(parts, sql` `);
};

/**
 * Subjects share 1 024 lock buckets: a transaction then holds at most that many locks
 * however many subjects it changes, well inside PostgreSQL's shared lock table (64 per
 * connection by default). Two subjects in one bucket only ever make a writer wait a
 * moment longer.
 */
const BUCKETS = 1024;

/** FNV-1a, 32 bits. */
function fnv(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A subject's bucket within its kind's lock space. */
export const subjectBucket = (kind: string, id: string) => fnv(`${kind}:${id}`) % BUCKETS;

/** The first key of a kind's advisory locks (the second is the bucket): a signed 32-bit integer. */
const kindSpace = (kind: string) => fnv(`event-subjects:${kind}`) | 0;

/** The SQL of the event log. */
export const eventStore = {
  /**
   * Appends in the caller's transaction; the rows take that transaction's id. The drafts
   * travel as one JSON document, which the database takes apart: far cheaper, for a batch
   * of thousands, than an array parameter of JSON texts. Returns the events' ids in the
   * drafts' order: the rows are inserted in that order, each taking the sequence's next
   * value, so their ids ascend with it.
   */
  async insert(tx: Db, at: Date, drafts: EventDraft[]): Promise<bigint[]> {
    const result = await tx.execute(sql`
      with written as (
        insert into events (subject_kind, subject_id, type, at, payload)
        select d.kind, d."subjectId", d.type, ${at}::timestamptz, d.payload
        from jsonb_to_recordset(${JSON.stringify(drafts)}::jsonb) as d(kind text, "subjectId" text, type text, payload jsonb)
        returning id
      )
      select string_agg(id::text, ',' order by id) as ids from written
    `);
    const ids = rowsOf<{ ids: string | null }>(result)[0]?.ids;
    return ids ? ids.split(',').map(BigInt) : [];
  },

  /**
   * Takes the transaction-scoped advisory locks of these subjects' buckets (see
   * `subjectBucket`), in ascending order for every caller, so two of them never wait on
   * each other in a cycle. With `skipLocked`, a bucket another transaction holds is
   * passed over rather than waited for. Returns the ids whose bucket it now holds.
   */
  async lockSubjects(tx: Db, kind: string, ids: string[], skipLocked: boolean): Promise<string[]> {
    if (ids.length === 0) return [];
    const byBucket = new Map<number, string[]>();
    for (const id of new Set(ids)) {
      const bucket = subjectBucket(kind, id);
      const list = byBucket.get(bucket);
      if (list) list.push(id);
      else byBucket.set(bucket, [id]);
    }
    const buckets = [...byBucket.keys()].sort((a, b) => a - b);
    // Each kind has buckets of its own: writers of alerts never wait on writers of agents.
    const space = kindSpace(kind);
    const lock = skipLocked ? sql`pg_try_advisory_xact_lock(${space}, b.bucket)` : sql`pg_advisory_xact_lock(${space}, b.bucket) is not null`;
    const result = await tx.execute(sql`
      select pg_current_xact_id_if_assigned() is not null as late,
        array(select b.bucket from unnest(${sql.param(buckets)}::int[]) with ordinality as b(bucket, n) where ${lock} order by b.n) as buckets
    `);
    const [row] = rowsOf<{ late: boolean; buckets: number[] }>(result);
    // Too late once the transaction has written: it has its id already.
    if (row.late) throw new Error('subjects must be locked before the transaction writes anything');
    return row.buckets.flatMap((b) => byBucket.get(Number(b)) ?? []);
  },

  /** Events after `from`, oldest first, among those that can no longer change. */
  async after(db: Db, from: Position, limit: number, s: EventSelection = {}): Promise<EventRecord[]> {
    const result = await db.execute(sql`
      select ${columns(s)} from events e
      where (e.tx, e.id) > (${from.tx.toString()}::xid8, ${from.id.toString()}::bigint) and e.tx < ${HORIZON} ${selection(s)}
      order by e.tx, e.id
      limit ${limit}
    `);
    return rowsOf<Row>(result).map(toRecord);
  },

  /**
   * Whether events after `from` have committed that cannot be read yet, behind a
   * transaction still running: that is, whether the newest event is after `from` and
   * beyond the horizon. One step down the index from its end, however long the log (asked
   * as "any event after `from` beyond the horizon", the planner may scan the whole table).
   */
  async heldBack(db: Db, from: Position): Promise<boolean> {
    const result = await db.execute(sql`
      select coalesce((
        select e.tx >= ${HORIZON} from events e
        where (e.tx, e.id) > (${from.tx.toString()}::xid8, ${from.id.toString()}::bigint)
        order by e.tx desc, e.id desc limit 1
      ), false) as held
    `);
    return rowsOf<{ held: boolean }>(result)[0]?.held === true;
  },

  /** The `limit` events before `before` (or the newest), oldest first, among those that can no longer change. */
  async before(db: Db, before: Position | undefined, limit: number, s: EventSelection = {}): Promise<EventRecord[]> {
    const result = await db.execute(sql`
      select ${columns(s)} from events e
      where e.tx < ${HORIZON} ${before ? sql`and (e.tx, e.id) < (${before.tx.toString()}::xid8, ${before.id.toString()}::bigint)` : sql``} ${selection(s)}
      order by e.tx desc, e.id desc
      limit ${limit}
    `);
    return rowsOf<Row>(result).map(toRecord).reverse();
  },

  /**
   * The current snapshot's bounds: `horizon` (transactions of this database
   * below it have all ended); `xmax`, the first transaction id not yet given out.
   */
  async horizon(db: Db): Promise<{ horizon: bigint; xmax: bigint }> {
    const result = await db.execute(sql`
      select (${sql.raw(HORIZON_OF('s'))})::text as horizon, pg_snapshot_xmax(s)::text as xmax from pg_current_snapshot() as s
    `);
    const [row] = rowsOf<{ horizon: string; xmax: string }>(result);
    return { horizon: BigInt(row.horizon), xmax: BigInt(row.xmax) };
  },

  /** The highest id ever given to an event (0 for none). */
  async maxId(db: Db): Promise<bigint> {
    const result = await db.execute(sql`select coalesce(max(id), 0)::text as id from events`);
    return BigInt(rowsOf<{ id: string }>(result)[0].id);
  },

  /** The newest position a reader may take; the origin for an empty log. */
  async head(db: Db): Promise<Position> {
    const [record] = await this.before(db, undefined, 1);
    return record?.position ?? { tx: 0n, id: 0n };
  },
};
