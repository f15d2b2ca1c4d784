import type { Db } from '../db';
import type { AgentRow } from './agents.table';

/** Everything about an agent that may be shown: the row without its token hash, plus tags. */
export type PublicAgent = Omit<AgentRow, 'tokenHash'> & { tags: string[] };

export function publicAgent(row: AgentRow, tags: string[]): PublicAgent {
  const { tokenHash: _secret, ...rest } = row;
  return { ...rest, tags };
}

/** Current snapshots of some agents, read inside the transaction that changes them. */
export async function snapshotsOf(tx: Db, ids: string[]): Promise<Map<string, PublicAgent>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.query.agents.findMany({ where: { id: { in: ids } }, with: { tags: { columns: { tag: true }, orderBy: { tag: 'asc' } } } });
  return new Map(rows.map(({ tags, ...row }) => [row.id, publicAgent(row, tags.map((t) => t.tag))]));
}
