import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import { badInput } from '../errors';
import type { Channel } from '../events/channel';
import type { EventLog } from '../events/events.log';
import type { EventFeed } from '../events/feed';
import { parseCursor } from '../events/position';
import { resumableStream } from '../events/resumable';
import { isUuid } from '../validation';
import { toAgentEvent, type AgentEvent } from './agents.events';
import { matchesFilter } from './agents.filter';
import { parseFilter } from './agents.input';
import { AGENT_KIND, type AgentEventType, type AgentFilter } from './agents.types';
import type { PublicAgent } from './agents.snapshot';

const REPLAY_PAGE = 500;

/**
 * An event passes a filter when the agent matches it before or after the event, so a
 * live list learns both of agents that enter it and of agents that leave it.
 */
function passes(e: AgentEvent, filter: AgentFilter): boolean {
  if (matchesFilter(e.agent, filter)) return true;
  const before = agentBefore(e);
  return before === 'unknown' || (before !== undefined && matchesFilter(before, filter));
}

/**
 * The agent as it was before the event, as far as the event tells: its status before a
 * status change, its tags before a change of them; 'unknown' after a re-registration that
 * changed its type or metadata (the event names the fields, not their old values, so it
 * passes every filter); undefined when the event changed nothing a filter looks at.
 */
function agentBefore(e: AgentEvent): PublicAgent | 'unknown' | undefined {
  if (e.type === 'tags_changed') {
    const added = new Set(e.data.added as string[] | undefined);
    const removed = (e.data.removed as string[] | undefined) ?? [];
    return { ...e.agent, tags: [...e.agent.tags.filter((t) => !added.has(t)), ...removed] };
  }
  if (e.type === 'updated' && Array.isArray(e.data.changed) && e.data.changed.length > 0) return 'unknown';
  return e.previousStatus === null ? undefined : { ...e.agent, status: e.previousStatus };
}

/** Live, filtered, resumable views of the agent events in the log. */
export class AgentEventStream {
  /**
   * Called after each page a resuming subscription replays, before the next one is read:
   * lets a test commit events while a replay is under way, the seam a resume must cross.
   */
  onReplayPage?: () => Promise<void>;
  /** Events per replayed page. */
  replayPage = REPLAY_PAGE;

  constructor(
    private readonly feed: EventFeed,
    private readonly log: EventLog,
  ) {}

  /** Every event after `after` (replayed from the log), then live ones: see resumableStream. */
  events(principal: Principal | undefined, opts: { after?: unknown; filter?: Record<string, unknown> | null; types?: AgentEventType[] }): Channel<AgentEvent> {
    authorize(principal, 'read');
    const filter = parseFilter(opts.filter);
    return resumableStream({
      feed: this.feed,
      log: this.log,
      kind: AGENT_KIND,
      after: opts.after,
      replayPage: () => this.replayPage,
      onReplayPage: () => this.onReplayPage?.(),
      select: (record) => {
        const e = toAgentEvent(record);
        return e && (!opts.types || opts.types.includes(e.type)) && passes(e, filter) ? e : null;
      },
    });
  }

  /** Past events, oldest first: the `last` ones before `before` (or the newest), optionally of one agent. */
  async history(principal: Principal | undefined, opts: { agentId?: string; before?: unknown; last: number }): Promise<AgentEvent[]> {
    authorize(principal, 'read');
    const before = parseCursor(opts.before, 'before');
    if (opts.last < 1 || opts.last > 1000) throw badInput({ last: 'must be from 1 to 1000' });
    if (opts.agentId !== undefined && !isUuid(opts.agentId)) return [];
    const records = await this.log.before(before, opts.last, { kind: AGENT_KIND, subjectId: opts.agentId?.toLowerCase() });
    return records.map(toAgentEvent).filter((e): e is AgentEvent => e !== null);
  }

  /** A deregistered agent as its deregistration event left it, with when; undefined for any other id. */
  async deregistered(principal: Principal | undefined, agentId: string): Promise<(PublicAgent & { deregisteredAt: Date }) | undefined> {
    const [last] = await this.history(principal, { agentId, last: 1 });
    return last?.type === 'deregistered' ? { ...last.agent, deregisteredAt: last.at } : undefined;
  }

  statusChanges(principal: Principal | undefined, filter: Record<string, unknown> | null | undefined) {
    return this.events(principal, { filter, types: ['status_changed'] });
  }
}
