import type { AgentStatus } from '../agents/agents.types';

export type AgentEventType =
  | 'registered'
  | 'updated'
  | 'deregistered'
  | 'status_changed'
  | 'tags_changed'
  | 'configuration_changed';

/** The agent as it was right after the event: enough to filter and display it. */
export interface AgentSnapshot {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number;
  environment: string;
  status: AgentStatus;
  tags: string[];
}

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
