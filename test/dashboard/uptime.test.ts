import { describe, expect, it } from 'vitest';
import { formatUptime, statusHistory, type StatusEvent } from '../../dashboard/src/lib/uptime';

const now = Date.parse('2025-06-02T12:00:00Z');
const H = 3_600_000;
const DAY = 24 * H;
const at = (msAgo: number) => new Date(now - msAgo).toISOString();
const change = (msAgo: number, previousStatus: StatusEvent['status'], status: StatusEvent['status']): StatusEvent => ({
  at: at(msAgo),
  type: 'STATUS_CHANGED',
  previousStatus,
  status,
});

describe('status history and uptime', () => {
  it('an agent online all day with no change is 100 % up', () => {
    const h = statusHistory([], 'ONLINE', { now, spanMs: DAY, createdAt: at(3 * DAY), complete: true });
    expect(h.segments).toEqual([{ from: now - DAY, to: now, status: 'ONLINE' }]);
    expect(h.uptime).toBe(1);
    expect(formatUptime(h.uptime)).toBe('100 %');
  });

  it('offline for the last 6 h of the day reads 75 %, with the timeline split there', () => {
    const events = [change(30 * H, 'OFFLINE', 'ONLINE'), change(6 * H, 'ONLINE', 'OFFLINE')];
    const h = statusHistory(events, 'OFFLINE', { now, spanMs: DAY, createdAt: at(3 * DAY), complete: true });
    expect(h.segments.map((s) => [s.status, (s.to - s.from) / H])).toEqual([
      ['ONLINE', 18],
      ['OFFLINE', 6],
    ]);
    expect(formatUptime(h.uptime)).toBe('75.0 %');
  });

  it('degraded counts as up; the status before the first change is its previous status', () => {
    const events = [change(12 * H, 'DEGRADED', 'ONLINE')];
    const h = statusHistory(events, 'ONLINE', { now, spanMs: DAY, createdAt: at(3 * DAY), complete: true });
    expect(h.segments.map((s) => s.status)).toEqual(['DEGRADED', 'ONLINE']);
    expect(h.uptime).toBe(1);
  });

  it('time before registration, or before the oldest event held, is unknown and left out', () => {
    const young = statusHistory([], 'ONLINE', { now, spanMs: DAY, createdAt: at(6 * H), complete: true });
    expect(young.segments[0]).toEqual({ from: now - DAY, to: now - 6 * H, status: 'UNKNOWN' });
    expect(young.uptime).toBe(1);
    expect(young.known).toBeCloseTo(0.25);

    const partial = statusHistory([change(2 * H, 'ONLINE', 'OFFLINE')], 'OFFLINE', { now, spanMs: 7 * DAY, createdAt: at(30 * DAY), complete: false });
    expect(partial.segments.map((s) => s.status)).toEqual(['UNKNOWN', 'OFFLINE']);
    expect(partial.uptime).toBe(0);
  });

  it('ignores other events and changes in the future', () => {
    const h = statusHistory(
      [{ at: at(H), type: 'TAGS_CHANGED', previousStatus: null, status: null }, change(-H, 'ONLINE', 'OFFLINE')],
      'ONLINE',
      { now, spanMs: DAY, createdAt: at(3 * DAY), complete: true },
    );
    expect(h.segments.map((s) => s.status)).toEqual(['ONLINE']);
    expect(formatUptime(null)).toBe('—');
  });
});
