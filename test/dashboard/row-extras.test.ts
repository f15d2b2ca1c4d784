import { describe, expect, it } from 'vitest';
import {
  alertMarker,
  alertsFromChange,
  alertsFromPage,
  beatsFromPush,
  contentWidths,
  fitTags,
  shareWidths,
  rowReason,
} from '../../dashboard/src/lib/row-extras';
import { sparkTicks } from '../../dashboard/src/lib/spark';
import { availabilityColumns, availabilitySummary } from '../../dashboard/src/lib/availability';

const now = Date.parse('2025-06-01T12:00:00Z');
const at = (msAgo: number) => new Date(now - msAgo).toISOString();

describe('why, in the row', () => {
  const span = (since: string) => `${Math.round((now - Date.parse(since)) / 60_000)} min`;

  it('a degraded agent shows its own health message, or its health when it sent none', () => {
    expect(rowReason({ status: 'DEGRADED', health: 'DEGRADED', healthMessage: 'disk 93% full', lastHeartbeat: at(0) }, span)).toBe('disk 93% full');
    expect(rowReason({ status: 'DEGRADED', health: 'UNHEALTHY', healthMessage: '  ', lastHeartbeat: at(0) }, span)).toBe('reports unhealthy');
  });

  it('an offline agent shows how long it has been silent; a healthy online one nothing', () => {
    expect(rowReason({ status: 'OFFLINE', health: 'HEALTHY', lastHeartbeat: at(7 * 60_000) }, span)).toBe('no heartbeat for 7 min');
    expect(rowReason({ status: 'OFFLINE', health: 'HEALTHY', lastHeartbeat: null }, span)).toBe('never sent a heartbeat');
    expect(rowReason({ status: 'ONLINE', health: 'HEALTHY', healthMessage: 'fine', lastHeartbeat: at(0) }, span)).toBe('');
  });

  it('tags fit as chips and the rest read +N', () => {
    expect(fitTags(['a', 'b'])).toEqual({ shown: ['a', 'b'], more: 0 });
    expect(fitTags(['critical-path', 'team-payments', 'eu', 'pci'])).toEqual({ shown: ['critical-path'], more: 3 });
    // One chip always shows, however long.
    expect(fitTags(['a-very-long-tag-name-that-is-longer-than-the-budget'])).toEqual({ shown: ['a-very-long-tag-name-that-is-longer-than-the-budget'], more: 0 });
    expect(fitTags([])).toEqual({ shown: [], more: 0 });
  });

  it('columns take the width of what they hold, within bounds', () => {
    const w = contentWidths([
      { name: 'gw-2', type: 'api_gateway', environment: 'prod', host: 'h', port: 80 },
      { name: 'payments-gateway-eu-west-1a', type: 'x', environment: 'staging', host: 'a'.repeat(60), port: 8080 },
    ]);
    expect(w.name).toBe('payments-gateway-eu-west-1a'.length + 2);
    expect(w.type).toBe('api_gateway'.length + 2);
    expect(w.host).toBe(34);
  });

  it('short of room, the narrow columns keep their width and the widest are cut to one level', () => {
    // The CSS evaluated with the room in ch: min() and max() as Math's.
    const inCh = (css: string) => Function('min', 'max', `return ${css.replaceAll('ch', '')}`)(Math.min, Math.max) as number;
    const tight = shareWidths({ name: 14, env: 13, type: 18, host: 24 }, '58ch');
    expect([tight.name, tight.env, tight.type, tight.host].map(inCh)).toEqual([14, 13, 15.5, 15.5]);
    const roomy = shareWidths({ name: 14, env: 13, type: 18, host: 24 }, '80ch');
    expect([roomy.name, roomy.env, roomy.type, roomy.host].map(inCh)).toEqual([14, 13, 18, 24]);
    const even = shareWidths({ name: 30, host: 30 }, '20ch');
    expect([even.name, even.host].map(inCh)).toEqual([10, 10]);
  });
});

