import { and, asc, eq, sql } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import { authorize, authorizeAgent, verifyAgentToken } from '../auth/authenticator';
import { hashToken, newAgentToken, type Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Db } from '../db';
import { notFound } from '../errors';
import type { EventLog } from '../events/events.service';
import type { EventDraft } from '../events/events.types';
import { publicAgent } from './agents.snapshot';
import { isUuid } from '../validation';
import { agentFilterSql } from './agents.filter';
import { parseConfigKey, parseConfigValue, parseFilter, parseRegistration, parseTags } from './agents.input';
import { agentConfigurations, agents, agentTags, type AgentRow } from './agents.table';
import type { AgentFilter, AgentStatus } from './agents.types';

export type AgentWithTags = AgentRow & { tags: string[] };

export interface AgentDeps {
  db: Db;
  events: EventLog;
  clock: Clock;
  config: Config;
}

/** The agent was deregistered between the conflicting insert and the re-read. */
class Vanished extends Error {}

/** Runs `run` again (a few times) when it fails with an error of class `E`. */
async function retryIf<T>(E: new () => Error, run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof E) || i >= attempts) throw err;
    }
  }
}

/** The registry: the only code that writes agents, their tags and configuration. */
export class AgentService {
  constructor(private readonly deps: AgentDeps) {}

  private get db() {
    return this.deps.db;
  }

  /**
   * Registers an agent, or re-registers the one with the same name, host, port and
   * environment: same id, updated fields, and a fresh token that revokes the old one.
   * The unique key makes concurrent registrations of one agent converge on one row.
   */
  async register(principal: Principal | undefined, raw: Record<string, unknown>) {
    authorize(principal, 'register');
    const input = parseRegistration(raw, this.deps.config);
    const now = this.deps.clock.now();
    const offlineAt = new Date(now.getTime() + input.heartbeatIntervalSeconds * this.deps.config.missedHeartbeats * 1000);
    const fields = {
      type: input.type,
      metadata: input.metadata,
      heartbeatIntervalSeconds: input.heartbeatIntervalSeconds,
      status: 'online' as const,
      health: 'healthy' as const,
      healthMessage: null,
      // A re-registered agent starts counting its heartbeats afresh.
      lastSequence: null,
      offlineAt,
      updatedAt: now,
    };
    const { result, events } = await retryIf(Vanished, () => this.db.transaction(async (tx) => {
      const candidateId = randomUUID();
      let token = newAgentToken(candidateId);
      const [inserted] = await tx
        .insert(agents)
        .values({ id: candidateId, name: input.name, host: input.host, port: input.port, environment: input.environment, tokenHash: hashToken(token), createdAt: now, ...fields })
        .onConflictDoNothing({ target: [agents.name, agents.host, agents.port, agents.environment] })
        .returning();
      let row: AgentRow;
      let previousStatus: AgentStatus | undefined;
      if (inserted) {
        row = inserted;
      } else {
        const [existing] = await tx
          .select({ id: agents.id, status: agents.status })
          .from(agents)
          .where(and(eq(agents.name, input.name), eq(agents.host, input.host), eq(agents.port, input.port), eq(agents.environment, input.environment)))
          .for('update');
        // Deregistered between our insert and this select: the caller may simply retry.
        if (!existing) throw new Vanished();
        token = newAgentToken(existing.id);
        previousStatus = existing.status;
        [row] = await tx.update(agents).set({ ...fields, tokenHash: hashToken(token) }).where(eq(agents.id, existing.id)).returning();
      }
      const tags = input.tags ? await this.replaceTags(tx, row.id, input.tags) : await this.tagsOf(tx, row.id);
      const snap = publicAgent(row, tags);
      const drafts: EventDraft[] = [
        { type: inserted ? 'registered' : 'updated', agent: snap, status: row.status, data: { reregistered: !inserted } },
      ];
      if (previousStatus && previousStatus !== row.status) {
        drafts.push({ type: 'status_changed', agent: snap, previousStatus, status: row.status, reason: 'agent registered again' });
      }
      const events = await this.deps.events.append(tx, drafts);
      return { result: { agent: { ...row, tags }, token, created: !!inserted }, events };
    }));
    this.deps.events.committed(events);
    return result;
  }

  async get(principal: Principal | undefined, id: string): Promise<AgentWithTags> {
    authorize(principal, 'read');
    const agent = isUuid(id) ? await this.db.query.agents.findFirst({ where: { id }, with: { tags: true } }) : undefined;
    if (!agent) throw notFound(`agent ${id}`);
    return { ...agent, tags: agent.tags.map((t) => t.tag).sort() };
  }

