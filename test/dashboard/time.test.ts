import { describe, expect, it } from 'vitest';
import { formatAgo, formatSpan, formatUntil } from '../../dashboard/src/lib/time';

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
