import type { AgentStatus } from './types';

interface HeartbeatFields {
  status: AgentStatus;
  heartbeatIntervalSeconds: number;
  lastHeartbeat: string | null;
  createdAt: string;
}

/** Slack for network and batching delay before a missing heartbeat counts as news. */
export const HEARTBEAT_GRACE_MS = 2000;

/**
 * The API pushes status changes but not every heartbeat, so a row's "last heartbeat" is
 * only as fresh as its last load. Once a heartbeat was due and the agent is still not
 * offline, the server has almost certainly received a newer one: the row is stale.
 */
export function heartbeatIsStale(agent: HeartbeatFields, now: number, graceMs = HEARTBEAT_GRACE_MS): boolean {
  if (agent.status === 'OFFLINE') return false;
  const since = Date.parse(agent.lastHeartbeat ?? agent.createdAt);
  if (Number.isNaN(since)) return false;
  return now - since > agent.heartbeatIntervalSeconds * 1000 + graceMs;
}
