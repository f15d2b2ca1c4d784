import { and, asc, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { agentFilterSql } from './agents.filter';
import { publicAgent, type PublicAgent } from './agents.snapshot';
import { agents } from './agents.table';
import type { AgentFilter, AgentStatus } from './agents.types';

/** The writes and reads of bulk actions (agents.bulk.ts): many agents a filter selects at once. */
export const bulkStore = {
  /** Ids of the agents a filter selects, in id order, at most `limit`. */
  async idsMatching(db: Db, filter: AgentFilter, limit: number): Promise<string[]> {
    const rows = await db.select({ id: agents.id }).from(agents).where(agentFilterSql(agents, filter)).orderBy(asc(agents.id)).limit(limit);
    return rows.map((r) => r.id);
  },

  /** Locks those of `ids` that still exist and still pass the filter; returns them, in id order. */
  async lockMatching(tx: Db, ids: string[], filter: AgentFilter): Promise<{ id: string; status: AgentStatus }[]> {
    if (ids.length === 0) return [];
    return tx
      .select({ id: agents.id, status: agents.status })
      .from(agents)
      .where(and(inArray(agents.id, ids), agentFilterSql(agents, filter)))
      .orderBy(asc(agents.id))
      .for('update');
  },

  /** The first `limit` agents a filter selects, in natural name order, with their tags. */
  async firstMatching(db: Db, filter: AgentFilter, limit: number): Promise<PublicAgent[]> {
    const rows = await db.query.agents.findMany({
      where: { RAW: (t) => agentFilterSql(t, filter) },
      with: { tags: { columns: { tag: true }, orderBy: { tag: 'asc' } } },
      orderBy: (t) => [asc(sql`${t.nameKey} collate "C"`), asc(sql`${t.name}::text collate "C"`), asc(t.id)],
      limit,
    });
    return rows.map((r) => publicAgent(r, r.tags.map((t) => t.tag)));
  },

  /**
   * Adds tags to many agents as an admin's (a tag an agent's registration had set becomes
   * the admin's, as when one agent is tagged); returns the (agent, tag) pairs that were not there.
   */
  async addTagsMany(tx: Db, ids: string[], tags: string[]): Promise<{ agentId: string; tag: string }[]> {
    return rowsOf<{ agentId: string; tag: string; inserted: boolean }>(
      await tx.execute(sql`
        insert into agent_tags (agent_id, tag, source)
        select a, t, 'admin' from unnest(${sql.param(ids)}::uuid[]) a cross join unnest(${sql.param(tags)}::text[]) t
        on conflict (agent_id, tag) do update set source = 'admin' where agent_tags.source <> 'admin'
        returning agent_id::text as "agentId", tag, xmax = 0 as inserted`),
    )
      .filter((r) => r.inserted)
      .map(({ agentId, tag }) => ({ agentId, tag }));
  },

  /**
   * Those of `ids` that adding `tags` would take past `max` tags, in id order, at most
   * `limit` of them, with how many tags each has and would hold, and how many there are in all.
   */
  async overTagLimit(tx: Db, ids: string[], tags: string[], max: number, limit: number): Promise<{ total: number; agents: { id: string; name: string; has: number; would: number }[] }> {
    const rows = rowsOf<{ id: string; name: string; has: number; would: number; total: number }>(
      await tx.execute(sql`
        select id, name, has, would, count(*) over ()::int as total from (
          select a.id::text as id, a.name, h.has,
                 h.has + (select count(*) from unnest(${sql.param(tags)}::text[]) x(tag)
                          where not exists (select 1 from agent_tags t where t.agent_id = a.id and t.tag = x.tag))::int as would
          from agents a cross join lateral (select count(*)::int as has from agent_tags t where t.agent_id = a.id) h
          where a.id = any(${sql.param(ids)}::uuid[])
        ) s
        where would > ${max} and would > has
        order by id
        limit ${limit}`),
    );
    return { total: rows[0]?.total ?? 0, agents: rows.map(({ id, name, has, would }) => ({ id, name, has: Number(has), would: Number(would) })) };
  },

  /** Removes tags from many agents; returns the (agent, tag) pairs that were there. */
  async removeTagsMany(tx: Db, ids: string[], tags: string[]): Promise<{ agentId: string; tag: string }[]> {
    return rowsOf(
      await tx.execute(sql`
        delete from agent_tags where agent_id = any(${sql.param(ids)}::uuid[]) and tag = any(${sql.param(tags)}::text[])
        returning agent_id::text as "agentId", tag`),
    );
  },

  async touchMany(tx: Db, ids: string[], now: Date): Promise<void> {
    if (ids.length > 0) await tx.update(agents).set({ updatedAt: now }).where(inArray(agents.id, ids));
  },

  async deleteMany(tx: Db, ids: string[]): Promise<void> {
    if (ids.length > 0) await tx.delete(agents).where(inArray(agents.id, ids));
  },
};
