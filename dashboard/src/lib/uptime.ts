import type { AgentStatus } from './types';

/** What the status history needs of an event (AgentEventEntry has more). */
export interface StatusEvent {
  at: string;
  type: string;
  previousStatus: AgentStatus | null;
  status: AgentStatus | null;
}

export type SegmentStatus = AgentStatus | 'UNKNOWN';
export interface Segment {
  from: number;
  to: number;
  status: SegmentStatus;
}

export interface StatusHistory {
  segments: Segment[];
  /** Share of the known time spent online or degraded (up), 0..1; null when nothing is known. */
  uptime: number | null;
  /** Share of the window the history covers (less when the agent is newer or the log ends). */
  known: number;
}

/**
 * An agent's status over [now - spanMs, now], from its status changes (any order) and its
 * status now. Before the agent existed, or before the oldest event we hold when the log
 * goes further back (`complete` false), the time is UNKNOWN and left out of the uptime.
 */
export function statusHistory(
  events: readonly StatusEvent[],
  current: AgentStatus,
  opts: { now: number; spanMs: number; createdAt?: string | null; complete: boolean },
): StatusHistory {
  const { now, spanMs } = opts;
  const from = now - spanMs;
  const changes = events
    .filter((e) => e.type === 'STATUS_CHANGED' && e.status)
    .map((e) => ({ at: Date.parse(e.at), previous: e.previousStatus, status: e.status! }))
    .filter((c) => !Number.isNaN(c.at) && c.at <= now)
    .sort((a, b) => a.at - b.at);

  // Where knowledge begins: registration, or the oldest change held when the log goes on.
  const created = opts.createdAt ? Date.parse(opts.createdAt) : Number.NEGATIVE_INFINITY;
  let knownFrom = Math.max(from, created);
  if (!opts.complete && changes.length > 0) knownFrom = Math.max(knownFrom, Math.min(changes[0].at, now));
  if (!opts.complete && changes.length === 0) knownFrom = Math.max(knownFrom, from);

  const segments: Segment[] = [];
  if (knownFrom > from) segments.push({ from, to: Math.min(knownFrom, now), status: 'UNKNOWN' });
  // The status at knownFrom: the last change at or before it, else the first change's previous status.
  const before = changes.filter((c) => c.at <= knownFrom).at(-1);
  const firstAfter = changes.find((c) => c.at > knownFrom);
  let status: AgentStatus = before?.status ?? firstAfter?.previous ?? current;
  let at = knownFrom;
  for (const c of changes) {
    if (c.at <= knownFrom) continue;
    if (c.at > at) segments.push({ from: at, to: c.at, status });
    status = c.status;
    at = c.at;
  }
  if (now > at) segments.push({ from: at, to: now, status });

  let up = 0;
  let total = 0;
  for (const s of segments) {
    if (s.status === 'UNKNOWN') continue;
    total += s.to - s.from;
    if (s.status !== 'OFFLINE') up += s.to - s.from;
  }
  return { segments: merge(segments), uptime: total > 0 ? up / total : null, known: spanMs > 0 ? total / spanMs : 0 };
}

function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const last = out.at(-1);
    if (last && last.status === s.status && last.to === s.from) last.to = s.to;
    else if (s.to > s.from) out.push({ ...s });
  }
  return out;
}

/** "99.2 %", "100 %", "—". */
export function formatUptime(uptime: number | null): string {
  if (uptime === null) return '—';
  const pct = uptime * 100;
  return `${pct === 100 || pct === 0 ? pct.toFixed(0) : pct >= 99.95 ? '99.9' : pct.toFixed(1)} %`;
}
