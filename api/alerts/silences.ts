import type { SilenceRow } from './alerts.table';
import type { Matcher, WeeklySchedule } from './alerts.types';
import { alertLabels, matchesAll } from './labels';
import type { Alert } from './alerts.types';

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/**
 * Formatters by time zone, the most recently used last. Bounded: a time zone is any
 * string Intl accepts (in any letter case, `Etc/GMT+5`, offsets), so an unbounded cache
 * would grow with every spelling a client sends.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
export const MAX_CACHED_TIMEZONES = 64;
function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (f) formatters.delete(timezone);
  else f = new Intl.DateTimeFormat('en-US', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  formatters.set(timezone, f);
  if (formatters.size > MAX_CACHED_TIMEZONES) formatters.delete(formatters.keys().next().value!);
  return f;
}

/** How many time zones' formatters are cached now (at most MAX_CACHED_TIMEZONES). */
export const cachedTimezones = () => formatters.size;

/** The weekday (0 = Sunday) and minute of the day of an instant, in a time zone. */
export function localTime(at: Date, timezone: string): { day: number; minute: number } {
  const parts = Object.fromEntries(formatter(timezone).formatToParts(at).map((p) => [p.type, p.value]));
  return { day: WEEKDAYS[parts.weekday], minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

export function isValidTimezone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether an instant falls in one of the schedule's windows; a window whose end is not
 * after its start runs past midnight, so one whose end equals its start lasts 24 hours
 * (00:00 to 00:00: the whole day).
 */
export function inWindow(s: WeeklySchedule, at: Date): boolean {
  const { day, minute } = localTime(at, s.timezone);
  const start = minutes(s.start);
  const end = minutes(s.end);
  if (start < end) return s.days.includes(day) && minute >= start && minute < end;
  return (s.days.includes(day) && minute >= start) || (s.days.includes((day + 6) % 7) && minute < end);
}

export function isActive(s: Pick<SilenceRow, 'startsAt' | 'endsAt' | 'schedule'>, at: Date): boolean {
  if (s.startsAt > at || (s.endsAt !== null && s.endsAt <= at)) return false;
  return s.schedule === null || inWindow(s.schedule, at);
}

/** The ids of the silences (active ones, as given) that mute an alert, sorted. */
export function silencesOf(alert: Pick<Alert, 'ruleName' | 'ruleId' | 'severity' | 'agent' | 'labels'>, active: { id: string; matchers: Matcher[] }[]): string[] {
  if (active.length === 0) return [];
  const labels = alertLabels(alert);
  return active
    .filter((s) => matchesAll(s.matchers, labels, alert.agent.tags, alert.agent.metadata))
    .map((s) => s.id)
    .sort();
}

export const sameIds = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
