import { recentHeartbeats } from '../agents/agents.snapshot';
import type { AgentRow } from '../agents/agents.table';
import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Db } from '../db';
import { badInput } from '../errors';
import type { Channel } from '../events/channel';
import { PolledFeed, type PolledSubscriber } from '../events/polled-feed';
import { isUuid } from '../validation';
import type { LivenessStore, WatchedAgent } from './liveness.store';

/** Agents one subscription may watch. */
export const MAX_WATCHED_AGENTS = 500;
/** Undelivered batches a subscriber may fall behind by before its stream is ended. */
export const MAX_BACKLOG = 100;

export interface AgentHeartbeat {
  agent: WatchedAgent;
  at: Date;
  health: AgentRow['health'];
}

export interface AgentHeartbeatBatch {
  heartbeats: AgentHeartbeat[];
}

interface Subscriber extends PolledSubscriber<AgentHeartbeatBatch> {
  ids: string[];
  /** The ids sorted and joined: subscribers watching the same agents share batches. */
  key: string;
}

/** Checks a subscription's ids before its stream starts; a duplicate is watched once. */
export function parseAgentIds(raw: readonly unknown[]): string[] {
  if (raw.length === 0) throw badInput({ agentIds: 'give at least one agent id' });
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
 * subscribes it reads, every `intervalMs`, the union of the subscribed ids in one
 * statement that passes each id with the last_heartbeat the feed last saw and returns
 * only the rows whose last_heartbeat differs (`is distinct from`): an interval in which
 * no watched agent took a heartbeat costs a primary-key probe per id and no row data.
 * It hands each subscriber the heartbeats its agents took since the previous read.
 *
 * A new subscriber is primed by a read started as soon as it joins: that read hands
 * it, for each of its agents that has ever taken a heartbeat, one entry with the
 * agent's current state (its latest heartbeat), whether or not that heartbeat is new
 * to the client. So a heartbeat taken between a client's own query and its
 * subscription always reaches it; a client drops the entries it already has. Later
 * reads report only what is new. Unknown ids match no row and are never reported.
 *
 * Batches: subscribers watching the same set of agents (and primed alike) are handed
 * the same batch object, and the per-agent heartbeat objects of one read are shared by
 * all batches, so the server's shared subscription execution (it keys results by the
 * event object) runs once for such subscribers. Subscribers watching different sets
 * get different batch objects, each executed on its own.
 */
export class HeartbeatFeed extends PolledFeed<AgentHeartbeatBatch, Subscriber> {
  /** last_heartbeat (ms, null for never) of each watched id at the latest read. */
  private known = new Map<string, number | null>();

  constructor(private readonly deps: { db: Db; store: LivenessStore; intervalMs: number; onError(err: unknown): void }) {
    super({ what: 'heartbeat', intervalMs: deps.intervalMs, maxBacklog: MAX_BACKLOG, onError: deps.onError });
  }

  /** Validated before the stream starts, so bad input fails the subscription itself. */
  subscribe(principal: Principal | undefined, rawIds: readonly unknown[]): Channel<AgentHeartbeatBatch> {
    this.assertRunning();
    authorize(principal, 'read');
    const ids = parseAgentIds(rawIds);
    return this.join({ ids, key: [...ids].sort().join(',') });
  }

  protected forget(): void {
    this.known = new Map();
  }

  protected async read(): Promise<boolean> {
    // Those who join during the read are primed by the next one.
    const subscribers = [...this.subscribers];
    // Each id with the last_heartbeat to compare against: the one last read, or null when
    // a subscriber still needs the current state (null returns any row with a heartbeat).
    const compare = new Map<string, number | null>();
    for (const s of subscribers) {
      for (const id of s.ids) {
        const seen = s.primed ? (this.known.get(id) ?? null) : null;
        if (!compare.has(id) || seen === null) compare.set(id, seen);
      }
    }
    if (compare.size === 0) return false;
    const ids = [...compare.keys()];
    const seen = ids.map((id) => {
      const ms = compare.get(id)!;
      return ms === null ? null : new Date(ms).toISOString();
    });
    const rows = await this.deps.store.readWatched(this.deps.db, ids, seen);
    // Everyone left during the read: keep nothing for a later subscriber.
    if (this.stopped || this.subscribers.size === 0) return false;

    const changed = new Map(rows.map((r) => [r.id, r]));
    const before = this.known;
    // A row not returned still has the last_heartbeat it was compared against.
    this.known = new Map(ids.map((id) => [id, changed.has(id) ? millis(changed.get(id)!.lastHeartbeat) : compare.get(id)!]));

    // Per agent, computed once per read and shared by every batch that includes it.
    const fresh = new Map<string, AgentHeartbeat[]>();
    const newSince = (row: WatchedAgent): AgentHeartbeat[] => {
      let list = fresh.get(row.id);
      if (!list) {
        const previous = before.get(row.id) ?? null;
        const current = millis(row.lastHeartbeat);
        list = current === null || current === previous ? [] : since(row, previous);
        fresh.set(row.id, list);
      }
      return list;
    };
    const currentStates = new Map<string, AgentHeartbeat>();
    const currentOf = (row: WatchedAgent): AgentHeartbeat => {
      let state = currentStates.get(row.id);
      if (!state) currentStates.set(row.id, (state = latest(row)));
      return state;
    };

    const batches = new Map<string, AgentHeartbeatBatch | null>();
    for (const s of subscribers) {
      if (!this.subscribers.has(s)) continue;
      const key = `${s.primed ? 'new' : 'current'}:${s.key}`;
      let batch = batches.get(key);
      if (batch === undefined) {
        const heartbeats: AgentHeartbeat[] = [];
        for (const id of s.ids) {
          const row = changed.get(id);
          if (!row || row.lastHeartbeat === null) continue;
          if (s.primed) heartbeats.push(...newSince(row));
          else heartbeats.push(currentOf(row));
        }
        batch = heartbeats.length > 0 ? { heartbeats } : null;
        batches.set(key, batch);
      }
      s.primed = true;
      if (batch) s.channel.push(batch);
    }
    return true;
  }
}

/** The agent's latest heartbeat, with the health in effect after it. */
function latest(row: WatchedAgent): AgentHeartbeat {
  const [newest] = recentHeartbeats(row);
  const at = row.lastHeartbeat!;
  return { agent: row, at, health: newest && newest.at.getTime() === at.getTime() ? newest.health : row.health };
}

/**
 * The heartbeats in the row's history taken after `seen` (the last_heartbeat a reader
 * saw before, null for none), oldest first. The history is newest first; the entries
 * in front of the one whose time equals `seen` are the new ones. It is found by its
 * time but cut by position, not by comparing times, so replicas whose clocks disagree
 * a little cannot hide a heartbeat. When no entry has that time (more heartbeats than
 * the history keeps, RECENT_HEARTBEATS, were taken since), the whole history is
 * reported and the older ones are lost. A row without history reports its last
 * heartbeat alone, when that is not the one seen.
 */
export function since(row: WatchedAgent, seen: number | null): AgentHeartbeat[] {
  const history = recentHeartbeats(row);
  if (history.length === 0) {
    const last = row.lastHeartbeat;
    return last && last.getTime() !== seen ? [{ agent: row, at: last, health: row.health }] : [];
  }
  const at = seen === null ? -1 : history.findIndex((h) => h.at.getTime() === seen);
  const fresh = at === -1 ? history : history.slice(0, at);
  return fresh.reverse().map((h) => ({ agent: row, at: h.at, health: h.health }));
}
