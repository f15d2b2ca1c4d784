import {
  AGENT_STATUSES,
  SORT_FIELDS,
  type AgentStatus,
  type FleetAgent,
  type SortDirection,
  type SortField,
} from './types';
import { compareAgents as sharedCompare, type AgentOrderField } from '../../../shared/agent-order';
import { matchesSearch } from '../../../shared/agent-search';
import { inGroup } from '../../../shared/agent-groups';
import { appendOpen, groupByInput, parseGrouping, parseOpen, serializeGrouping, type GroupBy } from './fleet-groups';

/** Everything that defines a fleet view. It round-trips through the query string. */
export interface FleetQuery {
  status: AgentStatus[];
  type: string;
  environment: string;
  tags: string[];
  search: string;
  sort: SortField;
  direction: SortDirection;
  /** Show inactive agents (offline longer than the server's INACTIVE_AFTER_SECONDS); hidden by default. */
  inactive: boolean;
  /** Group the fleet by a field or a metadata key (`?group=`), or not. */
  group: GroupBy | null;
  /** The open groups (`?open=`, the null group included); null: the default ones. */
  open: (string | null)[] | null;
  /** The flat list's metric column (`?metric=`); '': the default one. */
  metric: string;
  /** The loaded rows in the order of that metric's latest value (`?metricsort=`), or null: in `sort`'s. */
  metricSort: SortDirection | null;
  /** One group's agents: set by the page for each open group's list, never in the URL. */
  member?: { by: GroupBy; key: string | null };
}

export const DEFAULT_QUERY: FleetQuery = Object.freeze({
  status: [],
  type: '',
  environment: '',
  tags: [],
  search: '',
  sort: 'SEVERITY',
  direction: 'ASC',
  inactive: false,
  group: null,
  open: null,
  metric: '',
  metricSort: null,
}) as FleetQuery;

const SORT_PARAM: Record<SortField, string> = {
  SEVERITY: 'severity',
  STATUS_SINCE: 'since',
  NAME: 'name',
  STATUS: 'status',
  TYPE: 'type',
  ENVIRONMENT: 'environment',
  CREATED_AT: 'created',
  LAST_HEARTBEAT: 'heartbeat',
};

