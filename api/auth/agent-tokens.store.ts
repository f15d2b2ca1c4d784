import { inArray } from 'drizzle-orm';
import { agents } from '../agents/agents.table';
import type { Db } from '../db';

/** The hash of the token each of these agents holds now; an agent that does not exist is absent. */
export async function currentTokenHashes(db: Db, agentIds: string[]): Promise<Map<string, string>> {
  const rows = await db.select({ id: agents.id, tokenHash: agents.tokenHash }).from(agents).where(inArray(agents.id, agentIds));
  return new Map(rows.map((r) => [r.id, r.tokenHash]));
}
