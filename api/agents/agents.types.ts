export const AGENT_STATUSES = ['online', 'degraded', 'offline'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** Metadata whose `key` holds `value` (its text: a string as is, anything else as JSON); without a value, metadata that has the key. */
export interface MetadataMatcher {
  key: string;
  value?: string;
}

export interface AgentFilter {
  /** Only these agents. */
  ids?: string[];
  status?: AgentStatus[];
  type?: string;
  environment?: string;
  tags?: string[];
  /** Every matcher must hold. */
  metadata?: MetadataMatcher[];
  search?: string;
  /** Only inactive agents (true), only the others (false); absent: all. */
  inactive?: boolean;
  /** The agents of one agentGroups group: those whose key under `by` is `key`; null: those without one. */
  group?: { by: AgentGroupBy; key: string | null };
  /**
   * Agents offline since before this are inactive: `now - INACTIVE_AFTER_SECONDS`, set by the
   * service for each request (a filter without it leaves `inactive` aside).
   */
  inactiveBefore?: Date;
}

/** What agentGroups groups by: one of the agent's fields, its tags, or a metadata key. */
export type AgentGroupBy = { field: 'environment' | 'type' | 'tag' } | { metadataKey: string };

export { AGENT_ORDER_FIELDS, type AgentOrder } from '../../shared/agent-order';

/** The subject kind of agent events in the log. */
export const AGENT_KIND = 'agent';

export const AGENT_EVENT_TYPES = ['registered', 'updated', 'deregistered', 'status_changed', 'tags_changed', 'configuration_changed', 'interval_changed'] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];
