import {
  AGENT_STATUSES,
  SORT_FIELDS,
  type AgentStatus,
  type FleetAgent,
  type SortDirection,
  type SortField,
} from './types';

/** Everything that defines a fleet view. It round-trips through the query string. */
export interface FleetQuery {
  status: AgentStatus[];
  type: string;
  environment: string;
  tags: string[];
  search: string;
  sort: SortField;
  direction: SortDirection;
}

export const DEFAULT_QUERY: FleetQuery = Object.freeze({
  status: [],
  type: '',
  environment: '',
  tags: [],
  search: '',
  sort: 'NAME',
  direction: 'ASC',
}) as FleetQuery;

const SORT_PARAM: Record<SortField, string> = {
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
  return {
    status: AGENT_STATUSES.filter((s) => status.includes(s)),
    type: params.get('type')?.trim() ?? '',
    environment: params.get('env')?.trim() ?? '',
    tags: [...new Set(list(params, 'tag'))],
    search: params.get('q')?.trim() ?? '',
    sort,
    direction: params.get('dir')?.toLowerCase() === 'desc' ? 'DESC' : 'ASC',
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
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function sameQuery(a: FleetQuery, b: FleetQuery): boolean {
  return serializeFleetQuery(a) === serializeFleetQuery(b);
}

export interface AgentFilterInput {
  status?: AgentStatus[];
  type?: string;
  environment?: string;
  tags?: string[];
  search?: string;
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
  if (q.search) {
    // Same rule as the server's AgentFilter.search: substring of the name or the host.
    const needle = q.search.toLowerCase();
    if (!agent.name.toLowerCase().includes(needle) && !agent.host.toLowerCase().includes(needle)) return false;
  }
  return true;
}

// Matches the order of the server's status enum (online < degraded < offline).
const STATUS_RANK: Record<AgentStatus, number> = { ONLINE: 0, DEGRADED: 1, OFFLINE: 2 };

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortKey(agent: FleetAgent, field: SortField): string | number | null {
  switch (field) {
    case 'NAME':
      return agent.name;
    case 'STATUS':
      return STATUS_RANK[agent.status];
    case 'TYPE':
      return agent.type;
    case 'ENVIRONMENT':
      return agent.environment;
    case 'CREATED_AT':
      return Date.parse(agent.createdAt);
    case 'LAST_HEARTBEAT':
      return agent.lastHeartbeat ? Date.parse(agent.lastHeartbeat) : null;
  }
}

/** Comparator for a view's order; ties break on id like the server's cursor order. */
export function compareAgents(q: Pick<FleetQuery, 'sort' | 'direction'>) {
  const sign = q.direction === 'DESC' ? -1 : 1;
  return (a: FleetAgent, b: FleetAgent): number => {
    const ka = sortKey(a, q.sort);
    const kb = sortKey(b, q.sort);
    let c = 0;
    // PostgreSQL puts NULLs last in ascending order and first in descending order.
    if (ka === null || kb === null) c = ka === kb ? 0 : ka === null ? 1 : -1;
    else if (typeof ka === 'number' && typeof kb === 'number') c = ka - kb;
    else c = compareText(String(ka), String(kb));
    if (c !== 0) return c * sign;
    return compareText(a.id, b.id) * sign;
  };
}
