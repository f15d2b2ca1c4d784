export const AGENT_STATUSES = ['online', 'degraded', 'offline'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export interface AgentFilter {
  status?: AgentStatus[];
  type?: string;
  environment?: string;
  tags?: string[];
  search?: string;
}

export const AGENT_ORDER_FIELDS = ['name', 'status', 'type', 'environment', 'createdAt', 'lastHeartbeat'] as const;
export interface AgentOrder {
  field: (typeof AGENT_ORDER_FIELDS)[number];
  direction: 'asc' | 'desc';
}
