import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { insertAgentEvents, insertRegisteredAgent, type NewAgent } from './agents.events.sql';
import { agentFilterSql, inactiveSql } from './agents.filter';
import { fromSnapshot, publicAgent, type AgentSnapshot, type PublicAgent } from './agents.snapshot';
import { agentConfigurations, agents, agentTags, type AgentConfigurationRow, type AgentRow, type TagSource } from './agents.table';
import { compareNames } from '../../shared/agent-order';
import { type AgentEventType, type AgentFilter, type AgentGroupBy, type AgentStatus } from './agents.types';

export type StatusCounts = Record<AgentStatus | 'total' | 'inactive', number>;
type CountRow = { status: AgentStatus; inactive: boolean; n: number };

/**
 * Counts per status of the agents counted in `rows`, with the filter's inactive choice
 * applied to them, and beside them how many are inactive whatever that choice (so a view
 * that hides inactive agents can say how many it hides).
 */
function countsOf(filter: AgentFilter, rows: CountRow[]): StatusCounts {
  const counts = { online: 0, degraded: 0, offline: 0, total: 0, inactive: 0 };
  for (const { status, inactive, n } of rows) {
    if (inactive) counts.inactive += n;
    if (filter.inactive !== undefined && filter.inactive !== inactive) continue;
    counts[status] += n;
    counts.total += n;
  }
  return counts;
}

export interface Identity {
  name: string;
  host: string;
  port: number;
  environment: string;
}

/** What registration writes besides the identity and the token. */
export type RegistrationFields = Pick<
  AgentRow,
  'type' | 'metadata' | 'heartbeatIntervalSeconds' | 'status' | 'health' | 'healthMessage' | 'lastSequence' | 'offlineAt' | 'updatedAt'
>;

const identityIs = (i: Identity) =>
  and(eq(agents.name, i.name), eq(agents.host, i.host), eq(agents.port, i.port), eq(agents.environment, i.environment));

/** A change of one agent, for an event built from its row. */
export interface AgentChangeRow {
  agentId: string;
  type: AgentEventType;
  previousStatus?: AgentStatus | null;
  status?: AgentStatus | null;
  reason?: string | null;
  data?: Record<string, unknown>;
}

/** A relational query over agents as Pothos plans it: its options go straight to drizzle. */
type FindMany = Parameters<Db['query']['agents']['findMany']>[0];
type FindFirst = Parameters<Db['query']['agents']['findFirst']>[0];

/** The SQL of the registry. */
/** Agents read in one query of a REST page (see list). */
const LIST_SLICE = 50;

