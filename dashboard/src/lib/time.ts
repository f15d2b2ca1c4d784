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

/** Full local timestamp for title attributes, so the exact time is one hover away. */
export function formatExact(at: string | null | undefined): string {
  if (!at) return '';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString();
}
