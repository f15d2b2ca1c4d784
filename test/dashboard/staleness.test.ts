import { describe, expect, it } from 'vitest';
import { heartbeatIsStale } from '../../dashboard/src/lib/staleness';

const now = Date.parse('2025-06-01T12:00:00.000Z');
const at = (msAgo: number) => new Date(now - msAgo).toISOString();
const base = { status: 'ONLINE' as const, heartbeatIntervalSeconds: 30, createdAt: at(600_000) };

describe('stale heartbeat times', () => {
  it('a heartbeat within its interval (plus grace) is fresh', () => {
    expect(heartbeatIsStale({ ...base, lastHeartbeat: at(31_000) }, now)).toBe(false);
  });

  it('an online agent whose next heartbeat was due is stale on screen, not offline', () => {
    expect(heartbeatIsStale({ ...base, lastHeartbeat: at(33_000) }, now)).toBe(true);
  });

  it('an offline agent is never refreshed for its heartbeat: its status event says it all', () => {
    expect(heartbeatIsStale({ ...base, status: 'OFFLINE', lastHeartbeat: at(600_000) }, now)).toBe(false);
  });

  it('an agent that never sent a heartbeat counts from its registration', () => {
    expect(heartbeatIsStale({ ...base, lastHeartbeat: null, createdAt: at(10_000) }, now)).toBe(false);
    expect(heartbeatIsStale({ ...base, lastHeartbeat: null, createdAt: at(40_000) }, now)).toBe(true);
  });
});
