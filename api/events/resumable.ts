import { AppError, badInput } from '../errors';
import { Gate } from '../gate';
import { Channel } from './channel';
import type { EventLog } from './events.log';
import type { EventRecord } from './events.types';
import type { EventFeed } from './feed';
import { cursorOf, isAfter, parseCursor, type Position } from './position';

const REPLAY_PAGE = 500;
/** Undelivered events a subscriber may fall behind by before its stream is ended. */
const MAX_BACKLOG = 10_000;
/** Replay pages read from one log at once: a hundred replays must not take every connection of the pool. */
const CONCURRENT_PAGE_READS = 2;

const pageReads = new WeakMap<EventLog, Gate>();
const pageGate = (log: EventLog) => {
  let gate = pageReads.get(log);
  if (!gate) pageReads.set(log, (gate = new Gate(CONCURRENT_PAGE_READS)));
  return gate;
};

export interface ResumableOptions<T> {
  feed: EventFeed;
  log: EventLog;
  /** The subject kind replayed from the log. */
  kind: string;
  /** A cursor as the client sent it: replay every later event first. None: live only. */
  after?: unknown;
  /** Turns a record into what the subscriber receives; null skips it (another kind, or filtered out). */
  select(record: EventRecord): T | null;
  /** Events per replayed page, read when each page is (tests make it small). */
  replayPage?: () => number;
  /** Called after each replayed page, before the next one is read: a seam for tests to commit events mid-replay. */
  onReplayPage?: () => Promise<void> | undefined;
}

/**
 * A live, resumable view of one kind of event: every event after `after` (replayed from
 * the log), then live ones. The live subscription is taken before the replay starts,
 * events that arrive meanwhile are held, and both are in log order with a position that
 * only moves forward, so nothing falls between them and nothing is delivered twice. A
 * subscriber more than MAX_BACKLOG events behind (delivered or held) is ended with
 * RATE_LIMITED and the cursor to resume from.
 *
 * The replay reads its next page only once the subscriber has taken the last one, stops
 * when the stream ends, and waits its turn for the log (CONCURRENT_PAGE_READS): a client
 * that opens a hundred replays and stops reading holds a page each, not the database.
 */
export function resumableStream<T>(opts: ResumableOptions<T>): Channel<T> {
  const after = parseCursor(opts.after);
  let position: Position = after ?? opts.feed.current;
  let replaying = after !== undefined;
  const held: EventRecord[] = [];

  const deliver = (record: EventRecord) => {
    if (!isAfter(record.position, position)) return;
    position = record.position;
    const item = opts.select(record);
    if (item !== null) channel.push(item);
  };
  const behind = () => new AppError('RATE_LIMITED', `subscriber fell more than ${MAX_BACKLOG} events behind; subscribe again with after: "${cursorOf(position)}"`);
  const unsubscribe = opts.feed.subscribe((e) => {
    if (!replaying) deliver(e);
    else if (held.length < MAX_BACKLOG) held.push(e);
    else channel.fail(behind());
  });
  const channel = new Channel<T>(MAX_BACKLOG, unsubscribe, behind);

  if (replaying) {
    void (async () => {
      // A cursor past the end of the log (say, from a database since recreated) would
      // otherwise wait in silence until the log caught up with it.
      if (await opts.log.isAhead(position)) {
        throw badInput({ after: 'is ahead of the newest event; subscribe without it, or with a cursor you received' });
      }
      const gate = pageGate(opts.log);
      for (;;) {
        const size = opts.replayPage?.() ?? REPLAY_PAGE;
        const page = await gate.run(() => opts.log.after(position, size, { kind: opts.kind }));
        if (channel.isClosed) return;
        page.forEach(deliver);
        await opts.onReplayPage?.();
        if (page.length < size) break;
        await channel.drained();
        if (channel.isClosed) return;
      }
      replaying = false;
      held.splice(0).forEach(deliver);
    })().catch((err) => channel.fail(err));
  }
  return channel;
}
