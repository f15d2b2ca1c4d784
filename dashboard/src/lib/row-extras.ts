import type { Heartbeat, PushedHeartbeat } from './documents';
import { prependHeartbeats, RECENT_HEARTBEATS } from './heartbeats';

/**
 * What a fleet row shows beside the agent itself: its recent heartbeats (the sparkline)
 * and its open alerts (the marker). Events carry neither, so they live here, keyed by
 * agent id, filled from each page read and kept current by the heartbeat and alert feeds.
 */
export type Severity = 'CRITICAL' | 'WARNING' | 'INFO';
export interface OpenAlert {
  id: string;
  state: 'FIRING' | 'PENDING' | 'RESOLVED';
  severity: Severity;
}
export interface PageNode {
  id: string;
  recentHeartbeats?: readonly Heartbeat[] | null;
  alerts?: readonly OpenAlert[] | null;
}
export type BeatMap = ReadonlyMap<string, readonly Heartbeat[]>;
/** Agent id -> its firing alerts by id (pending ones are not yet a problem to show). */
export type AlertMap = ReadonlyMap<string, ReadonlyMap<string, Severity>>;

export function beatsFromPage(beats: BeatMap, nodes: readonly PageNode[]): BeatMap {
  const next = new Map(beats);
  for (const n of nodes) if (n.recentHeartbeats) next.set(n.id, prependHeartbeats(next.get(n.id) ?? [], n.recentHeartbeats));
  return next;
}

/** Pushed heartbeats added to the agents already known (only rows on screen are pushed). */
export function beatsFromPush(beats: BeatMap, pushed: readonly PushedHeartbeat[]): BeatMap {
  if (pushed.length === 0) return beats;
  const next = new Map(beats);
  const byAgent = new Map<string, Heartbeat[]>();
  for (const p of pushed) {
    const list = byAgent.get(p.agent.id) ?? [];
    list.push({ at: p.at, health: p.health });
    byAgent.set(p.agent.id, list);
  }
  for (const [id, list] of byAgent) next.set(id, prependHeartbeats(next.get(id) ?? [], list, RECENT_HEARTBEATS));
  return next;
}

export function alertsFromPage(alerts: AlertMap, nodes: readonly PageNode[]): AlertMap {
  const next = new Map(alerts);
  for (const n of nodes) {
    if (!n.alerts) continue;
    const firing = new Map(n.alerts.filter((a) => a.state === 'FIRING').map((a) => [a.id, a.severity] as const));
    if (firing.size) next.set(n.id, firing);
    else next.delete(n.id);
  }
  return next;
}

/** One alert as alertChanged reports it: firing adds it to its agent, anything else removes it. */
export function alertsFromChange(alerts: AlertMap, alert: OpenAlert & { agentId: string }): AlertMap {
  const had = alerts.get(alert.agentId);
  const firing = alert.state === 'FIRING';
  if (!firing && !had?.has(alert.id)) return alerts;
  const mine = new Map(had ?? []);
  if (firing) mine.set(alert.id, alert.severity);
  else mine.delete(alert.id);
  const next = new Map(alerts);
  if (mine.size) next.set(alert.agentId, mine);
  else next.delete(alert.agentId);
  return next;
}

const RANK: Record<Severity, number> = { CRITICAL: 0, WARNING: 1, INFO: 2 };

/** The marker of one row: how many alerts fire, and the worst severity among them. */
export function alertMarker(firing: ReadonlyMap<string, Severity> | undefined): { count: number; worst: Severity } | null {
  if (!firing || firing.size === 0) return null;
  const worst = [...firing.values()].sort((a, b) => RANK[a] - RANK[b])[0];
  return { count: firing.size, worst };
}

/**
 * The "why" of a row in a few words: a degraded or unhealthy agent's own message, an
 * offline agent's silence.
 */
export function rowReason(
  agent: { status: string; health: string; healthMessage?: string | null; lastHeartbeat: string | null },
  silence: (since: string) => string,
): string {
  if (agent.status === 'OFFLINE') return agent.lastHeartbeat ? `no heartbeat for ${silence(agent.lastHeartbeat)}` : 'never sent a heartbeat';
  if (agent.status === 'DEGRADED' || agent.health !== 'HEALTHY') {
    return agent.healthMessage?.trim() || `reports ${agent.health.toLowerCase()}`;
  }
  return '';
}

/** How many of `tags` fit in about `budget` characters as chips; the rest read "+N". */
export function fitTags(tags: readonly string[], budget = 22): { shown: string[]; more: number } {
  const shown: string[] = [];
  let used = 0;
  for (const t of tags) {
    const cost = t.length + 3;
    if (shown.length > 0 && used + cost > budget) break;
    shown.push(t);
    used += cost;
  }
  return { shown, more: tags.length - shown.length };
}

/**
 * Column widths from what the loaded rows hold (in ch, clamped), so a short column does not
 * take a third of the table while names are cut off. Computed over the loaded rows, not the
 * visible window, so the columns stay still while scrolling.
 */
export function contentWidths(
  agents: readonly { name: string; type: string; environment: string; host: string; port: number }[],
): { name: number; type: number; env: number; host: number } {
  let name = 6;
  let type = 5;
  let env = 6;
  let host = 6;
  for (const a of agents) {
    name = Math.max(name, a.name.length);
    type = Math.max(type, a.type.length);
    env = Math.max(env, a.environment.length);
    host = Math.max(host, a.host.length + String(a.port).length + 1);
  }
  const clamp = (n: number, max: number) => Math.min(n + 2, max);
  return { name: clamp(name, 36), type: clamp(type, 20), env: clamp(env, 16), host: clamp(host, 34) };
}

/**
 * CSS widths for columns that want `want` ch each and share `room` (a CSS length): the
 * narrow ones keep their width and the widest are cut to one level, the most the room
 * allows. That level L, where the widths min(want, L) add up to the room, is the largest of
 * (room - the k narrowest) / (the other n - k), over k; past the total, nothing is cut.
 */
export function shareWidths<K extends string>(want: Record<K, number>, room: string): Record<K, string> {
  const sorted = (Object.values(want) as number[]).sort((a, b) => a - b);
  let taken = 0;
  const levels = sorted.map((w, k) => {
    const level = `(${room} - ${taken}ch) / ${sorted.length - k}`;
    taken += w;
    return level;
  });
  const level = `max(${levels.join(', ')})`;
  return Object.fromEntries(Object.entries<number>(want).map(([key, ch]) => [key, `min(${ch}ch, ${level})`])) as Record<K, string>;
}
