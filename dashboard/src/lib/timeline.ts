/** Minimal shape of a timeline entry; cursors are opaque but unique per event. */
export interface TimelineEntry {
  cursor: string;
}

export const TIMELINE_LIMIT = 500;

/**
 * Appends live events to a timeline (oldest first). A resumed subscription replays from
 * the last cursor it saw and graphql-ws may re-send a subscription on reconnect, so the
 * same event can arrive twice: duplicates by cursor are dropped.
 */
export function appendEvents<E extends TimelineEntry>(timeline: readonly E[], incoming: readonly E[], limit = TIMELINE_LIMIT): E[] {
  if (incoming.length === 0) return timeline as E[];
  const seen = new Set(timeline.map((e) => e.cursor));
  const next = [...timeline];
  for (const e of incoming) {
    if (seen.has(e.cursor)) continue;
    seen.add(e.cursor);
    next.push(e);
  }
  return next.length > limit ? next.slice(next.length - limit) : next;
}

/** Puts an older page (from `agentEventLog(before:)`) in front, dropping overlaps. */
export function prependEvents<E extends TimelineEntry>(timeline: readonly E[], older: readonly E[]): E[] {
  const seen = new Set(timeline.map((e) => e.cursor));
  return [...older.filter((e) => !seen.has(e.cursor)), ...timeline];
}

/** The cursor to resume from: the newest event we hold. */
export function lastCursor(timeline: readonly TimelineEntry[]): string | null {
  return timeline.length ? timeline[timeline.length - 1].cursor : null;
}
