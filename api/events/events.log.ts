import type { Clock } from '../clock';
import type { Db } from '../db';
import type { EventBus } from './bus';
import { eventStore } from './events.store';
import type { EventDraft, EventRecord, EventSelection } from './events.types';
import { isAfter, type Position } from './position';

/** Longest a history read waits for writers that were running when it was asked for. */
const SETTLE_MS = 1_000;

/**
 * The event log as the domains use it: append inside a transaction, signal the
 * replicas once it has committed, read back in log order.
 */
export class EventLog {
  /** Transactions that appended, so `transaction` knows to signal after their commit. */
  private readonly appended = new WeakSet<Db>();
  /** The subjects each transaction holds the lock of, or created. */
  private readonly held = new WeakMap<Db, Set<string>>();

  constructor(
    private readonly db: Db,
    readonly bus: EventBus,
    private readonly clock: Clock,
  ) {}

  /**
   * Runs `work` in a transaction and, once it has committed, wakes the readers of the
   * log if it appended anything. Writers never wait on one another here: the order of
   * the log comes from transaction ids, not from a lock.
   */
  async transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    let signal = false;
    const result = await this.db.transaction(async (tx) => {
      const value = await work(tx);
      signal = this.appended.has(tx);
      return value;
    });
    if (signal) this.bus.signal();
    return result;
  }

  /**
   * Runs `write`: one statement, committed on its own (one round trip, no transaction
   * around it), that creates subjects and appends their events, built in the database
   * from the rows it writes; then wakes the readers. A subject the statement creates
   * needs no lock, as no other transaction can know it yet; an existing one would, so
   * such a statement appends events about the subjects it creates only.
   */
  async createWith<T>(write: (db: Db, at: Date) => Promise<T>): Promise<T> {
    const result = await write(this.db, this.clock.now());
    this.bus.signal();
    return result;
  }

  /**
   * Locks subjects for the rest of `tx`; call it before the transaction writes anything.
   *
   * The log is ordered by the id of each writing transaction, and a transaction gets its
   * id at its first write. Two transactions that change the same subject must therefore
   * take their ids in the order they change it, or its events could be read in the wrong
   * order: one that got its id early, then waited for a row the other one held, would
   * come first though its change came second. A lock taken before the first write makes
   * the second writer get its id only after the first has committed. (Subjects share
   * a bounded set of lock buckets, so a transaction holds a bounded number of locks.)
   *
   * With `skipLocked`, subjects that another transaction holds are passed over; the ids
   * locked are returned.
   */
  async lockSubjects(tx: Db, kind: string, ids: string[], opts: { skipLocked?: boolean } = {}): Promise<string[]> {
    const locked = await eventStore.lockSubjects(tx, kind, ids, opts.skipLocked ?? false);
    this.hold(tx, kind, locked);
    return locked;
  }

  /** Declares a subject `tx` creates: no other transaction can know it yet, so it needs no lock. */
  created(tx: Db, kind: string, id: string): void {
    this.hold(tx, kind, [id]);
  }

  private hold(tx: Db, kind: string, ids: string[]): void {
    let set = this.held.get(tx);
    if (!set) this.held.set(tx, (set = new Set()));
    for (const id of ids) set.add(`${kind}:${id}`);
  }

  /**
   * Appends events in `tx`, a transaction opened by `transaction`, timestamped by the
   * server's clock. Each event's subject must be locked (or created) in `tx`. Returns
   * their ids, in the drafts' order.
   */
  async append(tx: Db, drafts: EventDraft[]): Promise<bigint[]> {
    if (drafts.length === 0) return [];
    return this.appendWith(tx, drafts, (at) => eventStore.insert(tx, at, drafts));
  }

  /**
   * Appends events about `subjects` with a statement of the subject's domain (`write`,
   * given the time to stamp them with), for events best built in the database, from
   * the rows they are about. The same rules as `append` hold. With no subjects there is
   * nothing to append events about: `write` runs, and the transaction wakes no reader
   * (the sweeper's every turn would, several times a second, with most finding nobody due).
   */
  async appendWith<T>(tx: Db, subjects: { kind: string; subjectId: string }[], write: (at: Date) => Promise<T>): Promise<T> {
    if (subjects.length === 0) return write(this.clock.now());
    const held = this.held.get(tx);
    const loose = subjects.find((d) => !held?.has(`${d.kind}:${d.subjectId}`));
    if (loose) throw new Error(`event about ${loose.kind} ${loose.subjectId} appended without locking it first (EventLog.lockSubjects)`);
    const result = await write(this.clock.now());
    this.appended.add(tx);
    return result;
  }

  after(from: Position, limit: number, selection?: EventSelection, db: Db = this.db): Promise<EventRecord[]> {
    return eventStore.after(db, from, limit, selection);
  }

  /**
   * The events before a position (or the newest), for history. It first waits, up to
   * `SETTLE_MS`, for the transactions running when it was called to end: so a client that
   * wrote something and then reads the log finds its write, even when an older writer
   * was still holding the events behind it back.
   */
  async before(before: Position | undefined, limit: number, selection?: EventSelection): Promise<EventRecord[]> {
    await this.settle();
    return eventStore.before(this.db, before, limit, selection);
  }

  private async settle(): Promise<void> {
    const { horizon, xmax } = await eventStore.horizon(this.db);
    if (horizon >= xmax) return;
    const until = Date.now() + SETTLE_MS;
    for (let delay = 1; Date.now() < until; delay = Math.min(delay * 2, 20)) {
      await new Promise((r) => setTimeout(r, delay));
      if ((await eventStore.horizon(this.db)).horizon >= xmax) return;
    }
  }

  heldBack(from: Position): Promise<boolean> {
    return eventStore.heldBack(this.db, from);
  }

  head(): Promise<Position> {
    return eventStore.head(this.db);
  }

  /**
   * Whether a position lies beyond anything the log has given out, as a cursor from a
   * database since recreated would. A cursor of a carried-over event (transaction id 0)
   * is beyond when no event ever had its id.
   */
  async isAhead(p: Position): Promise<boolean> {
    if (p.tx === 0n) return p.id > (await eventStore.maxId(this.db));
    return isAfter(p, await this.head());
  }
}
