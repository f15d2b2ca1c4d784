import { describe, expect, it } from 'vitest';
import type { EventLog } from '../../api/events/events.log';
import type { EventRecord } from '../../api/events/events.types';
import type { EventFeed } from '../../api/events/feed';
import { cursorOf, isAfter, type Position } from '../../api/events/position';
import { resumableStream } from '../../api/events/resumable';

/**
 * The replay of a resumable stream against a log and a feed held in memory: it reads as
 * fast as its subscriber takes events, no faster; it stops when the stream ends; a few
 * replays at once take turns at the log; live events held behind a replay are bounded.
 */
const record = (id: number): EventRecord => {
  const position = { tx: 1n, id: BigInt(id) };
  return { position, cursor: cursorOf(position), kind: 'agent', subjectId: `s${id}`, type: 'updated', at: new Date(0), payload: { id } };
};

function fakeLog(events: number, delayMs = 0) {
  const all = Array.from({ length: events }, (_, i) => record(i + 1));
  const stats = { reads: 0, running: 0, mostAtOnce: 0 };
  const log = {
    isAhead: async () => false,
    after: async (p: Position, size: number) => {
      stats.reads++;
      stats.running++;
      stats.mostAtOnce = Math.max(stats.mostAtOnce, stats.running);
      await new Promise((r) => setTimeout(r, delayMs));
      stats.running--;
      return all.filter((e) => isAfter(e.position, p)).slice(0, size);
    },
  } as unknown as EventLog;
  return { log, stats };
}

function fakeFeed() {
  const listeners = new Set<(e: EventRecord) => void>();
  const feed = {
    current: { tx: 0n, id: 0n },
    subscribe: (l: (e: EventRecord) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as EventFeed;
  return { feed, emit: (e: EventRecord) => listeners.forEach((l) => l(e)), listeners };
}

const settle = () => new Promise((r) => setTimeout(r, 30));
const PAGE = 10;

describe('resumable replay', () => {
  it('reads the next page only once the subscriber has taken the last', async () => {
    const { log, stats } = fakeLog(100);
    const { feed } = fakeFeed();
    const stream = resumableStream({ feed, log, kind: 'agent', after: '0:0', select: (r) => r, replayPage: () => PAGE });
    await settle();
    expect(stats.reads).toBe(1);
    for (let i = 0; i < PAGE - 1; i++) await stream.next();
    await settle();
    expect(stats.reads).toBe(1);
    await stream.next();
    await settle();
    expect(stats.reads).toBe(2);
    // Read to the end: every event once, in order.
    const ids: number[] = [];
    for (let i = 0; i < 100 - PAGE; i++) ids.push(Number((await stream.next()).value!.position.id));
    expect(ids).toEqual(Array.from({ length: 90 }, (_, i) => i + PAGE + 1));
    await stream.return!();
  });

  it('stops reading once the stream has ended, and lets go of the feed', async () => {
    const { log, stats } = fakeLog(100);
    const { feed, listeners } = fakeFeed();
    const stream = resumableStream({ feed, log, kind: 'agent', after: '0:0', select: (r) => r, replayPage: () => PAGE });
    await settle();
    for (let i = 0; i < PAGE; i++) await stream.next();
    await stream.return!();
    await settle();
    const reads = stats.reads;
    await settle();
    expect(stats.reads).toBe(reads);
    expect(reads).toBeLessThanOrEqual(2);
    expect(listeners.size).toBe(0);
  });

  it('lets replays take turns at the log, two pages at a time', async () => {
    const { log, stats } = fakeLog(50, 5);
    const { feed } = fakeFeed();
    const streams = Array.from({ length: 8 }, () => resumableStream({ feed, log, kind: 'agent', after: '0:0', select: (r) => r, replayPage: () => PAGE }));
    await Promise.all(streams.map(async (s) => {
      for (let i = 0; i < 50; i++) await s.next();
    }));
    expect(stats.mostAtOnce).toBe(2);
    await Promise.all(streams.map((s) => s.return!()));
  });

  it('ends a stream whose replay waits on its subscriber while more than 10 000 live events are held', async () => {
    const { log } = fakeLog(30);
    const { feed, emit } = fakeFeed();
    const stream = resumableStream({ feed, log, kind: 'agent', after: '0:0', select: (r) => r, replayPage: () => PAGE });
    await settle();
    for (let i = 0; i <= 10_000; i++) emit(record(1000 + i));
    await expect((async () => {
      for (;;) await stream.next();
    })()).rejects.toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/subscribe again with after: "1:10"/) });
  });
});
