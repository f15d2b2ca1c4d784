import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../api/db';
import type { EventLog } from '../../api/events/events.log';
import type { LivenessStore } from '../../api/liveness/liveness.store';
import type { LivenessPolicy } from '../../api/liveness/policy';
import { OfflineSweeper } from '../../api/liveness/sweeper';

/**
 * When the sweeper wakes, against fake timers and an in-memory fleet: the sweeper's own
 * scheduling, with every moment chosen. (Against a real server and database:
 * liveness-deadline.timing.test.ts.)
 */
const INTERVAL = 1_000;
let start: number;

/** Agents by id with their deadlines (ms after `start`); when each went offline. */
function fleet(deadlines: Record<string, number>, opts: { clock?: () => Date } = {}) {
  const offlineAt: Record<string, number> = {};
  let sweeps = 0;
  const tx = {} as Db;
  const due = (now: Date, until: Date, limit: number) => {
    const open = Object.entries(deadlines).filter(([id]) => !(id in offlineAt));
    const ids = open.filter(([, ms]) => start + ms <= now.getTime()).map(([id]) => id).slice(0, limit);
    const ahead = open.map(([, ms]) => start + ms).filter((at) => at > now.getTime() && at <= until.getTime());
    return { ids, next: ahead.length ? new Date(Math.min(...ahead)) : null };
  };
  const store: Partial<LivenessStore> = {
    due: async (_tx, now, until, limit) => (sweeps++, due(now, until, limit)),
    markSweep: async () => ({ gapMs: 0 }),
    markOffline: async (_tx, ids, now) => {
      const claimed = ids.filter((id) => start + deadlines[id] <= now.getTime());
      for (const id of claimed) offlineAt[id] = Date.now() - start;
      return claimed.length;
    },
  };
  const events: Partial<EventLog> = {
    transaction: async (work) => work(tx),
    lockSubjects: async (_tx, _kind, ids) => ids,
    appendWith: async (_tx, _subjects, write) => write(new Date()),
  };
  const sweeper = new OfflineSweeper({
    events: events as EventLog,
    store: store as LivenessStore,
    policy: { isOutage: () => false } as Partial<LivenessPolicy> as LivenessPolicy,
    clock: { now: opts.clock ?? (() => new Date()) },
    intervalMs: INTERVAL,
    onError: (err) => {
      throw err;
    },
  });
  return { sweeper, offlineAt, sweeps: () => sweeps };
}

beforeEach(() => {
  vi.useFakeTimers();
  start = Date.now();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the offline sweeper wakes on deadlines', () => {
  it('marks an agent offline on its deadline between ticks', async () => {
    const { sweeper, offlineAt } = fleet({ a: 1_500 });
    sweeper.start();
    await vi.advanceTimersByTimeAsync(1_600);
    expect(offlineAt.a).toBe(1_501);
    await sweeper.stop();
  });

  it('keeps a deadline it aimed at when a regular tick comes before it', async () => {
    // Woken at 1 501 for a, the sweep aims at b (2 300); the tick at 2 000 comes first
    // and finds b ahead again.
    const { sweeper, offlineAt } = fleet({ a: 1_500, b: 2_300 });
    sweeper.start();
    await vi.advanceTimersByTimeAsync(3_500);
    expect(offlineAt).toEqual({ a: 1_501, b: 2_301 });
    await sweeper.stop();
  });

  it('wakes for nothing at most once per tick while its clock stands still short of the deadline', async () => {
    const frozen = new Date(Date.now() + 500);
    const { sweeper, offlineAt, sweeps } = fleet({ a: 900 }, { clock: () => frozen });
    sweeper.start();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL + 100);
    expect(offlineAt).toEqual({});
    expect(sweeps()).toBeGreaterThanOrEqual(10);
    expect(sweeps()).toBeLessThanOrEqual(20);
    await sweeper.stop();
  });
});
