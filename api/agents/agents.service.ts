import { authorize, authorizeAgent, verifyAgentToken } from '../auth/authenticator';
import { invalidAgentToken } from '../auth/agent-tokens';
import { actorOf, type Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Db } from '../db';
import { notFound } from '../errors';
import type { EventLog } from '../events/events.log';
import type { LivenessPolicy } from '../liveness/policy';
import { isUuid } from '../validation';
import { appendAgentEvents } from './agents.events';
import { agentFilterSql } from './agents.filter';
import { configurationConflict, MAX_TAGS, parseConfigKey, parseConfigValue, parseFilter, parseGroupBy, parseIfRevision, parseTags, tooManyTags } from './agents.input';
import { registerAgent } from './agents.registration';
import type { PublicAgent } from './agents.snapshot';
import { agentStore, type AgentChangeRow } from './agents.store';
import type { agents } from './agents.table';
import { AGENT_KIND, type AgentFilter } from './agents.types';

export interface AgentDeps {
  db: Db;
  events: EventLog;
  clock: Clock;
  config: Config;
  policy: LivenessPolicy;
}

/** A filter as SQL for a relational query's `where`. */
export type AgentWhere = { RAW: (t: typeof agents) => ReturnType<typeof agentFilterSql> };

/** The registry: the only code that writes agents, their tags and configuration. */
export class AgentService {
  constructor(private readonly deps: AgentDeps) {}

  private get db() {
    return this.deps.db;
  }

  private append(tx: Db, changes: AgentChangeRow[]) {
    return appendAgentEvents(this.deps.events, tx, changes);
  }

  /** See `registerAgent`. */
  register(principal: Principal | undefined, raw: Record<string, unknown>) {
    return registerAgent(this.deps, principal, raw);
  }

  async get(principal: Principal | undefined, id: string): Promise<PublicAgent> {
    authorize(principal, 'read');
    const agent = isUuid(id) ? await agentStore.withTags(this.db, id) : undefined;
    if (!agent) throw notFound(`agent ${id}`);
    return agent;
  }

  /**
   * Runs a relational query over the agents a filter selects. `run` adds paging,
   * ordering and the selection (a GraphQL connection passes its planned query here).
   */
  find<T>(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined, run: (where: AgentWhere, filter: AgentFilter) => T): T {
    authorize(principal, 'read');
    const filter = parseFilter(rawFilter);
    filter.inactiveBefore = new Date(this.deps.clock.now().getTime() - this.deps.config.inactiveAfterSeconds * 1000);
    return run({ RAW: (t) => agentFilterSql(t, filter) }, filter);
  }

  /** Runs `load` for a well-formed id; a malformed one simply matches nothing. */
  async findOne<T>(principal: Principal | undefined, id: string, load: (id: string) => Promise<T>): Promise<T | undefined> {
    authorize(principal, 'read');
    return isUuid(id) ? load(id) : undefined;
  }

  list(principal: Principal | undefined, rawFilter: Record<string, unknown>, page: { limit: number; offset: number }): Promise<PublicAgent[]> {
    return this.find(principal, rawFilter, (_, filter) => agentStore.list(this.db, filter, page));
  }

  count(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined): Promise<number> {
    return this.find(principal, rawFilter, (_, filter) => agentStore.count(this.db, filter));
  }

  /** Counts per status; the filter's own status is ignored so the counts can act as filters. */
  statusCounts(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined) {
    return this.find(principal, rawFilter, (_, filter) => agentStore.statusCounts(this.db, filter));
  }

  /** Status counts per group (environment, type, tag or a metadata key) of the agents a filter selects. */
  groups(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined, rawBy: Record<string, unknown>) {
    return this.find(principal, rawFilter, (_, filter) => agentStore.groups(this.db, filter, parseGroupBy(rawBy)));
  }

  /** The values in use, for filter pickers. */
  facets(principal: Principal | undefined) {
    authorize(principal, 'read');
    return agentStore.facets(this.db);
  }

  /** Tags of many agents at once (the GraphQL loader batches a page's agents into one call). */
  tagsOf(ids: string[]): Promise<Map<string, string[]>> {
    return agentStore.tagsOfMany(this.db, ids);
  }

  /** Configuration of many agents at once (the GraphQL loader batches a page's agents into one call). */
  configurationsOf(ids: string[]) {
    return agentStore.configurationOfMany(this.db, ids);
  }

  /** Runs a query Pothos planned for the agents a filter selects. */
  connection<Q>(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined, plan: (where: AgentWhere) => Q) {
    return this.find(principal, rawFilter, (where) => agentStore.findManyPlanned(this.db, plan(where) as never));
  }

  /** One agent by id, with the client's planned selection; undefined when there is none. */
  one<Q>(principal: Principal | undefined, id: string, plan: (id: string) => Q) {
    return this.findOne(principal, id, (id) => agentStore.findFirstPlanned(this.db, plan(id) as never));
  }

  /** The tags become exactly these, all of them the admin's (a registration cannot remove them). */
  setTags(principal: Principal | undefined, agentId: string, raw: unknown) {
    authorize(principal, 'admin');
    const tags = parseTags(raw);
    return this.changeTags(principal!, agentId, () => ({ tags, claimed: tags }));
  }

  addTags(principal: Principal | undefined, agentId: string, raw: unknown) {
    authorize(principal, 'admin');
    const tags = parseTags(raw);
    return this.changeTags(principal!, agentId, (current) => ({ tags: [...new Set([...current, ...tags])].sort(), claimed: tags }));
  }

