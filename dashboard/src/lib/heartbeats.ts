import type { Heartbeat, PushedHeartbeat } from './documents';
import type { FleetQuery } from './fleet-query';
import { reduceFleet, type FleetEvent, type FleetList } from './fleet-reducer';
import type { FleetAgent } from './types';

/** As many as the API keeps per agent (Agent.recentHeartbeats). */
export const RECENT_HEARTBEATS = 30;
/** A pause longer than this many intervals shows as a gap in the strip. */
export const GAP_INTERVALS = 1.5;

/** What a pushed heartbeat brings along for a row or the agent page. */
export interface Liveness {
  status: FleetAgent['status'];
  health: PushedHeartbeat['health'];
  lastHeartbeat: string | null;
  offlineAt: string | null;
  healthMessage?: string | null;
  statusChangedAt?: string;
}

const time = (at: string | null | undefined) => (at ? Date.parse(at) : Number.NEGATIVE_INFINITY);

/** Pushed heartbeats added to a strip: newest first, each once, at most `cap`. */
export function prependHeartbeats(strip: readonly Heartbeat[], pushed: readonly Heartbeat[], cap = RECENT_HEARTBEATS): Heartbeat[] {
  if (pushed.length === 0) return strip as Heartbeat[];
  const byTime = new Map<number, Heartbeat>();
  for (const h of [...strip, ...pushed]) byTime.set(time(h.at), { at: h.at, health: h.health });
  return [...byTime.entries()]
    .sort(([a], [b]) => b - a)
    .slice(0, cap)
    .map(([, h]) => h);
}

/** The newest pushed state of each agent in a batch. */
export function latestPerAgent<P extends { agent: { id: string; lastHeartbeat: string | null } }>(pushed: readonly P[]): Map<string, P['agent']> {
  const latest = new Map<string, P['agent']>();
  for (const { agent } of pushed) {
    const kept = latest.get(agent.id);
    if (!kept || time(agent.lastHeartbeat) > time(kept.lastHeartbeat)) latest.set(agent.id, agent);
  }
  return latest;
}

/**
 * `agent` with the pushed liveness fields, or undefined when the push is not newer than
 * what `agent` shows: a push read before a later event must not step a row back.
 */
export function withLiveness<A extends Liveness>(agent: A, pushed: Liveness): A | undefined {
  if (time(pushed.lastHeartbeat) <= time(agent.lastHeartbeat)) return undefined;
  const next = { ...agent, status: pushed.status, health: pushed.health, lastHeartbeat: pushed.lastHeartbeat, offlineAt: pushed.offlineAt };
  if (pushed.healthMessage !== undefined) next.healthMessage = pushed.healthMessage;
  if (pushed.statusChangedAt !== undefined) next.statusChangedAt = pushed.statusChangedAt;
  return next;
}

/**
 * Folds pushed heartbeats into the loaded rows. Only rows already loaded change (a pushed
 * agent is not a new match); each changed row is re-placed by the view's order, and one
 * that no longer matches it (say, now degraded in an "online" view) leaves, as it would
 * with a status event.
 */
export function mergeHeartbeats<A extends FleetAgent & Liveness>(
  list: FleetList<A>,
  pushed: readonly PushedHeartbeat[],
  query: FleetQuery,
): FleetList<A> {
  if (pushed.length === 0) return list;
  const latest = latestPerAgent(pushed);
  const updates: FleetEvent<A>[] = [];
  for (const row of list.agents) {
    const push = latest.get(row.id);
    const next = push && withLiveness(row, push);
    if (next) updates.push({ cursor: '', type: 'UPDATED', agentId: row.id, previousStatus: null, status: null, agent: next });
  }
  return reduceFleet(list, updates, query);
}

export type StripItem =
  | { kind: 'beat'; at: string; health: Heartbeat['health'] }
  | { kind: 'gap'; ms: number; after: string; open?: boolean };

/**
 * The strip, oldest first (newest at the right), with a gap wherever consecutive
 * heartbeats lie more than GAP_INTERVALS intervals apart. Given `now`, the silence after
 * the newest heartbeat, when that long, ends the strip as an open gap: an agent that
 * stopped does not look all green.
 */
export function stripItems(newestFirst: readonly Heartbeat[], intervalSeconds: number, now?: number): StripItem[] {
  const items: StripItem[] = [];
  const limit = intervalSeconds * 1000 * GAP_INTERVALS;
  for (let i = newestFirst.length - 1; i >= 0; i--) {
    const h = newestFirst[i];
    const older = newestFirst[i + 1];
    if (older) {
      const ms = time(h.at) - time(older.at);
      if (ms > limit) items.push({ kind: 'gap', ms, after: older.at });
    }
    items.push({ kind: 'beat', at: h.at, health: h.health });
  }
  const newest = newestFirst[0];
  if (now !== undefined && newest && now - time(newest.at) > limit) {
    items.push({ kind: 'gap', ms: now - time(newest.at), after: newest.at, open: true });
  }
  return items;
}
