import { authorize } from '../auth/authenticator';
import { actorOf, type Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Config } from '../config';
import type { Db } from '../db';
import { badInput } from '../errors';
import type { EventLog } from '../events/events.log';
import { appendAgentEvents } from './agents.events';
import { MAX_TAGS, parseFilter, parseTags } from './agents.input';
import type { PublicAgent } from './agents.snapshot';
import { bulkStore } from './agents.bulk.store';
import { agentStore, type AgentChangeRow } from './agents.store';
import { AGENT_KIND, type AgentFilter } from './agents.types';

/** The most agents one bulk action changes: one transaction, one event each (in statements of SLICE agents). */
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
      const ids = locked.map((a) => a.id);
      // All or nothing: one agent the tags would take past MAX_TAGS refuses the whole action.
      const over = { total: 0, agents: [] as { id: string; name: string; has: number; would: number }[] };
      await inSlices(ids, async (slice) => {
        const found = await bulkStore.overTagLimit(tx, slice, tags, MAX_TAGS, 3);
        over.total += found.total;
        over.agents.push(...found.agents.slice(0, 3 - over.agents.length));
        return [];
      });
      if (over.total > 0) {
        const some = over.agents.map((a) => `"${a.name}" (${a.id}) has ${a.has} and would hold ${a.would}`).join(', ');
        throw badInput({
          tags:
            `these tags would give ${over.total} of the ${locked.length} selected agents more tags than the limit of ${MAX_TAGS} per agent (${some}${over.total > over.agents.length ? ', …' : ''}). ` +
            'Nothing was changed, on any agent: remove tags from those agents first, add fewer tags, or leave those agents out of the filter',
        });
      }
      const added = await inSlices(ids, (slice) => bulkStore.addTagsMany(tx, slice, tags));
      return this.tagEvents(tx, added, 'added', now, actorOf(principal!));
    });
  }

  removeTags(principal: Principal | undefined, raw: Record<string, unknown> | null | undefined, rawTags: unknown): Promise<BulkResult> {
    const filter = this.selection(principal, raw);
    const tags = nonEmptyTags(rawTags);
    return this.run(filter, async (tx, locked, now) => {
      const removed = await inSlices(locked.map((a) => a.id), (slice) => bulkStore.removeTagsMany(tx, slice, tags));
      return this.tagEvents(tx, removed, 'removed', now, actorOf(principal!));
    });
  }

  deregister(principal: Principal | undefined, raw: Record<string, unknown> | null | undefined): Promise<BulkResult> {
    const filter = this.selection(principal, raw);
    return this.run(filter, async (tx, locked) => {
      const ids = locked.map((a) => a.id);
      // Events are built from the rows, so they are written before the rows go.
      const changes: AgentChangeRow[] = locked.map((a) => ({ agentId: a.id, type: 'deregistered', previousStatus: a.status, data: { actor: actorOf(principal!) } }));
      await appendAgentEvents(this.deps.events, tx, changes, { slice: SLICE, between: turn });
      await turn();
      await inSlices(ids, async (slice) => (await bulkStore.deleteMany(tx, slice), []));
      return ids;
    });
  }

  /** One tags_changed event per agent that gained (or lost) a tag, as setAgentTags writes it. */
  private async tagEvents(tx: Db, pairs: { agentId: string; tag: string }[], side: 'added' | 'removed', now: Date, actor: string): Promise<string[]> {
    const byAgent = new Map<string, string[]>();
    for (const { agentId, tag } of pairs) {
      const list = byAgent.get(agentId);
      if (list) list.push(tag);
      else byAgent.set(agentId, [tag]);
    }
    const ids = [...byAgent.keys()].sort();
    await inSlices(ids, async (slice) => (await bulkStore.touchMany(tx, slice, now), []));
    const changes: AgentChangeRow[] = ids.map((agentId) => {
      const tags = byAgent.get(agentId)!.sort();
      return { agentId, type: 'tags_changed', data: { added: side === 'added' ? tags : [], removed: side === 'removed' ? tags : [], actor } };
    });
    await turn();
    await appendAgentEvents(this.deps.events, tx, changes, { slice: SLICE, between: turn });
    return ids;
  }

  /**
   * Selects, locks and changes in one transaction, in statements of SLICE agents at most.
   * An empty selection, or one larger than MAX_BULK_AGENTS, is refused before anything is
   * written.
   */
  private async run(filter: AgentFilter, change: (tx: Db, locked: { id: string; status: PublicAgent['status'] }[], now: Date) => Promise<string[]>): Promise<BulkResult> {
    const { events, clock } = this.deps;
    return events.transaction(async (tx) => {
      const ids = await bulkStore.idsMatching(tx, filter, MAX_BULK_AGENTS + 1);
      if (ids.length > MAX_BULK_AGENTS) {
        throw badInput({
          filter: `selects more than ${MAX_BULK_AGENTS} agents, the most one bulk action changes; nothing was changed: narrow the filter (agentSelectionPreview counts what it selects) and act in parts`,
        });
      }
      await turn();
      await events.lockSubjects(tx, AGENT_KIND, ids);
      const locked = await inSlices(ids, (slice) => bulkStore.lockMatching(tx, slice, filter));
      if (locked.length === 0) throw badInput({ filter: noneSelected(filter, ids.length) });
      const changed = await change(tx, locked, clock.now());
      return { selected: locked.length, changed };
    });
  }
}

/**
 * Agents one statement of a bulk action covers. The embedded database runs each statement
 * on the server's own thread: 10 000 agents in one statement held the event loop for
 * 0.7–1.1 s (every other request, /health included, waited); 1 000 hold it for a tenth of
 * that, and the event loop has a turn between two statements. One transaction still.
 */
export const SLICE = 1000;

/** A turn of the event loop: other requests run between two statements of a bulk action. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs `each` on the ids SLICE at a time, in order, with a turn between slices; the results, concatenated. */
async function inSlices<T>(ids: string[], each: (slice: string[]) => Promise<T[]>): Promise<T[]> {
  if (ids.length <= SLICE) return each(ids);
  const all: T[] = [];
  for (let i = 0; i < ids.length; i += SLICE) {
    if (i > 0) await turn();
    for (const item of await each(ids.slice(i, i + SLICE))) all.push(item);
  }
  return all;
}

/** Why a bulk action found nothing to act on, and what to change. */
function noneSelected(filter: AgentFilter, found: number): string {
  if (found > 0) {
    return `the ${found === 1 ? 'agent it selected was' : `${found} agents it selected were`} changed or deregistered before they could be locked, and none matches it any more; nothing was changed: check the filter with agentSelectionPreview and try again`;
  }
  const others = (Object.keys(filter) as (keyof AgentFilter)[]).filter((k) => k !== 'ids' && k !== 'inactiveBefore' && filter[k] !== undefined);
  if (filter.ids) {
    return `none of its ${filter.ids.length} id${filter.ids.length === 1 ? '' : 's'} names a registered agent${others.length > 0 ? ` that also matches ${others.join(', ')}` : ''} (deregistered agents are not acted on); nothing was changed`;
  }
  return 'selects no agent: no registered agent matches it (agentSelectionPreview shows what a filter selects); nothing was changed';
}

function nonEmptyTags(raw: unknown): string[] {
  const tags = parseTags(raw);
  if (tags.length === 0) throw badInput({ tags: 'must hold at least one tag' });
  return tags;
}
