import { describe, expect, it } from 'vitest';
import type { PushedHeartbeat } from '../../dashboard/src/lib/documents';
import { DEFAULT_QUERY } from '../../dashboard/src/lib/fleet-query';
import { mergeHeartbeats, prependHeartbeats, stripItems } from '../../dashboard/src/lib/heartbeats';
import type { AgentStatus } from '../../dashboard/src/lib/types';
import { agent } from './fixtures';

const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
type Health = PushedHeartbeat['health'];

function pushed(id: string, s: number, health: Health = 'HEALTHY', status: AgentStatus = health === 'HEALTHY' ? 'ONLINE' : 'DEGRADED'): PushedHeartbeat {
  return { at: at(s), health, agent: { id, status, health, healthMessage: null, lastHeartbeat: at(s), offlineAt: at(s + 90), statusChangedAt: '2025-01-01T00:00:00.000Z' } };
}

const row = (overrides: Parameters<typeof agent>[0] = {}) => ({ ...agent(overrides), health: 'HEALTHY' as Health });

describe('prependHeartbeats', () => {
  it('puts pushed heartbeats first, newest first, each once, and keeps at most 30', () => {
    const strip = Array.from({ length: 30 }, (_, i) => ({ at: at(30 - i), health: 'HEALTHY' as Health }));
    const next = prependHeartbeats(strip, [
      { at: at(31), health: 'DEGRADED' },
      { at: at(32), health: 'UNHEALTHY' },
      { at: at(30), health: 'HEALTHY' }, // already there
    ]);
    expect(next).toHaveLength(30);
    expect(next.slice(0, 3)).toEqual([
      { at: at(32), health: 'UNHEALTHY' },
      { at: at(31), health: 'DEGRADED' },
      { at: at(30), health: 'HEALTHY' },
    ]);
    expect(next.at(-1)!.at).toBe(at(3));
  });
});

describe('mergeHeartbeats', () => {
  it('brings lastHeartbeat, offlineAt, status and health of loaded rows up to date', () => {
    const a = row({ lastHeartbeat: at(0) });
    const b = row({ lastHeartbeat: at(0) });
    const merged = mergeHeartbeats({ agents: [a, b], totalCount: 2, complete: true }, [pushed(a.id, 10), pushed(a.id, 20, 'DEGRADED')], DEFAULT_QUERY);
    const updated = merged.agents.find((x) => x.id === a.id)!;
    expect(updated).toMatchObject({ lastHeartbeat: at(20), offlineAt: at(110), status: 'DEGRADED', health: 'DEGRADED', name: a.name, tags: a.tags });
    expect(merged.agents.find((x) => x.id === b.id)).toBe(b);
  });

  it('never steps a row back to an older heartbeat, and adds no rows that are not loaded', () => {
    const a = row({ lastHeartbeat: at(50), status: 'OFFLINE' });
    const list = { agents: [a], totalCount: 1, complete: true };
    const merged = mergeHeartbeats(list, [pushed(a.id, 50), pushed(a.id, 40), pushed('someone-else', 60)], DEFAULT_QUERY);
    expect(merged.agents).toEqual([a]);
    expect(merged.totalCount).toBe(1);
  });

  it('re-places a row by the view’s order and drops one that leaves the view', () => {
    const older = row({ name: 'older', lastHeartbeat: at(0) });
    const newer = row({ name: 'newer', lastHeartbeat: at(5) });
    const byHeartbeat = { ...DEFAULT_QUERY, sort: 'LAST_HEARTBEAT' as const, direction: 'DESC' as const };
    const list = { agents: [newer, older], totalCount: 2, complete: true };
    expect(mergeHeartbeats(list, [pushed(older.id, 9)], byHeartbeat).agents.map((x) => x.name)).toEqual(['older', 'newer']);

    const onlineOnly = { ...DEFAULT_QUERY, status: ['ONLINE' as const] };
    const left = mergeHeartbeats(list, [pushed(newer.id, 9, 'UNHEALTHY')], onlineOnly);
    expect(left.agents.map((x) => x.name)).toEqual(['older']);
    expect(left.totalCount).toBe(1);
  });
});

describe('stripItems', () => {
  it('lists heartbeats oldest first with a gap where more than 1.5 intervals passed', () => {
    const newestFirst = [
      { at: at(100), health: 'HEALTHY' as Health },
      { at: at(40), health: 'DEGRADED' as Health },
      { at: at(30), health: 'HEALTHY' as Health },
    ];
    expect(stripItems(newestFirst, 10)).toEqual([
      { kind: 'beat', at: at(30), health: 'HEALTHY' },
      { kind: 'beat', at: at(40), health: 'DEGRADED' },
      { kind: 'gap', ms: 60_000, after: at(40) },
      { kind: 'beat', at: at(100), health: 'HEALTHY' },
    ]);
    expect(stripItems(newestFirst, 60).filter((i) => i.kind === 'gap')).toEqual([]);
  });
});

describe('the silence after the last heartbeat', () => {
  const t0 = Date.parse('2025-06-01T12:00:00Z');
  const beats = [30_000, 20_000, 10_000].map((s) => ({ at: new Date(t0 - s).toISOString(), health: 'HEALTHY' as const }));

  it('ends the strip as an open gap once it is longer than the gap limit', () => {
    const items = stripItems(beats.slice().reverse(), 10, t0 + 7 * 60_000);
    const last = items.at(-1)!;
    expect(last).toMatchObject({ kind: 'gap', open: true, ms: 7 * 60_000 + 10_000 });
    expect(items.filter((i) => i.kind === 'beat')).toHaveLength(3);
  });

  it('adds nothing while heartbeats are on time, nor without a "now"', () => {
    expect(stripItems(beats.slice().reverse(), 10, t0).at(-1)!.kind).toBe('beat');
    expect(stripItems(beats.slice().reverse(), 10).at(-1)!.kind).toBe('beat');
  });
});
