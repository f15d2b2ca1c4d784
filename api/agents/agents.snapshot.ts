import type { Db } from '../db';
import type { AgentRow } from './agents.table';

/** Everything about an agent that may be shown: the row without its token hash, plus tags. */
export type PublicAgent = Omit<AgentRow, 'tokenHash' | 'statusBeforeHeartbeat'> & { tags: string[] };

/** The columns that hold an agent's recent heartbeats (Agent.recentHeartbeats). */
export type HeartbeatHistory = Pick<AgentRow, 'recentHeartbeatAt' | 'recentHealth'>;

export function publicAgent(row: AgentRow, tags: string[]): PublicAgent {
  // The token hash is a secret; status_before_heartbeat is bookkeeping of the heartbeat statement.
  const { tokenHash: _secret, statusBeforeHeartbeat: _bookkeeping, ...rest } = row;
  return { ...rest, tags };
}

/**
 * A snapshot as the event log stores it: without the heartbeat history, which would
 * put up to 30 timestamps into every event (and an event is about its change, not
 * about the heartbeats before it).
 */
export function withoutHistory<T extends object>(agent: T): Omit<T, keyof HeartbeatHistory> {
  const { recentHeartbeatAt: _at, recentHealth: _health, ...rest } = agent as T & Partial<HeartbeatHistory>;
  return rest;
}

/** The history as pairs, newest first; empty for a snapshot that does not carry it. */
export function recentHeartbeats(agent: Partial<HeartbeatHistory>): { at: Date; health: AgentRow['health'] }[] {
  const at = agent.recentHeartbeatAt;
  const health = agent.recentHealth;
  if (!Array.isArray(at) || !Array.isArray(health)) return [];
  return at.map((t, i) => ({ at: t instanceof Date ? t : new Date(t), health: health[i] ?? 'healthy' }));
}

/** Current snapshots of some agents, read inside the transaction that changes them. */
export async function snapshotsOf(tx: Db, ids: string[]): Promise<Map<string, PublicAgent>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.query.agents.findMany({ where: { id: { in: ids } }, with: { tags: { columns: { tag: true }, orderBy: { tag: 'asc' } } } });
  return new Map(rows.map(({ tags, ...row }) => [row.id, publicAgent(row, tags.map((t) => t.tag))]));
}