export const agentStore = {
  /**
   * Inserts a new agent with its tags and its `registered` event, in one statement (for
   * EventLog.createWith), and returns the agent as the event holds it; or inserts
   * nothing and returns undefined when an agent with the same identity exists.
   */
  async insertRegistered(db: Db, at: Date, values: NewAgent, tags: { tag: string; source: TagSource }[], data: Record<string, unknown>): Promise<PublicAgent | undefined> {
    const { rows } = await insertRegisteredAgent(db, {
      ...values,
      at,
      tags: tags.map((t) => t.tag),
      sources: tags.map((t) => t.source),
      data: JSON.stringify(data),
    });
    const snapshot = rows[0]?.agent as AgentSnapshot | string | undefined;
    return snapshot === undefined ? undefined : fromSnapshot(typeof snapshot === 'string' ? JSON.parse(snapshot) : snapshot);
  },

  async idByIdentity(db: Db, identity: Identity): Promise<string | undefined> {
    const [row] = await db.select({ id: agents.id }).from(agents).where(identityIs(identity));
    return row?.id;
  },

  /** Locks one agent for the rest of `tx`, so concurrent edits of it apply one after another. */
  async lock(tx: Db, id: string): Promise<AgentRow | undefined> {
    const [row] = await tx.select().from(agents).where(eq(agents.id, id)).for('update');
    return row;
  },

  async update(tx: Db, id: string, fields: Partial<Omit<AgentRow, 'id'>>): Promise<AgentRow> {
    const [row] = await tx.update(agents).set(fields).where(eq(agents.id, id)).returning();
    return row;
  },

  async bumpConfigurationRevision(tx: Db, id: string, now: Date): Promise<AgentRow> {
    const [row] = await tx
      .update(agents)
      .set({ configurationRevision: sql`${agents.configurationRevision} + 1`, updatedAt: now })
      .where(eq(agents.id, id))
      .returning();
    return row;
  },

  async delete(tx: Db, id: string): Promise<AgentRow | undefined> {
    const [row] = await tx.delete(agents).where(eq(agents.id, id)).returning();
    return row;
  },

  async exists(db: Db, id: string): Promise<boolean> {
    const [row] = await db.select({ id: agents.id }).from(agents).where(inArray(agents.id, [id]));
    return row !== undefined;
  },

  async tagsOf(db: Db, agentId: string): Promise<string[]> {
    const rows = await db.select({ tag: agentTags.tag }).from(agentTags).where(eq(agentTags.agentId, agentId)).orderBy(asc(agentTags.tag));
    return rows.map((r) => r.tag);
  },

  /** Tags of many agents at once, each list sorted. */
  async tagsOfMany(db: Db, ids: string[]): Promise<Map<string, string[]>> {
    const rows = await db.select().from(agentTags).where(inArray(agentTags.agentId, ids)).orderBy(asc(agentTags.tag));
    const byAgent = new Map<string, string[]>();
    for (const row of rows) {
      const list = byAgent.get(row.agentId);
      if (list) list.push(row.tag);
      else byAgent.set(row.agentId, [row.tag]);
    }
    return byAgent;
  },

  /** Configuration entries of many agents at once, each list ordered by key. */
  async configurationOfMany(db: Db, ids: string[]): Promise<Map<string, AgentConfigurationRow[]>> {
    const rows = await db.select().from(agentConfigurations).where(inArray(agentConfigurations.agentId, ids)).orderBy(asc(agentConfigurations.key));
    const byAgent = new Map<string, AgentConfigurationRow[]>();
    for (const row of rows) {
      const list = byAgent.get(row.agentId);
      if (list) list.push(row);
      else byAgent.set(row.agentId, [row]);
    }
    return byAgent;
  },

  /** Each tag of an agent with who set it, sorted by tag. */
  async tagSources(db: Db, agentId: string): Promise<{ tag: string; source: TagSource }[]> {
    return db
      .select({ tag: agentTags.tag, source: agentTags.source })
      .from(agentTags)
      .where(eq(agentTags.agentId, agentId))
      .orderBy(asc(agentTags.tag));
  },

  /**
   * Puts tags on an agent as `source` says. An admin's claim makes a tag the admin's
   * (a registration can no longer remove it); an agent's never takes one from an admin.
   */
  async putTags(tx: Db, agentId: string, tags: string[], source: TagSource): Promise<void> {
    if (tags.length === 0) return;
    const insert = tx.insert(agentTags).values(tags.map((tag) => ({ agentId, tag, source })));
    await (source === 'admin'
      ? insert.onConflictDoUpdate({ target: [agentTags.agentId, agentTags.tag], set: { source }, setWhere: sql`${agentTags.source} <> ${source}` })
      : insert.onConflictDoNothing());
  },

  async removeTags(tx: Db, agentId: string, tags: string[]): Promise<void> {
    if (tags.length === 0) return;
    await tx.delete(agentTags).where(and(eq(agentTags.agentId, agentId), inArray(agentTags.tag, tags)));
  },

  /**
   * Appends one event per change, each carrying its agent as the agent's row stands in
   * `tx` (so call it after the change is written, and before a deletion). Events take the
   * order of `changes`.
   */
  async insertEvents(tx: Db, at: Date, changes: AgentChangeRow[]): Promise<void> {
    await insertAgentEvents(tx, { at, changes: JSON.stringify(changes) });
  },

  async withTags(db: Db, id: string): Promise<PublicAgent | undefined> {
    const row = await db.query.agents.findFirst({ where: { id }, with: { tags: { columns: { tag: true }, orderBy: { tag: 'asc' } } } });
    return row && publicAgent(row, row.tags.map((t) => t.tag));
  },

  /**
   * A page in creation order. A page of more than LIST_SLICE agents is read as its ids,
   * then its rows LIST_SLICE at a time: a thousand agents with 16 KiB of metadata each
   * make 15 MiB, which the embedded database (on the server's own thread) returned in one
   * call that held the event loop for a fifth of a second.
   */
  async list(db: Db, filter: AgentFilter, page: { limit: number; offset: number }): Promise<PublicAgent[]> {
    const where = { RAW: (t: typeof agents) => agentFilterSql(t, filter) };
    const read = (w: typeof where, limit: number, offset = 0) =>
      db.query.agents.findMany({ where: w, with: { tags: { columns: { tag: true }, orderBy: { tag: 'asc' } } }, orderBy: { createdAt: 'asc', id: 'asc' }, limit, offset });
    if (page.limit <= LIST_SLICE) return (await read(where, page.limit, page.offset)).map((r) => publicAgent(r, r.tags.map((t) => t.tag)));
    const ids = (await db.query.agents.findMany({ where, columns: { id: true }, orderBy: { createdAt: 'asc', id: 'asc' }, limit: page.limit, offset: page.offset })).map((r) => r.id);
    const found = new Map<string, PublicAgent>();
    for (let i = 0; i < ids.length; i += LIST_SLICE) {
      const slice = ids.slice(i, i + LIST_SLICE);
      for (const r of await read({ RAW: (t) => inArray(t.id, slice) }, slice.length)) found.set(r.id, publicAgent(r, r.tags.map((t) => t.tag)));
    }
    // In the ids' order; one deregistered meanwhile is left out.
    return ids.flatMap((id) => found.get(id) ?? []);
  },

  count(db: Db, filter: AgentFilter): Promise<number> {
    return db.$count(agents, agentFilterSql(agents, filter));
  },

  /** Counts per status; the filter's own status is ignored so the counts can act as filters (see countsOf). */
  async statusCounts(db: Db, filter: AgentFilter): Promise<StatusCounts> {
    return (await this.groups(db, filter, undefined))[0]?.counts ?? countsOf(filter, []);
  },

  /**
   * Status counts per group of the agents a filter selects (the whole selection as one
   * group without `by`); groups in natural order of their key, the null group last.
   */
  async groups(db: Db, filter: AgentFilter, by: AgentGroupBy | undefined): Promise<{ key: string | null; counts: StatusCounts }[]> {
    const where = agentFilterSql(agents, filter, { ignoreStatus: true, ignoreInactive: true });
    const key = !by
      ? sql`null::text`
      : 'metadataKey' in by
        ? sql`${agents.metadata}->>${by.metadataKey}`
        : by.field === 'tag'
          ? sql`t.tag`
          : by.field === 'type'
            ? sql`${agents.type}`
            : sql`${agents.environment}`;
    const inactive = filter.inactiveBefore ? inactiveSql(agents, filter.inactiveBefore) : sql`false`;
    const rows = rowsOf<CountRow & { key: string | null }>(
      await db.execute(sql`
        select ${key} as key, ${agents.status} as status, ${inactive} as inactive, count(*)::int as n
        from ${agents} ${by && 'field' in by && by.field === 'tag' ? sql`left join agent_tags t on t.agent_id = ${agents.id}` : sql``}
        where ${where}
        group by 1, 2, 3`),
    );
    const groups = new Map<string | null, CountRow[]>();
    for (const row of rows) {
      const list = groups.get(row.key);
      if (list) list.push(row);
      else groups.set(row.key, [row]);
    }
    return [...groups]
      .map(([key, rows]) => ({ key, counts: countsOf(filter, rows) }))
      .sort((a, b) => (a.key === null ? 1 : b.key === null ? -1 : compareNames(a.key, b.key)));
  },

  async facets(db: Db): Promise<{ types: string[]; environments: string[]; tags: string[] }> {
    const distinct = async (col: typeof agents.type | typeof agents.environment) =>
      (await db.selectDistinct({ v: col }).from(agents).orderBy(asc(col))).map((r) => r.v);
    const tags = await db.selectDistinct({ v: agentTags.tag }).from(agentTags).orderBy(asc(agentTags.tag));
    return { types: await distinct(agents.type), environments: await distinct(agents.environment), tags: tags.map((r) => r.v) };
  },

  /** Sets a key, stamped with `revision`; undefined when it already held that value. */
  async setConfiguration(tx: Db, agentId: string, key: string, value: unknown, now: Date, revision: number): Promise<'set' | undefined> {
    const changed = await tx
      .insert(agentConfigurations)
      .values({ agentId, key, value, updatedAt: now, revision })
      .onConflictDoUpdate({
        target: [agentConfigurations.agentId, agentConfigurations.key],
        set: { value, updatedAt: now, revision },
        setWhere: sql`${agentConfigurations.value} is distinct from excluded.value`,
      })
      .returning({ key: agentConfigurations.key });
    return changed.length > 0 ? 'set' : undefined;
  },

  /** The revision of a key's last change; 0 when there is no such key. */
  async configurationRevisionOf(tx: Db, agentId: string, key: string): Promise<number> {
    const [row] = await tx
      .select({ revision: agentConfigurations.revision })
      .from(agentConfigurations)
      .where(and(eq(agentConfigurations.agentId, agentId), eq(agentConfigurations.key, key)));
    return row?.revision ?? 0;
  },

  /** Deletes a key; undefined when there was none. */
  async deleteConfiguration(tx: Db, agentId: string, key: string): Promise<'deleted' | undefined> {
    const deleted = await tx
      .delete(agentConfigurations)
      .where(and(eq(agentConfigurations.agentId, agentId), eq(agentConfigurations.key, key)))
      .returning({ key: agentConfigurations.key });
    return deleted.length > 0 ? 'deleted' : undefined;
  },

  async withConfiguration(db: Db, id: string) {
    return db.query.agents.findFirst({ where: { id }, with: { configuration: { orderBy: { key: 'asc' } } } });
  },

  /** Runs a query Pothos planned for a GraphQL selection. */
  findManyPlanned(db: Db, query: FindMany) {
    return db.query.agents.findMany(query);
  },

  findFirstPlanned(db: Db, query: FindFirst) {
    return db.query.agents.findFirst(query);
  },
};
