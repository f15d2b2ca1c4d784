import type { HeartbeatHistory, PublicAgent } from '../agents/agents.snapshot';
import type { AgentStatus } from '../agents/agents.types';

export type AgentEventType =
  | 'registered'
  | 'updated'
  | 'deregistered'
  | 'status_changed'
  | 'tags_changed'
  | 'configuration_changed';

/**
 * The agent as it was right after the event, stored with it: subscribers are served
 * from it without a query each, and it outlives the agent. Timestamps are ISO
 * strings once it has been through the database. The heartbeat history is left out
 * (see withoutHistory): Agent.recentHeartbeats of an event's agent is empty.
 */
export type AgentSnapshot = Omit<PublicAgent, 'lastHeartbeat' | 'offlineAt' | 'createdAt' | 'updatedAt' | keyof HeartbeatHistory> & {
  lastHeartbeat: Date | string | null;
  offlineAt: Date | string | null;
  createdAt: Date | string;
  updatedAt: Date | string;
};

export interface EventDraft {
  type: AgentEventType;
  agent: AgentSnapshot;
  previousStatus?: AgentStatus | null;
  status?: AgentStatus | null;
  reason?: string | null;
  data?: Record<string, unknown>;
}

/** What subscribers receive; `cursor` is the event's position in the log. */
export interface AgentEventMessage {
  cursor: string;
  type: AgentEventType;
  agentId: string;
  agent: AgentSnapshot;
  previousStatus: AgentStatus | null;
  status: AgentStatus | null;
  reason: string | null;
  data: Record<string, unknown>;
  at: string;
}
