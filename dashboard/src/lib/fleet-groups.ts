import { compareNames } from '../../../shared/agent-order';
import type { GroupBy } from '../../../shared/agent-groups';
import type { StatusCounts } from './fleet-reducer';
import type { AgentStatus } from './types';

export type { GroupBy };

/** One group of the fleet as agentGroups gives it: `key` null for agents without a value. */
export interface FleetGroup {
  key: string | null;
  counts: StatusCounts;
}

/** The GraphQL AgentGroupBy for a grouping. */
export function groupByInput(by: GroupBy): { field: 'ENVIRONMENT' | 'TYPE' | 'TAG' } | { metadataKey: string } {
  return 'metadataKey' in by ? { metadataKey: by.metadataKey } : { field: by.field.toUpperCase() as 'ENVIRONMENT' | 'TYPE' | 'TAG' };
}

const FIELDS = ['environment', 'type', 'tag'] as const;
const META = 'meta:';

/** `?group=environment|type|tag|meta:<key>`; anything else is no grouping. */
export function parseGrouping(param: string | null): GroupBy | null {
  const value = param?.trim() ?? '';
  if (value.toLowerCase().startsWith(META)) {
    const key = value.slice(META.length).trim();
    return key ? { metadataKey: key } : null;
  }
  const field = FIELDS.find((f) => f === value.toLowerCase());
  return field ? { field } : null;
}

export function serializeGrouping(by: GroupBy): string {
  return 'metadataKey' in by ? `${META}${by.metadataKey}` : by.field;
}

/**
 * Open groups in the URL, one `open=` each. A key is written as it is, except: the
 * null group is `~none`, a key starting with `~` gets one more, and `open=~` alone
 * says that the operator closed every group (no `open` at all: the default).
 */
const NONE = '~none';
export const ALL_CLOSED = '~';

export function encodeOpen(key: string | null): string {
  return key === null ? NONE : key.startsWith('~') ? `~${key}` : key;
}

export function decodeOpen(token: string): { key: string | null } | undefined {
  if (token === NONE) return { key: null };
  if (token.startsWith('~~')) return { key: token.slice(1) };
  if (token.startsWith('~')) return undefined;
  return { key: token };
}

/** The open groups a URL names; null when it names none (the default applies). */
export function parseOpen(params: URLSearchParams): (string | null)[] | null {
  const tokens = params.getAll('open');
  if (tokens.length === 0) return null;
  const keys = tokens.map(decodeOpen).filter((k) => k !== undefined).map((k) => k.key);
  return [...new Set(keys)];
}

export function appendOpen(params: URLSearchParams, open: readonly (string | null)[]) {
  if (open.length === 0) params.append('open', ALL_CLOSED);
  for (const key of open) params.append('open', encodeOpen(key));
}

/** What a group is called on screen; the null group says what its agents lack. */
export function groupLabel(by: GroupBy, key: string | null): string {
  if (key !== null) return key === '' ? '(empty)' : key;
  if ('metadataKey' in by) return `no ${by.metadataKey}`;
  return by.field === 'tag' ? 'untagged' : `no ${by.field}`;
}

/** Worst first (most offline, then most degraded), then natural key order, the null group last. */
export function compareGroups(a: FleetGroup, b: FleetGroup): number {
  return (
    b.counts.offline - a.counts.offline ||
    b.counts.degraded - a.counts.degraded ||
    (a.key === null ? (b.key === null ? 0 : 1) : b.key === null ? -1 : compareNames(a.key, b.key))
  );
}

const COUNT_KEY: Record<AgentStatus, 'online' | 'degraded' | 'offline'> = { ONLINE: 'online', DEGRADED: 'degraded', OFFLINE: 'offline' };

/** How many of a group's agents the view lists: those in the picked statuses (all without a pick). */
export function shownCount(counts: StatusCounts, status: readonly AgentStatus[]): number {
  return status.length === 0 ? counts.total : status.reduce((n, s) => n + counts[COUNT_KEY[s]], 0);
}

/** The groups a view shows, in order: those with an agent it lists. */
export function visibleGroups(groups: readonly FleetGroup[], status: readonly AgentStatus[]): FleetGroup[] {
  return groups.filter((g) => shownCount(g.counts, status) > 0).sort(compareGroups);
}

/** Open by default: groups with a problem, worst first, at most this many (each open group follows its own feed). */
export const DEFAULT_OPEN = 3;

export function defaultOpen(groups: readonly FleetGroup[]): (string | null)[] {
  return groups.filter((g) => g.counts.offline + g.counts.degraded > 0).slice(0, DEFAULT_OPEN).map((g) => g.key);
}
