import { matchesFilter } from '../agents/agents.filter';
import { parseFilter } from '../agents/agents.input';
import type { AgentFilter } from '../agents/agents.types';
import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import { AppError, badInput } from '../errors';
import { isUuid } from '../validation';
import { Channel } from './channel';
import type { EventLog } from './events.service';
import type { AgentEventMessage } from './events.types';
import type { EventFeed } from './feed';

const REPLAY_PAGE = 500;
/** Undelivered events a subscriber may fall behind by before its stream is ended. */
const MAX_BACKLOG = 10_000;

export function parseCursor(raw: unknown, path = 'after'): bigint | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,19}$/.test(raw)) throw badInput({ [path]: 'must be a cursor from an earlier event' });
  return BigInt(raw);
}

/**
 * An event passes a filter when the agent matches it before or after the event, so a
 * live list learns both of agents that enter it and of agents that leave it.
 */
function passes(e: AgentEventMessage, filter: AgentFilter): boolean {
  if (matchesFilter(e.agent, filter)) return true;
  return e.previousStatus !== null && matchesFilter({ ...e.agent, status: e.previousStatus }, filter);
}

/** Live, filtered, resumable views of the event log for subscribers. */
export class EventStream {
  constructor(
    private readonly feed: EventFeed,
    private readonly log: EventLog,
  ) {}

  /**
   * Every event after `after` (replayed from the log), then live ones. The live
   * subscription is taken before the replay starts and both are ordered by cursor,
   * so nothing falls between them and nothing is delivered twice.
   */
  events(principal: Principal | undefined, opts: { after?: unknown; filter?: Record<string, unknown> | null; types?: AgentEventMessage['type'][] }): Channel<AgentEventMessage> {
    authorize(principal, 'read');
    const filter = parseFilter(opts.filter);
    const after = parseCursor(opts.after);
    let cursor = after ?? this.feed.position;
    let replaying = after !== undefined;
    const held: AgentEventMessage[] = [];

    const deliver = (e: AgentEventMessage) => {
      const position = BigInt(e.cursor);
      if (position <= cursor) return;
      cursor = position;
      if ((!opts.types || opts.types.includes(e.type)) && passes(e, filter)) channel.push(e);
    };
    const unsubscribe = this.feed.subscribe((e) => (replaying ? held.push(e) : deliver(e)));
    const channel = new Channel<AgentEventMessage>(MAX_BACKLOG, unsubscribe, () =>
      new AppError('RATE_LIMITED', `subscriber fell more than ${MAX_BACKLOG} events behind; subscribe again with after: "${cursor}"`),
    );

    if (replaying) {
      void (async () => {
        // A cursor past the end of the log (say, from a database since recreated) would
        // otherwise wait in silence until the log caught up with it.
        if (cursor > (await this.log.lastCursor())) {
          throw badInput({ after: `is ahead of the newest event; subscribe without it, or with a cursor you received` });
        }
        for (;;) {
          const page = await this.log.after(cursor, REPLAY_PAGE);
          page.forEach(deliver);
          if (page.length < REPLAY_PAGE) break;
        }
        replaying = false;
        held.splice(0).forEach(deliver);
      })().catch((err) => channel.fail(err));
    }
    return channel;
  }

  async history(principal: Principal | undefined, opts: { agentId?: string; before?: bigint; last: number }) {
    authorize(principal, 'read');
    if (opts.last < 1 || opts.last > 1000) throw badInput({ last: 'must be from 1 to 1000' });
    if (opts.agentId !== undefined && !isUuid(opts.agentId)) return [];
    return this.log.before(opts.before, opts.last, opts.agentId);
  }

  statusChanges(principal: Principal | undefined, filter: Record<string, unknown> | null | undefined) {
    return this.events(principal, { filter, types: ['status_changed'] });
  }
}
