import { badInput } from '../errors';

/**
 * A place in the event log. Events are ordered by the id of the transaction that wrote
 * them, then by their own id: a total order every reader agrees on. Readers only take
 * events whose transaction id is below the oldest transaction of this database still
 * running (HORIZON in events.store.ts), so no event can later appear before one already
 * read, however the writers' commits interleave.
 */
export interface Position {
  /** pg_current_xact_id() of the writing transaction (xid8). */
  tx: bigint;
  id: bigint;
}

export const ORIGIN: Position = { tx: 0n, id: 0n };

export const isAfter = (a: Position, b: Position) => a.tx > b.tx || (a.tx === b.tx && a.id > b.id);

/** The cursor clients hold: opaque to them, `<tx>:<id>` to us. */
export const cursorOf = (p: Position) => `${p.tx}:${p.id}`;

const MAX_XID8 = 2n ** 64n - 1n;
const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * A cursor a client sent back. A bare number is a cursor from before transaction ids
 * were part of it: those events were carried over with transaction id 0, so it still
 * resumes exactly where it left off.
 */
export function parseCursor(raw: unknown, path = 'after'): Position | undefined {
  if (raw === undefined || raw === null) return undefined;
  const bad = () => badInput({ [path]: 'must be a cursor from an earlier event' });
  if (typeof raw !== 'string') throw bad();
  const m = /^(?:(\d{1,20}):)?(\d{1,19})$/.exec(raw);
  if (!m) throw bad();
  const tx = m[1] === undefined ? 0n : BigInt(m[1]);
  const id = BigInt(m[2]);
  if (tx > MAX_XID8 || id > MAX_BIGINT) throw bad();
  return { tx, id };
}
