export const AGENT_STATUSES = ['ONLINE', 'DEGRADED', 'OFFLINE'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const SORT_FIELDS = [
  'SEVERITY',
  'STATUS_SINCE',
  'NAME',
  'STATUS',
  'TYPE',
  'ENVIRONMENT',
  'CREATED_AT',
  'LAST_HEARTBEAT',
] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export type SortDirection = 'ASC' | 'DESC';

/** The fields the fleet list and the pure reducer need; a superset comes from GraphQL. */
export interface FleetAgent {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number;
  environment: string;
  status: AgentStatus;
  tags: readonly string[];
  /** Searched by the search box as the server searches it (shared/agent-search.ts). */
  metadata?: unknown;
  lastHeartbeat: string | null;
  offlineAt: string | null;
  createdAt: string;
  /** When the current status began. */
  statusChangedAt: string;
}
