/**
 * Compact relative times for dense tables: "12 s ago", "in 25 s". Units stay short and
 * stable so a column ticking every second does not jitter in width.
 */
const UNITS: ReadonlyArray<[limit: number, size: number, label: string]> = [
  [60, 1, 's'],
  [3600, 60, 'min'],
  [86400, 3600, 'h'],
  [Infinity, 86400, 'd'],
];

function toMillis(value: string | number | Date): number {
  if (typeof value === 'number') return value;
  if (value instanceof Date) return value.getTime();
  return Date.parse(value);
}

/** "12 s" / "3 min" / "2 h" / "4 d" for a non-negative span in milliseconds. */
export function formatSpan(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  for (const [limit, size, label] of UNITS) {
    if (seconds < limit) return `${Math.floor(seconds / size)} ${label}`;
  }
  return `${seconds} s`;
}

/** How long ago a past instant was; a slightly future instant (clock skew) reads "just now". */
export function formatAgo(at: string | number | Date | null | undefined, now: number): string {
  if (at === null || at === undefined) return 'never';
  const t = toMillis(at);
  if (Number.isNaN(t)) return '—';
  const diff = now - t;
  if (diff < 1000) return 'just now';
  return `${formatSpan(diff)} ago`;
}

/** Time until a future instant; past instants say how long they are overdue. */
export function formatUntil(at: string | number | Date | null | undefined, now: number): string {
  if (at === null || at === undefined) return '—';
  const t = toMillis(at);
  if (Number.isNaN(t)) return '—';
  const diff = t - now;
  if (diff >= 1000) return `in ${formatSpan(diff)}`;
  if (diff > -1000) return 'now';
  return `${formatSpan(-diff)} overdue`;
}

/** Exact timestamp for title attributes (ISO, local zone with its offset), one hover away. */
export function formatExact(at: string | null | undefined): string {
  if (!at) return '';
  return formatIso(at) || at;
}

export type TimeZoneChoice = 'local' | 'utc';

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

function parts(d: Date, zone: TimeZoneChoice) {
  const utc = zone === 'utc';
  return {
    y: utc ? d.getUTCFullYear() : d.getFullYear(),
    mo: (utc ? d.getUTCMonth() : d.getMonth()) + 1,
    d: utc ? d.getUTCDate() : d.getDate(),
    h: utc ? d.getUTCHours() : d.getHours(),
    mi: utc ? d.getUTCMinutes() : d.getMinutes(),
    s: utc ? d.getUTCSeconds() : d.getSeconds(),
  };
}

function toDate(at: string | number | Date | null | undefined): Date | null {
  if (at === null || at === undefined) return null;
  const d = new Date(toMillis(at));
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * ISO 8601 with the zone spelled out: `2025-06-01T14:00:00+02:00` in local time,
 * `2025-06-01T12:00:00Z` in UTC. What tooltips and the agent page show.
 */
export function formatIso(at: string | number | Date | null | undefined, zone: TimeZoneChoice = 'local'): string {
  const d = toDate(at);
  if (!d) return '';
  const p = parts(d, zone);
  const base = `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
  if (zone === 'utc') return `${base}Z`;
  const offset = -d.getTimezoneOffset();
  return `${base}${offset >= 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** "HH:MM:SS" in the chosen zone ("… UTC" when UTC): the "as of" of stale data. */
export function formatClock(at: string | number | Date | null | undefined, zone: TimeZoneChoice = 'local'): string {
  const d = toDate(at);
  if (!d) return '—';
  const p = parts(d, zone);
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${zone === 'utc' ? ' UTC' : ''}`;
}

/** An absolute time for a table cell: the clock time today, the date and minute otherwise. */
export function formatAbsolute(at: string | number | Date | null | undefined, now: number, zone: TimeZoneChoice = 'local'): string {
  const d = toDate(at);
  if (!d) return at === null || at === undefined ? 'never' : '—';
  const p = parts(d, zone);
  const today = parts(new Date(now), zone);
  const suffix = zone === 'utc' ? ' UTC' : '';
  if (p.y === today.y && p.mo === today.mo && p.d === today.d) return formatClock(d, zone);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:${pad(p.mi)}${suffix}`;
}
