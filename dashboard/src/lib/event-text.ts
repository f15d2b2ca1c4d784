interface EventLike {
  type: string;
  previousStatus?: string | null;
  status?: string | null;
  reason?: string | null;
  data?: unknown;
  /** The API key (or agent) that made the change. */
  actor?: string | null;
}

const lower = (s: string | null | undefined) => (s ?? '?').toLowerCase();

/** The headline of a timeline entry. */
export function eventTitle(e: EventLike): string {
  switch (e.type) {
    case 'STATUS_CHANGED':
      return `${lower(e.previousStatus)} → ${lower(e.status)}`;
    case 'TAGS_CHANGED':
      return 'tags changed';
    case 'CONFIGURATION_CHANGED':
      return 'configuration';
    case 'INTERVAL_CHANGED':
      return 'heartbeat interval';
    default:
      return e.type.toLowerCase().replace(/_/g, ' ');
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * One line of detail, read from the event's `data` where its shape is known ("+eu −us",
 * "limits set"), and plain JSON otherwise, so a new kind of event still says something.
 */
export function eventDetail(e: EventLike): string {
  const detail = describe(e);
  if (!e.actor) return detail;
  return detail ? `${detail} · by ${e.actor}` : `by ${e.actor}`;
}

function describe(e: EventLike): string {
  const data = (e.data && typeof e.data === 'object' ? e.data : {}) as Record<string, unknown>;
  if (e.type === 'TAGS_CHANGED') {
    const parts = [...strings(data.added).map((t) => `+${t}`), ...strings(data.removed).map((t) => `−${t}`)];
    if (parts.length) return parts.join(' ');
  }
  if (e.type === 'CONFIGURATION_CHANGED' && typeof data.key === 'string') {
    const action = typeof data.action === 'string' ? data.action : 'changed';
    return `${data.key} ${action}${typeof data.revision === 'number' ? ` (revision ${data.revision})` : ''}`;
  }
  if (e.type === 'INTERVAL_CHANGED' && typeof data.interval === 'number') {
    return `${typeof data.previous === 'number' ? `${data.previous} s → ` : ''}${data.interval} s`;
  }
  if (e.type === 'UPDATED' && data.reregistered === true) {
    const changed = strings(data.changed);
    return `re-registered with a new token${changed.length ? `; ${changed.join(' and ')} changed` : ''}`;
  }
  if (e.type === 'REGISTERED') return data.reregistered === true ? 're-registered with a new token' : '';
  if (e.reason) return e.reason;
  const { actor: _actor, ...rest } = data;
  return Object.keys(rest).length ? JSON.stringify(rest) : '';
}
