import type { AlertTimelineEntry } from './alert-documents';
import type { Delivery } from './notification-documents';

const TITLES: Record<AlertTimelineEntry['type'], string> = {
  PENDING: 'Pending',
  FIRING: 'Firing',
  CLEARING: 'Condition cleared',
  RESOLVED: 'Resolved',
  ACKNOWLEDGED: 'Acknowledged',
  UNACKNOWLEDGED: 'Unacknowledged',
  SILENCED: 'Silenced',
  UNSILENCED: 'Unsilenced',
  FLAPPING: 'Flapping',
  STABLE: 'Stable again',
  UPDATED: 'Updated',
};

/** One step of an alert's life as a line: what happened and who did it. */
export function alertEventTitle(e: Pick<AlertTimelineEntry, 'type' | 'by'>): string {
  const title = TITLES[e.type] ?? e.type.toLowerCase();
  return e.by ? `${title} by ${e.by}` : title;
}

/** The words that go with it: the operator's comment, else the server's reason. */
export function alertEventDetail(e: Pick<AlertTimelineEntry, 'comment' | 'reason'>): string {
  if (e.comment) return `“${e.comment}”`;
  return e.reason ?? '';
}

/** A delivery's last attempt in a few words: "200 in 12 ms", "timeout", or "not tried yet". */
export function deliveryOutcome(d: Pick<Delivery, 'attempts'>): string {
  const last = d.attempts[d.attempts.length - 1];
  if (!last) return 'not tried yet';
  const what = last.statusCode !== null ? `${last.statusCode}` : last.errorClass.replace(/_/g, ' ');
  return `${what} in ${last.durationMs} ms${last.error && last.errorClass !== 'ok' ? ` (${last.error})` : ''}`;
}

/** Appends live events to a timeline read earlier, skipping any it already holds (a resumed stream replays from its cursor). */
export function appendEvents<T extends { cursor: string }>(timeline: readonly T[], events: readonly T[]): T[] {
  const seen = new Set(timeline.map((e) => e.cursor));
  const fresh = events.filter((e) => !seen.has(e.cursor) && seen.add(e.cursor));
  return fresh.length === 0 ? [...timeline] : [...timeline, ...fresh];
}
