import { describe, expect, it } from 'vitest';
import { formatAbsolute, formatAgo, formatClock, formatIso, formatSpan, formatUntil } from '../../dashboard/src/lib/time';
import { TimePrefs } from '../../dashboard/src/lib/time-prefs.svelte';

const now = Date.parse('2025-06-01T12:00:00.000Z');
const ago = (ms: number) => new Date(now - ms).toISOString();

describe('relative time', () => {
  it('reads seconds, minutes, hours and days in short units', () => {
    expect(formatSpan(12_400)).toBe('12 s');
    expect(formatSpan(59_999)).toBe('59 s');
    expect(formatSpan(60_000)).toBe('1 min');
    expect(formatSpan(3_599_000)).toBe('59 min');
    expect(formatSpan(2 * 3600_000 + 5)).toBe('2 h');
    expect(formatSpan(3 * 86400_000)).toBe('3 d');
  });

  it('a last heartbeat 12 s back reads "12 s ago"', () => {
    expect(formatAgo(ago(12_000), now)).toBe('12 s ago');
  });

  it('under a second, or slightly in the future from clock skew, reads "just now"', () => {
    expect(formatAgo(ago(300), now)).toBe('just now');
    expect(formatAgo(ago(-2_000), now)).toBe('just now');
  });

  it('a missing heartbeat reads "never", a broken timestamp a dash', () => {
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo('not a date', now)).toBe('—');
  });

  it('time left before offline counts down and then says how overdue it is', () => {
    expect(formatUntil(ago(-25_000), now)).toBe('in 25 s');
    expect(formatUntil(ago(0), now)).toBe('now');
    expect(formatUntil(ago(90_000), now)).toBe('1 min overdue');
    expect(formatUntil(null, now)).toBe('—');
  });

  it('accepts epoch numbers and Date objects as well as ISO strings', () => {
    expect(formatAgo(now - 5_000, now)).toBe('5 s ago');
    expect(formatAgo(new Date(now - 5_000), now)).toBe('5 s ago');
  });
});

describe('absolute time', () => {
  it('ISO in UTC ends in Z; in local time it carries the offset', () => {
    expect(formatIso('2025-06-01T12:00:05.250Z', 'utc')).toBe('2025-06-01T12:00:05Z');
    const local = formatIso('2025-06-01T12:00:05Z');
    expect(local).toMatch(/^2025-06-0[12]T\d\d:\d\d:05([+-]\d\d:\d\d)$/);
    expect(Date.parse(local)).toBe(Date.parse('2025-06-01T12:00:05Z'));
    expect(formatIso(null)).toBe('');
  });

  it('reads the clock time today and the date and minute on another day', () => {
    expect(formatAbsolute(ago(3_600_000), now, 'utc')).toBe('11:00:00 UTC');
    expect(formatAbsolute(ago(2 * 86_400_000), now, 'utc')).toBe('2025-05-30 12:00 UTC');
    expect(formatAbsolute(null, now, 'utc')).toBe('never');
    expect(formatClock(now, 'utc')).toBe('12:00:00 UTC');
  });

  it('the relative / local / UTC choice cycles and is remembered', () => {
    localStorage.removeItem('agent-monitor.time');
    const prefs = new TimePrefs();
    expect(prefs.mode).toBe('relative');
    expect(prefs.ago(ago(12_000), now)).toBe('12 s ago');
    prefs.cycle();
    prefs.cycle();
    expect(prefs.mode).toBe('utc');
    expect(prefs.ago(ago(12_000), now)).toBe('11:59:48 UTC');
    expect(prefs.until(ago(-25_000), now)).toBe('12:00:25 UTC');
    expect(prefs.iso(now)).toBe('2025-06-01T12:00:00Z');
    expect(new TimePrefs().mode).toBe('utc');
    localStorage.removeItem('agent-monitor.time');
  });
});
