import { describe, expect, it } from 'vitest';
import { RECENT_HEARTBEATS } from '../../api/agents/agents.table';
import { since } from '../../api/liveness/heartbeat.feed';
import type { WatchedAgent } from '../../api/liveness/liveness.store';

type Health = WatchedAgent['health'];
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
/** The i-th heartbeat of the test agent, i seconds after T0. */
const at = (i: number) => new Date(T0 + i * 1000);

/** A row after heartbeats 1..n (newest first in the history, trimmed as the batch UPDATE trims it). */
function rowAfter(n: number, health: (i: number) => Health = () => 'healthy'): WatchedAgent {
  const taken = Array.from({ length: n }, (_, k) => n - k).slice(0, RECENT_HEARTBEATS);
  return {
    id: 'a',
    lastHeartbeat: n > 0 ? at(n) : null,
    health: n > 0 ? health(n) : 'healthy',
    recentHeartbeatAt: taken.map(at),
    recentHealth: taken.map(health),
  } as WatchedAgent;
}

const seconds = (list: { at: Date }[]) => list.map((h) => (h.at.getTime() - T0) / 1000);

describe('since(): the heartbeats a reader has not seen, from the row’s history', () => {
  it('reports every heartbeat taken since the last one seen, oldest first, each with its own health', () => {
    const health = (i: number): Health => (i === 6 ? 'degraded' : i === 7 ? 'unhealthy' : 'healthy');
    const news = since(rowAfter(8, health), at(5).getTime());
    expect(seconds(news)).toEqual([6, 7, 8]);
    expect(news.map((h) => h.health)).toEqual(['degraded', 'unhealthy', 'healthy']);
    expect(news.every((h) => h.agent.id === 'a')).toBe(true);
  });

  it('reports the whole history when nothing was seen before (an agent that had never sent one)', () => {
    expect(seconds(since(rowAfter(3), null))).toEqual([1, 2, 3]);
  });

  it('reports nothing when the last one seen is still the newest', () => {
    expect(since(rowAfter(4), at(4).getTime())).toEqual([]);
  });

  it('reports the whole history when the time seen is not in it', () => {
    // No entry holds the time seen, so which are new cannot be told: all that is kept is reported.
    expect(seconds(since(rowAfter(5), at(2).getTime() + 1))).toEqual([1, 2, 3, 4, 5]);
  });

  it(`keeps only the last ${RECENT_HEARTBEATS} when more were taken between two reads; the older are lost`, () => {
    const news = since(rowAfter(40), at(5).getTime());
    expect(news).toHaveLength(RECENT_HEARTBEATS);
    expect(seconds(news)).toEqual(Array.from({ length: RECENT_HEARTBEATS }, (_, k) => 11 + k));
  });

  it('cuts by position, so an entry whose time is not later (another replica’s clock) is still reported', () => {
    // Replica B, its clock 2 s behind, wrote the newest entry: earlier than the one seen.
    const row = rowAfter(3);
    row.recentHeartbeatAt = [at(1), ...row.recentHeartbeatAt];
    row.recentHealth = ['degraded', ...row.recentHealth];
    row.lastHeartbeat = at(1);
    row.health = 'degraded';
    const news = since(row, at(3).getTime());
    expect(seconds(news)).toEqual([1]);
    expect(news[0].health).toBe('degraded');
  });

  it('reports the last heartbeat of a row without history', () => {
    const row = { ...rowAfter(2), recentHeartbeatAt: [], recentHealth: [] } as WatchedAgent;
    expect(since(row, at(1).getTime()).map((h) => [h.at.getTime(), h.health])).toEqual([[at(2).getTime(), 'healthy']]);
    expect(since(row, at(2).getTime())).toEqual([]);
  });
});
