import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { invalidAgentToken } from '../auth/agent-tokens';
import { authorize, authorizeAgent, requirePrincipal, verifyAgentToken } from '../auth/authenticator';
import { actorOf, hashToken, newAgentToken, type Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Db } from '../db';
import { AppError, notFound } from '../errors';
import type { EventLog } from '../events/events.log';
import type { LivenessPolicy } from '../liveness/policy';
import { isUuid } from '../validation';
import { appendAgentEvents } from './agents.events';
import { agentFilterSql } from './agents.filter';
import { parseConfigKey, parseConfigValue, parseFilter, parseGroupBy, parseRegistration, parseTags } from './agents.input';
import { publicAgent, type PublicAgent } from './agents.snapshot';
import { agentStore, type AgentChangeRow } from './agents.store';
import type { AgentRow, agents } from './agents.table';
import { AGENT_KIND, type AgentFilter } from './agents.types';

export interface AgentDeps {
  db: Db;
  events: EventLog;
  clock: Clock;
  config: Config;
  policy: LivenessPolicy;
}

const notOwnIdentity = () =>
  new AppError(
    'FORBIDDEN',
    "an agent token may re-register only its own agent (the same name, host, port and environment); register a new agent with an enrollment or admin token",
  );

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

  /**
   * Registers an agent, or re-registers the one with the same name, host, port and
   * environment: same id, updated fields, and a fresh token that revokes the old one.
   * The unique key makes concurrent registrations of one agent converge on one row.
   *
   * Re-registration is guarded (see `guardReregistration`): an agent that is alive can be
   * re-registered only with its own token or an admin token. Tags an admin set survive
   * it, and each change it makes is an event of its own.
   */
  async register(principal: Principal | undefined, raw: Record<string, unknown>): Promise<{ agent: PublicAgent; token: string; created: boolean }> {
    const caller = requirePrincipal(principal);
    if (caller.role !== 'agent') authorize(caller, 'register');
    // An enrollment key's defaults: its environment (the only one it may register in) and its tags, which count as an admin's.
    const key = caller.role === 'enrollment' ? caller.key : undefined;
    const input = parseRegistration(raw, this.deps.config, key?.defaultEnvironment);
    const keyTags = key?.defaultTags ?? [];
    const now = this.deps.clock.now();
    const fields = {
      type: input.type,
      metadata: input.metadata,
      heartbeatIntervalSeconds: input.heartbeatIntervalSeconds,
      ...this.deps.policy.initial(now, input.heartbeatIntervalSeconds),
      updatedAt: now,
    };
    const identity = { name: input.name, host: input.host, port: input.port, environment: input.environment };
    // A new agent is one insert. One that exists is changed in a transaction of its own,
    // which locks it before writing (EventLog.lockSubjects), so its events stay in order
    // with those of heartbeats and sweeps that change it at the same time.
    return retryIf(Vanished, async () => {
      // An agent's own token re-registers that agent; it never creates one.
      if (caller.role !== 'agent') {
        const created = await this.deps.events.transaction(async (tx) => {
          const id = randomUUID();
          const token = newAgentToken(id);
          this.deps.events.created(tx, AGENT_KIND, id);
          const row = await agentStore.insertNew(tx, { id, ...identity, tokenHash: hashToken(token), createdAt: now, statusChangedAt: now, ...fields });
          if (!row) return undefined;
          if (input.tags) await agentStore.putTags(tx, id, input.tags.filter((t) => !keyTags.includes(t)), 'agent');
          await agentStore.putTags(tx, id, keyTags, 'admin');
          await this.append(tx, [{ agentId: id, type: 'registered', status: row.status, data: { reregistered: false, actor: actorOf(caller) } }]);
          return { agent: publicAgent(row, [...new Set([...(input.tags ?? []), ...keyTags])].sort()), token, created: true };
        });
        if (created) return created;
      }
      const existing = await agentStore.idByIdentity(this.db, identity);
      if (caller.role === 'agent' && existing !== caller.agentId) throw notOwnIdentity();
      // Deregistered since our insert found it: the caller may simply retry.
      if (!existing) throw new Vanished();
      return this.deps.events.transaction(async (tx) => {
        await this.deps.events.lockSubjects(tx, AGENT_KIND, [existing]);
        const current = await agentStore.lock(tx, existing);
        if (!current) {
          if (caller.role === 'agent') throw invalidAgentToken();
          throw new Vanished();
        }
        this.guardReregistration(caller, current, now);
        const token = newAgentToken(existing);
        const statusChangedAt = current.status === fields.status ? current.statusChangedAt : now;
        const row = await agentStore.update(tx, existing, { ...fields, statusChangedAt, tokenHash: hashToken(token) });
        const changed = (['type', 'metadata'] as const).filter((f) => !isDeepStrictEqual(current[f], row[f]));
        const changes: AgentChangeRow[] = [{ agentId: existing, type: 'updated', status: row.status, data: { reregistered: true, changed, actor: actorOf(caller) } }];
        const tagChange = input.tags || keyTags.length ? await this.registrationTags(tx, existing, input.tags, keyTags) : undefined;
        if (tagChange) changes.push({ agentId: existing, type: 'tags_changed', data: { ...tagChange.diff, reregistered: true, actor: actorOf(caller) } });
        if (current.heartbeatIntervalSeconds !== row.heartbeatIntervalSeconds) {
          changes.push({
            agentId: existing,
            type: 'interval_changed',
            data: { previous: current.heartbeatIntervalSeconds, interval: row.heartbeatIntervalSeconds, reregistered: true, actor: actorOf(caller) },
          });
        }
        if (current.status !== row.status) {
          changes.push({ agentId: existing, type: 'status_changed', previousStatus: current.status, status: row.status, reason: this.deps.policy.reasons.reregistered });
        }
        await this.append(tx, changes);
        const tags = tagChange?.tags ?? (await agentStore.tagsOf(tx, existing));
        return { agent: publicAgent(row, tags), token, created: false };
      });
    });
  }

  /**
   * Who may re-register an agent that exists (Consul's and Fleet's rule): its own token,
   * checked here against the locked row, or an admin, always; the enrollment token only
   * once the agent is offline or has never sent a heartbeat, so a shared secret cannot
   * take over a live agent (its token, interval and metadata).
   */
  private guardReregistration(caller: Principal, current: AgentRow, now: Date): void {
    if (caller.role === 'agent') return verifyAgentToken(caller, current.tokenHash);
    if (caller.role === 'admin') return;
    const alive = current.status !== 'offline' && current.lastHeartbeat !== null && (current.offlineAt === null || current.offlineAt > now);
    if (alive) {
      throw new AppError(
        'CONFLICT',
        `agent "${current.name}" (${current.id}) is ${current.status} and already registered: re-register it with its own token ` +
          '(Authorization: Bearer am_agent_…), or ask an admin to re-register or deregister it; an enrollment token may re-register it only once it is offline',
      );
    }
  }

  /**
   * A registration's tags replace the agent's own earlier ones; an admin's stay whatever
   * it sends. Undefined when nothing changes.
   */
  private async registrationTags(
    tx: Db,
    agentId: string,
    sent: string[] | undefined,
    keyTags: string[],
  ): Promise<{ tags: string[]; diff: { added: string[]; removed: string[] } } | undefined> {
    const before = await agentStore.tagSources(tx, agentId);
    const had = new Set(before.map((t) => t.tag));
    const wanted = [...new Set([...(sent ?? []), ...keyTags])];
    const keep = new Set(wanted);
    const removed = sent ? before.filter((t) => t.source === 'agent' && !keep.has(t.tag)).map((t) => t.tag) : [];
    const added = wanted.filter((t) => !had.has(t)).sort();
    // The key's tags become an admin's even where the agent had set them already.
    await agentStore.putTags(tx, agentId, keyTags, 'admin');
    if (added.length === 0 && removed.length === 0) return undefined;
    await agentStore.removeTags(tx, agentId, removed);
    await agentStore.putTags(tx, agentId, added.filter((t) => !keyTags.includes(t)), 'agent');
    const tags = [...new Set([...before.map((t) => t.tag).filter((t) => !removed.includes(t)), ...added])].sort();
    return { tags, diff: { added, removed } };
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

  setConfiguration(principal: Principal | undefined, agentId: string, rawKey: unknown, rawValue: unknown) {
    authorize(principal, 'admin');
    const key = parseConfigKey(rawKey);
    const value = parseConfigValue(rawValue);
    return this.changeConfiguration(principal!, agentId, key, (tx, now) => agentStore.setConfiguration(tx, agentId, key, value, now));
  }

  deleteConfiguration(principal: Principal | undefined, agentId: string, rawKey: unknown) {
    authorize(principal, 'admin');
    const key = parseConfigKey(rawKey);
    return this.changeConfiguration(principal!, agentId, key, (tx) => agentStore.deleteConfiguration(tx, agentId, key));
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
      await this.lock(tx, agentId);
      const current = await agentStore.tagsOf(tx, agentId);
      const { tags, claimed } = next(current);
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

  /** Applies one configuration write; a real change bumps the revision agents poll for. */
  private async changeConfiguration(principal: Principal, agentId: string, key: string, write: (tx: Db, now: Date) => Promise<'set' | 'deleted' | undefined>) {
    await this.deps.events.transaction(async (tx) => {
      await this.lock(tx, agentId);
      const now = this.deps.clock.now();
      const action = await write(tx, now);
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
    if (!agent) throw notFound(`agent ${agentId}`);
    if (principal?.role === 'agent') verifyAgentToken(principal, agent.tokenHash);
    return { revision: agent.configurationRevision, entries: agent.configuration };
  }
}