describe('alert markers', () => {
  it('count the firing alerts of each agent from a page, with the worst severity', () => {
    const map = alertsFromPage(new Map(), [
      { id: 'a', alerts: [{ id: '1', state: 'FIRING', severity: 'WARNING' }, { id: '2', state: 'FIRING', severity: 'CRITICAL' }, { id: '3', state: 'PENDING', severity: 'CRITICAL' }] },
      { id: 'b', alerts: [{ id: '4', state: 'PENDING', severity: 'INFO' }] },
    ]);
    expect(alertMarker(map.get('a'))).toEqual({ count: 2, worst: 'CRITICAL' });
    expect(alertMarker(map.get('b'))).toBeNull();
  });

  it('follow alertChanged: firing adds, resolved removes, an unknown resolution changes nothing', () => {
    let map = alertsFromPage(new Map(), []);
    map = alertsFromChange(map, { id: '1', agentId: 'a', state: 'FIRING', severity: 'INFO' });
    expect(alertMarker(map.get('a'))).toEqual({ count: 1, worst: 'INFO' });
    const same = alertsFromChange(map, { id: '9', agentId: 'a', state: 'RESOLVED', severity: 'INFO' });
    expect(same).toBe(map);
    map = alertsFromChange(map, { id: '1', agentId: 'a', state: 'RESOLVED', severity: 'INFO' });
    expect(map.has('a')).toBe(false);
  });
});

describe('row heartbeat sparkline', () => {
  it('places heartbeats on a window of 30 intervals ending now, newest at the right', () => {
    const beats = [0, 10_000, 20_000].map((ms) => ({ at: at(ms), health: 'HEALTHY' as const }));
    const { ticks, silentFrom } = sparkTicks(beats, 10, now);
    expect(ticks.map((t) => Math.round(t.x * 300))).toEqual([280, 290, 300]);
    expect(silentFrom).toBeNull();
  });

  it('marks the silence after the last heartbeat of an agent that stopped', () => {
    const beats = [60_000, 70_000].map((ms) => ({ at: at(ms), health: 'HEALTHY' as const }));
    const { silentFrom } = sparkTicks(beats, 10, now);
    expect(silentFrom).toBeCloseTo(240 / 300, 3);
    expect(sparkTicks([], 10, now).silentFrom).toBe(0);
  });

  it('pushed heartbeats join the agent\'s recent ones, newest first, each once', () => {
    const beats = new Map([['a', [{ at: at(10_000), health: 'HEALTHY' as const }]]]);
    const agent = { id: 'a', status: 'ONLINE' as const, health: 'DEGRADED' as const, healthMessage: null, lastHeartbeat: at(0), offlineAt: null, statusChangedAt: '2025-01-01T00:00:00.000Z' };
    const next = beatsFromPush(beats, [
      { at: at(0), health: 'DEGRADED', agent },
      { at: at(10_000), health: 'HEALTHY', agent },
    ]);
    expect(next.get('a')!.map((h) => h.health)).toEqual(['DEGRADED', 'HEALTHY']);
  });
});

describe('fleet availability chart data', () => {
  const points = [
    { at: '2025-06-01T10:00:00Z', online: 5, degraded: 0, offline: 0 },
    { at: '2025-06-01T11:00:00Z', online: 2, degraded: 1, offline: 2 },
    { at: '2025-06-01T12:00:00Z', online: 4, degraded: 1, offline: 0 },
  ];

  it('stacks offline under degraded under online, in seconds', () => {
    const [xs, all, offDeg, off] = availabilityColumns(points);
    expect(xs[0]).toBe(Date.parse('2025-06-01T10:00:00Z') / 1000);
    expect(all).toEqual([5, 5, 5]);
    expect(offDeg).toEqual([0, 3, 1]);
    expect(off).toEqual([0, 2, 0]);
  });

  it('sums the range up in words: now, and the worst moment', () => {
    expect(availabilitySummary(points)).toBe('Now 4 online, 1 degraded, 0 offline. Worst: 2 offline and 1 degraded at 2025-06-01T11:00:00Z.');
    expect(availabilitySummary([])).toBe('No availability history yet.');
  });
});
