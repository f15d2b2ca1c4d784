import { getTableColumns, sql } from 'drizzle-orm';
import { recentHeartbeats } from '../agents/agents.snapshot';
import { agents, type AgentRow } from '../agents/agents.table';
import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Db } from '../db';
import { AppError, badInput } from '../errors';
import { Channel } from '../events/channel';
import { isUuid } from '../validation';

/** Agents one subscription may watch. */
export const MAX_WATCHED_AGENTS = 500;
/** Undelivered batches a subscriber may fall behind by before its stream is ended. */
const MAX_BACKLOG = 100;

/** The agent as read for the feed: the whole row but its token hash (tags load on demand). */
export type WatchedAgent = Omit<AgentRow, 'tokenHash'>;

export interface AgentHeartbeat {
  agent: WatchedAgent;
  at: Date;
  health: AgentRow['health'];
}

export interface AgentHeartbeatBatch {
  heartbeats: AgentHeartbeat[];
}

interface Subscriber {
  ids: string[];
  /** last_heartbeat (ms, null for never) of each id as this subscriber last saw it; absent until primed. */
  seen: Map<string, number | null>;
  channel: Channel<AgentHeartbeatBatch>;
}

const { tokenHash: _secret, ...COLUMNS } = getTableColumns(agents);

/** Checks a subscription's ids before its stream starts; a duplicate is watched once. */
export function parseAgentIds(raw: readonly unknown[]): string[] {
  if (raw.length > MAX_WATCHED_AGENTS) {
    throw badInput({ agentIds: `at most ${MAX_WATCHED_AGENTS} agent ids per subscription, got ${raw.length}` });
  }
  const fields: Record<string, string> = {};
  raw.forEach((id, i) => {
    if (!isUuid(String(id))) fields[`agentIds.${i}`] = 'must be an agent UUID';
  });
  if (Object.keys(fields).length > 0) throw badInput(fields);
  return [...new Set(raw.map((id) => String(id).toLowerCase()))];
}

const millis = (d: Date | null) => (d ? d.getTime() : null);

/**
 * This replica's single reader for the agentHeartbeats subscription. While anyone
 * subscribes it reads, every `intervalMs`, the rows of the union of the subscribed ids
 * in one primary-key lookup, and hands each subscriber the heartbeats its agents took
 * since what that subscriber last saw. Reading the table, rather than hooking the
 * write path, makes heartbeats written by any replica reach subscribers on all of
 * them, and costs the heartbeat path nothing.
 *
 * A subscriber's ids are primed (seen, not reported) from the latest read when it
 * already covered them, otherwise by a read made as soon as it joins; only heartbeats
 * after that are reported. Unknown ids match no row and are never reported.
 */
export class HeartbeatFeed {
  private readonly subscribers = new Set<Subscriber>();
  /** last_heartbeat per id at the latest read, to prime a new subscriber at once. */
  private latest = new Map<string, number | null>();
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  /** A read was asked for while one ran: run one more right after it. */
  private again = false;
  private completedReads = 0;
  private stopped = false;

  constructor(private readonly deps: { db: Db; intervalMs: number; onError(err: unknown): void }) {}

  /** Validated before the stream starts, so bad input fails the subscription itself. */
  subscribe(principal: Principal | undefined, rawIds: readonly unknown[]): Channel<AgentHeartbeatBatch> {
    authorize(principal, 'read');
    const ids = parseAgentIds(rawIds);
    const seen = new Map<string, number | null>();
    for (const id of ids) if (this.latest.has(id)) seen.set(id, this.latest.get(id)!);
    const subscriber: Subscriber = {
      ids,
      seen,
      channel: new Channel<AgentHeartbeatBatch>(
        MAX_BACKLOG,
        () => this.remove(subscriber),
        () => new AppError('RATE_LIMITED', `subscriber fell more than ${MAX_BACKLOG} heartbeat batches behind; subscribe again`),
      ),
    };
    this.subscribers.add(subscriber);
    this.timer ??= setInterval(() => this.tick(), this.deps.intervalMs).unref();
    // Prime at once rather than at the next interval: a heartbeat taken between the
    // client's own read and the priming read would not be reported.
    if (seen.size < ids.length) setImmediate(() => this.tick(true));
    return subscriber.channel;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Reads completed so far. A subscriber is primed once two have completed after it
   * joined (the first of them may have begun before it did).
   */
  get reads(): number {
    return this.completedReads;
  }

  private remove(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.latest = new Map();
  }

  private tick(priming = false): void {
    if (this.stopped || this.subscribers.size === 0) return;
    if (this.reading) {
      this.again ||= priming;
      return;
    }
    this.reading = this.read()
      .catch((err) => {
        if (!this.stopped) this.deps.onError(err);
      })
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.tick();
        }
      });
  }

  private async read(): Promise<void> {
    const ids = new Set<string>();
    for (const s of this.subscribers) for (const id of s.ids) ids.add(id);
    const rows =
      ids.size === 0
        ? []
        : await this.deps.db
            .select(COLUMNS)
            .from(agents)
            .where(sql`${agents.id} = any(${sql.param([...ids])}::uuid[])`);
    // Everyone left during the read: keep no cache for a later subscriber to prime from.
    if (this.stopped || this.subscribers.size === 0) return;
    const byId = new Map(rows.map((r) => [r.id, r]));
    this.latest = new Map(rows.map((r) => [r.id, millis(r.lastHeartbeat)]));
    for (const s of this.subscribers) {
      const heartbeats: AgentHeartbeat[] = [];
      for (const id of s.ids) {
        const row = byId.get(id);
        if (!row) continue;
        const current = millis(row.lastHeartbeat);
        const primed = s.seen.has(id);
        const before = s.seen.get(id) ?? null;
        s.seen.set(id, current);
        if (primed && current !== null && current !== before) heartbeats.push(...since(row, before));
      }
      if (heartbeats.length > 0) s.channel.push({ heartbeats });
    }
    this.completedReads++;
  }

  /** Ends every subscription (shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.reading;
    for (const s of [...this.subscribers]) void s.channel.return();
  }
}

/**
 * The heartbeats in the row's history after the one last seen, oldest first. Matched by
 * position rather than by comparing times, so replicas whose clocks disagree a little
 * cannot hide one; a row without history still reports its last heartbeat.
 */
function since(row: WatchedAgent, seen: number | null): AgentHeartbeat[] {
  const history = recentHeartbeats(row);
  const at = seen === null ? -1 : history.findIndex((h) => h.at.getTime() === seen);
  const fresh = at === -1 ? history : history.slice(0, at);
  if (fresh.length === 0) return [{ agent: row, at: row.lastHeartbeat!, health: row.health }];
  return fresh.reverse().map((h) => ({ agent: row, at: h.at, health: h.health }));
}
