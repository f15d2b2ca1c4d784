import { compareAgents, matchesQuery, type FleetQuery } from './fleet-query';
import type { AgentStatus, FleetAgent } from './types';

export type AgentEventType =
  | 'REGISTERED'
  | 'UPDATED'
  | 'DEREGISTERED'
  | 'STATUS_CHANGED'
  | 'TAGS_CHANGED'
  | 'CONFIGURATION_CHANGED'
  | 'INTERVAL_CHANGED';

export interface FleetEvent<A extends FleetAgent = FleetAgent> {
  cursor: string;
  type: AgentEventType;
  agentId: string;
  previousStatus: AgentStatus | null;
  status: AgentStatus | null;
  agent: A | null;
}

/** The loaded part of a view: a prefix of the server's ordered result. */
export interface FleetList<A extends FleetAgent = FleetAgent> {
  agents: A[];
  totalCount: number;
  /** Every matching agent is loaded, so a live insert may land anywhere, even at the end. */
  complete: boolean;
}

export interface StatusCounts {
  online: number;
  degraded: number;
  offline: number;
  total: number;
  /** Inactive agents the view's other filters select (hidden unless the view shows them). */
  inactive?: number;
}

const KEY: Record<AgentStatus, 'online' | 'degraded' | 'offline'> = {
  ONLINE: 'online',
  DEGRADED: 'degraded',
  OFFLINE: 'offline',
};

function sortedIndex<A>(list: readonly A[], item: A, cmp: (a: A, b: A) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(list[mid], item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Applies a batch of live events to a loaded list. Each event carries the agent's
 * snapshot after the change, so the last event per agent wins and replaying an event
 * twice is harmless. Changed rows are re-placed by the view's order; new matches are
 * inserted only where the loaded prefix covers them, the rest arrive with the next page.
 */
export function reduceFleet<A extends FleetAgent>(
  list: FleetList<A>,
  events: readonly FleetEvent<A>[],
  query: FleetQuery,
): FleetList<A> {
  if (events.length === 0) return list;
  const next = new Map<string, A | null>();
  for (const e of events) {
    if (e.type === 'DEREGISTERED') next.set(e.agentId, null);
    else if (e.agent) next.set(e.agentId, matchesQuery(e.agent, query) ? e.agent : null);
  }
  if (next.size === 0) return list;

  const cmp = compareAgents(query);
  const kept: A[] = [];
  const moved: A[] = [];
  const present = new Set<string>();
  let removed = 0;
  for (const agent of list.agents) {
    const update = next.get(agent.id);
    if (update === undefined) {
      kept.push(agent);
      continue;
    }
    present.add(agent.id);
    if (update === null) removed++;
    else moved.push(update);
  }
  for (const agent of moved) kept.splice(sortedIndex(kept, agent, cmp), 0, agent);

  let added = 0;
  for (const [id, agent] of next) {
    if (agent === null || present.has(id)) continue;
    const at = sortedIndex(kept, agent, cmp);
    if (!list.complete && at >= kept.length) continue;
    kept.splice(at, 0, agent);
    added++;
  }
  return { agents: kept, totalCount: Math.max(0, list.totalCount + added - removed), complete: list.complete };
}

/**
 * Moves the status cards by the events' deltas so they react at once; the fleet page
 * re-asks the server shortly after a burst, which settles anything a delta cannot know
 * (an agent whose previous tags or name are not loaded). A re-ask answered while a burst
 * is still in flight already counts the events that reach the page after it: a change
 * out of a status whose card is at 0 is one of those, and moves neither card (else a
 * fleet going offline at once would show more offline agents than it has).
 */
export function reduceCounts<A extends FleetAgent>(
  counts: StatusCounts,
  events: readonly FleetEvent<A>[],
  query: FleetQuery,
  known: (id: string) => A | undefined,
): StatusCounts {
  const c = { ...counts };
  const inView = (a: A) => matchesQuery(a, query, { withStatus: false });
  const add = (status: AgentStatus, n: number) => {
    c[KEY[status]] = Math.max(0, c[KEY[status]] + n);
    c.total = Math.max(0, c.total + n);
  };
  for (const e of events) {
    const before = known(e.agentId);
    const after = e.agent;
    if (e.type === 'REGISTERED' && after && !before) {
      if (inView(after)) add(after.status, 1);
    } else if (e.type === 'DEREGISTERED') {
      const last = after ?? before;
      if (last && inView(last)) add(last.status, -1);
    } else if (e.type === 'STATUS_CHANGED' && after && e.previousStatus && e.status) {
      if (inView(after) && c[KEY[e.previousStatus]] > 0) {
        add(e.previousStatus, -1);
        add(e.status, 1);
      }
    } else if (after && before) {
      const was = inView(before);
      const is = inView(after);
      if (was && !is) add(before.status, -1);
      if (!was && is) add(after.status, 1);
    }
  }
  return c;
}