  /**
   * Runs a relational query over the agents a filter selects. `shape` adds paging,
   * ordering and the selection (a GraphQL connection passes its planned query here).
   */
  find<T>(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined, run: (where: { RAW: (t: typeof agents) => ReturnType<typeof agentFilterSql> }, filter: AgentFilter) => T): T {
    authorize(principal, 'read');
    const filter = parseFilter(rawFilter);
    return run({ RAW: (t) => agentFilterSql(t, filter) }, filter);
  }

  /** Runs `load` for a well-formed id; a malformed one simply matches nothing. */
  async findOne<T>(principal: Principal | undefined, id: string, load: (id: string) => Promise<T>): Promise<T | undefined> {
    authorize(principal, 'read');
    return isUuid(id) ? load(id) : undefined;
  }

  async list(principal: Principal | undefined, rawFilter: Record<string, unknown>, page: { limit: number; offset: number }): Promise<AgentWithTags[]> {
    const rows = await this.find(principal, rawFilter, (where) =>
      this.db.query.agents.findMany({ where, with: { tags: true }, orderBy: { createdAt: 'asc', id: 'asc' }, limit: page.limit, offset: page.offset }),
    );
    return rows.map((a) => ({ ...a, tags: a.tags.map((t) => t.tag).sort() }));
  }

  async count(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined): Promise<number> {
    return this.find(principal, rawFilter, (_, filter) => this.db.$count(agents, agentFilterSql(agents, filter)));
  }

  /** Counts per status; the filter's own status is ignored so the counts can act as filters. */
  async statusCounts(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined) {
    return this.find(principal, rawFilter, async (_, filter) => {
      const rows = await this.db
        .select({ status: agents.status, n: sql<number>`count(*)::int` })
        .from(agents)
        .where(agentFilterSql(agents, filter, { ignoreStatus: true }))
        .groupBy(agents.status);
      const counts = { online: 0, degraded: 0, offline: 0, total: 0 };
      for (const { status, n } of rows) {
        counts[status] = n;
        counts.total += n;
      }
      return counts;
    });
  }

  /** The values in use, for filter pickers. */
  async facets(principal: Principal | undefined) {
    authorize(principal, 'read');
    const distinct = async (col: typeof agents.type | typeof agents.environment) =>
      (await this.db.selectDistinct({ v: col }).from(agents).orderBy(asc(col))).map((r) => r.v);
    const tags = await this.db.selectDistinct({ v: agentTags.tag }).from(agentTags).orderBy(asc(agentTags.tag));
    return { types: await distinct(agents.type), environments: await distinct(agents.environment), tags: tags.map((r) => r.v) };
  }

  setTags(principal: Principal | undefined, agentId: string, raw: unknown) {
    authorize(principal, 'admin');
    const tags = parseTags(raw);
    return this.changeTags(agentId, () => tags);
  }

  addTags(principal: Principal | undefined, agentId: string, raw: unknown) {
    authorize(principal, 'admin');
    const tags = parseTags(raw);
    return this.changeTags(agentId, (current) => [...new Set([...current, ...tags])].sort());
  }

  removeTags(principal: Principal | undefined, agentId: string, raw: unknown) {
    authorize(principal, 'admin');
    const tags = new Set(parseTags(raw));
    return this.changeTags(agentId, (current) => current.filter((t) => !tags.has(t)));
  }

  async setConfiguration(principal: Principal | undefined, agentId: string, rawKey: unknown, rawValue: unknown) {
    authorize(principal, 'admin');
    const key = parseConfigKey(rawKey);
    const value = parseConfigValue(rawValue);
    return this.changeConfiguration(agentId, key, async (tx, now) => {
      const changed = await tx
        .insert(agentConfigurations)
        .values({ agentId, key, value, updatedAt: now })
        .onConflictDoUpdate({
          target: [agentConfigurations.agentId, agentConfigurations.key],
          set: { value, updatedAt: now },
          setWhere: sql`${agentConfigurations.value} is distinct from excluded.value`,
        })
        .returning({ key: agentConfigurations.key });
      return changed.length > 0 ? 'set' : undefined;
    });
  }

