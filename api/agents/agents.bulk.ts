import { authorize } from '../auth/authenticator';
import { actorOf, type Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Db } from '../db';
import { badInput } from '../errors';
import type { EventLog } from '../events/events.log';
import { appendAgentEvents } from './agents.events';
import { parseFilter, parseTags } from './agents.input';
import type { PublicAgent } from './agents.snapshot';
import { bulkStore } from './agents.bulk.store';
import { agentStore, type AgentChangeRow } from './agents.store';
import { AGENT_KIND, type AgentFilter } from './agents.types';

/** The most agents one bulk action changes: one transaction, one event each. */
export const MAX_BULK_AGENTS = 10_000;
const MAX_PREVIEW = 100;

export interface BulkDeps {
  db: Db;
  events: EventLog;
  clock: Clock;
  config: Config;
}

export interface BulkResult {
  /** Agents the selection held when the action ran. */
  selected: number;
  /** Ids of those it changed (in id order), each with one event. */
  changed: string[];
}

/**
 * Actions on many agents at once (admins only): to explicit ids (`filter.ids`) or to all
 * that a filter selects. Each runs in one transaction: the agents are locked (their
 * subjects, then their rows, where the filter is checked again), changed together, and
 * each agent changed gets one event, as the one-agent mutations write.
 */
export class AgentBulkService {
  constructor(private readonly deps: BulkDeps) {}

  private selection(principal: Principal | undefined, raw: Record<string, unknown> | null | undefined): AgentFilter {
    authorize(principal, 'admin');
    const filter = parseFilter(raw);
    filter.inactiveBefore = new Date(this.deps.clock.now().getTime() - this.deps.config.inactiveAfterSeconds * 1000);
    return filter;
  }

  /** How many agents the selection holds now, and the first of them in natural name order. */
  async preview(principal: Principal | undefined, raw: Record<string, unknown> | null | undefined, first: number): Promise<{ count: number; agents: PublicAgent[] }> {
    const filter = this.selection(principal, raw);
    if (!Number.isInteger(first) || first < 0 || first > MAX_PREVIEW) throw badInput({ first: `must be from 0 to ${MAX_PREVIEW}` });
    const [count, agents] = await Promise.all([agentStore.count(this.deps.db, filter), bulkStore.firstMatching(this.deps.db, filter, first)]);
    return { count, agents };
  }

  addTags(principal: Principal | undefined, raw: Record<string, unknown> | null | undefined, rawTags: unknown): Promise<BulkResult> {
    const filter = this.selection(principal, raw);
    const tags = nonEmptyTags(rawTags);
    return this.run(filter, async (tx, locked, now) => {
      const added = await bulkStore.addTagsMany(tx, locked.map((a) => a.id), tags);
      return this.tagEvents(tx, added, 'added', now, actorOf(principal!));
    });
  }

  removeTags(principal: Principal | undefined, raw: Record<string, unknown> | null | undefined, rawTags: unknown): Promise<BulkResult> {
    const filter = this.selection(principal, raw);
    const tags = nonEmptyTags(rawTags);
    return this.run(filter, async (tx, locked, now) => {
      const removed = await bulkStore.removeTagsMany(tx, locked.map((a) => a.id), tags);
      return this.tagEvents(tx, removed, 'removed', now, actorOf(principal!));
    });
  }

  deregister(principal: Principal | undefined, raw: Record<string, unknown> | null | undefined): Promise<BulkResult> {
    const filter = this.selection(principal, raw);
    return this.run(filter, async (tx, locked) => {
      // Events are built from the rows, so they are written before the rows go.
      await appendAgentEvents(this.deps.events, tx, locked.map((a) => ({ agentId: a.id, type: 'deregistered', previousStatus: a.status, data: { actor: actorOf(principal!) } })));
      await bulkStore.deleteMany(tx, locked.map((a) => a.id));
      return locked.map((a) => a.id);
    });
  }

  /** One tags_changed event per agent that gained (or lost) a tag, as setAgentTags writes it. */
  private async tagEvents(tx: Db, pairs: { agentId: string; tag: string }[], side: 'added' | 'removed', now: Date, actor: string): Promise<string[]> {
    const byAgent = new Map<string, string[]>();
    for (const { agentId, tag } of pairs) byAgent.set(agentId, [...(byAgent.get(agentId) ?? []), tag]);
    const ids = [...byAgent.keys()].sort();
    await bulkStore.touchMany(tx, ids, now);
    const changes: AgentChangeRow[] = ids.map((agentId) => {
      const tags = byAgent.get(agentId)!.sort();
      return { agentId, type: 'tags_changed', data: { added: side === 'added' ? tags : [], removed: side === 'removed' ? tags : [], actor } };
    });
    await appendAgentEvents(this.deps.events, tx, changes);
    return ids;
  }

  /**
   * Selects, locks and changes in one transaction. An empty selection, or one larger than
   * MAX_BULK_AGENTS, is refused before anything is written.
   */
  private async run(filter: AgentFilter, change: (tx: Db, locked: { id: string; status: PublicAgent['status'] }[], now: Date) => Promise<string[]>): Promise<BulkResult> {
    const { events, clock } = this.deps;
    return events.transaction(async (tx) => {
      const ids = await bulkStore.idsMatching(tx, filter, MAX_BULK_AGENTS + 1);
      if (ids.length > MAX_BULK_AGENTS) {
        throw badInput({ filter: `selects more than ${MAX_BULK_AGENTS} agents; narrow the filter and act in parts` });
      }
      await events.lockSubjects(tx, AGENT_KIND, ids);
      const locked = await bulkStore.lockMatching(tx, ids, filter);
      if (locked.length === 0) throw badInput({ filter: 'selects no agent (with ids: none of them exists any more); nothing was changed' });
      const changed = await change(tx, locked, clock.now());
      return { selected: locked.length, changed };
    });
  }
}

function nonEmptyTags(raw: unknown): string[] {
  const tags = parseTags(raw);
  if (tags.length === 0) throw badInput({ tags: 'must hold at least one tag' });
  return tags;
}
