import type { Heartbeat } from './documents';

export interface SparkTick {
  x: number;
  health: Heartbeat['health'];
}

/**
 * A row's heartbeat sparkline: the last `span` intervals up to now, one tick per
 * heartbeat at its time. Silence shows as empty track, including the silence after the
 * last heartbeat (`silentFrom`, as a fraction of the width), so an agent that stopped
 * never looks all green.
 */
export function sparkTicks(
  newestFirst: readonly Heartbeat[],
  intervalSeconds: number,
  now: number,
  span = 30,
): { ticks: SparkTick[]; silentFrom: number | null } {
  const window = Math.max(1, intervalSeconds) * 1000 * span;
  const from = now - window;
  const ticks: SparkTick[] = [];
  for (const h of newestFirst) {
    const t = Date.parse(h.at);
    if (Number.isNaN(t) || t < from) continue;
    ticks.push({ x: Math.min(1, (t - from) / window), health: h.health });
  }
  const last = newestFirst.length ? Date.parse(newestFirst[0].at) : Number.NEGATIVE_INFINITY;
  // A pause longer than one and a half intervals is silence, as in the agent page's strip.
  const silent = now - last > intervalSeconds * 1000 * 1.5;
  return { ticks: ticks.reverse(), silentFrom: silent ? Math.max(0, (last - from) / window) : null };
}