  removeTags(principal: Principal | undefined, agentId: string, raw: unknown) {
    authorize(principal, 'admin');
    const tags = new Set(parseTags(raw));
    return this.changeTags(principal!, agentId, (current) => ({ tags: current.filter((t) => !tags.has(t)), claimed: [] }));
  }

  setConfiguration(principal: Principal | undefined, agentId: string, rawKey: unknown, rawValue: unknown, rawIfRevision?: unknown) {
    authorize(principal, 'admin');
    const key = parseConfigKey(rawKey);
    const value = parseConfigValue(rawValue);
    const ifRevision = parseIfRevision(rawIfRevision);
    return this.changeConfiguration(principal!, agentId, key, ifRevision, (tx, now, revision) => agentStore.setConfiguration(tx, agentId, key, value, now, revision));
  }

  deleteConfiguration(principal: Principal | undefined, agentId: string, rawKey: unknown, rawIfRevision?: unknown) {
    authorize(principal, 'admin');
    const key = parseConfigKey(rawKey);
    const ifRevision = parseIfRevision(rawIfRevision);
    return this.changeConfiguration(principal!, agentId, key, ifRevision, (tx) => agentStore.deleteConfiguration(tx, agentId, key));
  }

  async deregister(principal: Principal | undefined, id: string): Promise<{ id: string }> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`agent ${id}`);
    await this.deps.events.transaction(async (tx) => {
      await this.deps.events.lockSubjects(tx, AGENT_KIND, [id]);
      // The event is built from the row, so it is written before the row goes.
      const row = await agentStore.lock(tx, id);
      if (!row) throw notFound(`agent ${id}`);
      await this.append(tx, [{ agentId: id, type: 'deregistered', previousStatus: row.status, data: { actor: actorOf(principal!) } }]);
      await agentStore.delete(tx, id);
    });
    return { id };
  }

  /** Locks the agent (for its events first, then its row), or answers 404. */
  private async lock(tx: Db, agentId: string) {
    if (!isUuid(agentId)) throw notFound(`agent ${agentId}`);
    await this.deps.events.lockSubjects(tx, AGENT_KIND, [agentId]);
    const row = await agentStore.lock(tx, agentId);
    if (!row) throw notFound(`agent ${agentId}`);
    return row;
  }

  /** An admin's tag edit: `next` gives the new tags and those the admin names (which become the admin's). */
  private async changeTags(principal: Principal, agentId: string, next: (current: string[]) => { tags: string[]; claimed: string[] }): Promise<{ id: string }> {
    await this.deps.events.transaction(async (tx) => {
      const row = await this.lock(tx, agentId);
      const current = await agentStore.tagsOf(tx, agentId);
      const { tags, claimed } = next(current);
      if (tags.length > MAX_TAGS && tags.length > current.length) throw tooManyTags(row, current.length, tags.length);
      const added = tags.filter((t) => !current.includes(t));
      const removed = current.filter((t) => !tags.includes(t));
      await agentStore.putTags(tx, agentId, claimed, 'admin');
      if (added.length === 0 && removed.length === 0) return;
      await agentStore.removeTags(tx, agentId, removed);
      await agentStore.update(tx, agentId, { updatedAt: this.deps.clock.now() });
      await this.append(tx, [{ agentId, type: 'tags_changed', data: { added, removed, actor: actorOf(principal) } }]);
    });
    return { id: agentId };
  }

  /**
   * Applies one configuration write; a real change bumps the revision agents poll for, and
   * stamps the key with it. With `ifRevision` (check-and-set, as Consul's `cas`), the write
   * happens only while the key's revision is still that one (0: while the key is absent).
   */
  private async changeConfiguration(
    principal: Principal,
    agentId: string,
    key: string,
    ifRevision: number | undefined,
    write: (tx: Db, now: Date, revision: number) => Promise<'set' | 'deleted' | undefined>,
  ) {
    await this.deps.events.transaction(async (tx) => {
      const agent = await this.lock(tx, agentId);
      if (ifRevision !== undefined) {
        const current = await agentStore.configurationRevisionOf(tx, agentId, key);
        if (current !== ifRevision) throw configurationConflict(key, ifRevision, current);
      }
      const now = this.deps.clock.now();
      const action = await write(tx, now, agent.configurationRevision + 1);
      if (!action) return;
      const row = await agentStore.bumpConfigurationRevision(tx, agentId, now);
      await this.append(tx, [{ agentId, type: 'configuration_changed', data: { key, action, revision: row.configurationRevision, actor: actorOf(principal) } }]);
    });
    return { id: agentId };
  }

  /** Configuration as the agent itself reads it (or an operator), with the revision it belongs to. */
  async configurationFor(principal: Principal | undefined, agentId: string) {
    if (principal?.role === 'agent') authorizeAgent(principal, agentId);
    else authorize(principal, 'read');
    const agent = isUuid(agentId) ? await agentStore.withConfiguration(this.db, agentId) : undefined;
    if (principal?.role === 'agent') {
      // Its own agent is gone: the token died with it (a replica may still remember it as valid).
      if (!agent) throw invalidAgentToken();
      verifyAgentToken(principal, agent.tokenHash);
    }
    if (!agent) throw notFound(`agent ${agentId}`);
    return { revision: agent.configurationRevision, entries: agent.configuration };
  }
}