function list(params: URLSearchParams, key: string): string[] {
  // Both `?tag=a&tag=b` and `?tag=a,b` are accepted: people hand-edit shared links.
  return params
    .getAll(key)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

export function parseFleetQuery(search: string | URLSearchParams): FleetQuery {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const status = list(params, 'status')
    .map((s) => s.toUpperCase())
    .filter((s): s is AgentStatus => (AGENT_STATUSES as readonly string[]).includes(s));
  const sortParam = params.get('sort') ?? '';
  const sort =
    SORT_FIELDS.find((f) => SORT_PARAM[f] === sortParam.toLowerCase()) ?? DEFAULT_QUERY.sort;
  const metricSort = params.get('metricsort')?.toLowerCase();
  return {
    status: AGENT_STATUSES.filter((s) => status.includes(s)),
    type: params.get('type')?.trim() ?? '',
    environment: params.get('env')?.trim() ?? '',
    tags: [...new Set(list(params, 'tag'))],
    search: params.get('q')?.trim() ?? '',
    sort,
    direction: params.get('dir')?.toLowerCase() === 'desc' ? 'DESC' : 'ASC',
    inactive: ['show', '1', 'true'].includes(params.get('inactive')?.toLowerCase() ?? ''),
    group: parseGrouping(params.get('group')),
    open: parseOpen(params),
    metric: params.get('metric')?.trim() ?? '',
    metricSort: metricSort === 'desc' ? 'DESC' : metricSort === 'asc' ? 'ASC' : null,
  };
}

/** Canonical query string (defaults omitted) so equal views produce equal URLs. */
export function serializeFleetQuery(q: FleetQuery): string {
  const params = new URLSearchParams();
  if (q.status.length) params.set('status', q.status.map((s) => s.toLowerCase()).join(','));
  if (q.type) params.set('type', q.type);
  if (q.environment) params.set('env', q.environment);
  for (const tag of q.tags) params.append('tag', tag);
  if (q.search) params.set('q', q.search);
  if (q.sort !== DEFAULT_QUERY.sort) params.set('sort', SORT_PARAM[q.sort]);
  if (q.direction !== DEFAULT_QUERY.direction) params.set('dir', 'desc');
  if (q.inactive) params.set('inactive', 'show');
  if (q.group) {
    params.set('group', serializeGrouping(q.group));
    if (q.open) appendOpen(params, q.open);
  }
  if (q.metric) params.set('metric', q.metric);
  if (q.metricSort) params.set('metricsort', q.metricSort.toLowerCase());
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function sameQuery(a: FleetQuery, b: FleetQuery): boolean {
  return serializeFleetQuery(a) === serializeFleetQuery(b);
}

/** A view apart from which groups are open and the metric column: what the rows and counts are read for. */
export function viewOf(q: FleetQuery): string {
  return serializeFleetQuery({ ...q, open: null, metric: '', metricSort: null });
}

export interface AgentFilterInput {
  status?: AgentStatus[];
  type?: string;
  environment?: string;
  tags?: string[];
  search?: string;
  inactive?: boolean;
  /** Explicit agents (the bulk actions' ticked rows). */
  ids?: string[];
  /** One group of agentGroups (key null: the agents without a value). */
  group?: { by: ReturnType<typeof groupByInput>; key: string | null };
}

/**
 * The GraphQL filter for a view. The status cards count everything the other filters
 * allow, so they ask without the status part (otherwise picking "offline" zeroes the rest).
 */
export function toAgentFilter(q: FleetQuery, opts: { withStatus?: boolean } = {}): AgentFilterInput {
  const filter: AgentFilterInput = {};
  if ((opts.withStatus ?? true) && q.status.length) filter.status = q.status;
  if (q.type) filter.type = q.type;
  if (q.environment) filter.environment = q.environment;
  if (q.tags.length) filter.tags = q.tags;
  if (q.search) filter.search = q.search;
  if (!q.inactive) filter.inactive = false;
  if (q.member) filter.group = { by: groupByInput(q.member.by), key: q.member.key };
  return filter;
}

/**
 * Client-side mirror of the server's filter, used only to place live events into an
 * already loaded list. Server answers stay the truth: every reload re-asks the server.
 */
export function matchesQuery(agent: FleetAgent, q: FleetQuery, opts: { withStatus?: boolean } = {}): boolean {
  if ((opts.withStatus ?? true) && q.status.length && !q.status.includes(agent.status)) return false;
  if (q.type && agent.type !== q.type) return false;
  if (q.environment && agent.environment !== q.environment) return false;
  if (q.tags.length && !q.tags.every((t) => agent.tags.includes(t))) return false;
  if (q.search && !matchesSearch(agent, q.search)) return false;
  if (q.member && !inGroup(agent, q.member.by, q.member.key)) return false;
  return true;
}

const ORDER_FIELD: Record<SortField, AgentOrderField> = {
  SEVERITY: 'severity',
  STATUS_SINCE: 'statusSince',
  NAME: 'name',
  STATUS: 'status',
  TYPE: 'type',
  ENVIRONMENT: 'environment',
  CREATED_AT: 'createdAt',
  LAST_HEARTBEAT: 'lastHeartbeat',
};

/**
 * Comparator for a view's order: the server's own (shared/agent-order.ts), so a row that
 * a live event moves lands where the next page read would put it, natural name order included.
 */
export function compareAgents(q: Pick<FleetQuery, 'sort' | 'direction'>) {
  const order = { field: ORDER_FIELD[q.sort], direction: q.direction === 'DESC' ? 'desc' : 'asc' } as const;
  const lower = (a: FleetAgent) => ({ ...a, status: a.status.toLowerCase() as 'online' | 'degraded' | 'offline' });
  return (a: FleetAgent, b: FleetAgent): number => sharedCompare(lower(a), lower(b), order);
}