  async deleteConfiguration(principal: Principal | undefined, agentId: string, rawKey: unknown) {
    authorize(principal, 'admin');
    const key = parseConfigKey(rawKey);
    return this.changeConfiguration(agentId, key, async (tx) => {
      const deleted = await tx
        .delete(agentConfigurations)
        .where(and(eq(agentConfigurations.agentId, agentId), eq(agentConfigurations.key, key)))
        .returning({ key: agentConfigurations.key });
      return deleted.length > 0 ? 'deleted' : undefined;
    });
  }

  async deregister(principal: Principal | undefined, id: string): Promise<{ id: string }> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`agent ${id}`);
    const events = await this.db.transaction(async (tx) => {
      const tags = await this.tagsOf(tx, id);
      const [row] = await tx.delete(agents).where(eq(agents.id, id)).returning();
      if (!row) throw notFound(`agent ${id}`);
      return this.deps.events.append(tx, [{ type: 'deregistered', agent: publicAgent(row, tags), previousStatus: row.status }]);
    });
    this.deps.events.committed(events);
    return { id };
  }

  private async tagsOf(tx: Db, agentId: string): Promise<string[]> {
    const rows = await tx.select({ tag: agentTags.tag }).from(agentTags).where(eq(agentTags.agentId, agentId)).orderBy(asc(agentTags.tag));
    return rows.map((r) => r.tag);
  }

  private async replaceTags(tx: Db, agentId: string, tags: string[]): Promise<string[]> {
    await tx.delete(agentTags).where(tags.length ? and(eq(agentTags.agentId, agentId), sql`${agentTags.tag} not in (${sql.join(tags.map((t) => sql`${t}`), sql`, `)})`) : eq(agentTags.agentId, agentId));
    if (tags.length) await tx.insert(agentTags).values(tags.map((tag) => ({ agentId, tag }))).onConflictDoNothing();
    return tags;
  }

  /** Locks the agent row, so concurrent edits of one agent apply one after another. */
  private async lockAgent(tx: Db, agentId: string): Promise<AgentRow> {
    const [row] = isUuid(agentId) ? await tx.select().from(agents).where(eq(agents.id, agentId)).for('update') : [];
    if (!row) throw notFound(`agent ${agentId}`);
    return row;
  }

  private async changeTags(agentId: string, next: (current: string[]) => string[]): Promise<{ id: string }> {
    const events = await this.db.transaction(async (tx) => {
      const row = await this.lockAgent(tx, agentId);
      const current = await this.tagsOf(tx, agentId);
      const tags = next(current);
      const added = tags.filter((t) => !current.includes(t));
      const removed = current.filter((t) => !tags.includes(t));
      if (added.length === 0 && removed.length === 0) return [];
      await this.replaceTags(tx, agentId, tags);
      const [updated] = await tx.update(agents).set({ updatedAt: this.deps.clock.now() }).where(eq(agents.id, agentId)).returning();
      return this.deps.events.append(tx, [{ type: 'tags_changed', agent: publicAgent(updated ?? row, tags), data: { added, removed } }]);
    });
    this.deps.events.committed(events);
    return { id: agentId };
  }

  /** Applies one configuration write; a real change bumps the revision agents poll for. */
  private async changeConfiguration(agentId: string, key: string, write: (tx: Db, now: Date) => Promise<'set' | 'deleted' | undefined>) {
    const events = await this.db.transaction(async (tx) => {
      await this.lockAgent(tx, agentId);
      const now = this.deps.clock.now();
      const action = await write(tx, now);
      if (!action) return [];
      const [row] = await tx
        .update(agents)
        .set({ configurationRevision: sql`${agents.configurationRevision} + 1`, updatedAt: now })
        .where(eq(agents.id, agentId))
        .returning();
      const tags = await this.tagsOf(tx, agentId);
      return this.deps.events.append(tx, [{ type: 'configuration_changed', agent: publicAgent(row, tags), data: { key, action, revision: row.configurationRevision } }]);
    });
    this.deps.events.committed(events);
    return { id: agentId };
  }

  /** Configuration as the agent itself reads it (or an operator), with the revision it belongs to. */
  async configurationFor(principal: Principal | undefined, agentId: string) {
    if (principal?.role === 'agent') authorizeAgent(principal, agentId);
    else authorize(principal, 'read');
    const agent = isUuid(agentId)
      ? await this.db.query.agents.findFirst({ where: { id: agentId }, with: { configuration: { orderBy: { key: 'asc' } } } })
      : undefined;
    if (!agent) throw notFound(`agent ${agentId}`);
    if (principal?.role === 'agent') verifyAgentToken(principal, agent.tokenHash);
    return { revision: agent.configurationRevision, entries: agent.configuration };
  }
}
