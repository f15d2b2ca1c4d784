import { describe, expect, it } from 'vitest';
import {
  DEFAULT_QUERY,
  compareAgents,
  matchesQuery,
  parseFleetQuery,
  serializeFleetQuery,
  toAgentFilter,
  type FleetQuery,
} from '../../dashboard/src/lib/fleet-query';
import { agent } from './fixtures';

describe('fleet query in the URL', () => {
  it('an empty query string is the default view and serializes back to nothing', () => {
    expect(parseFleetQuery('')).toEqual(DEFAULT_QUERY);
    expect(serializeFleetQuery(DEFAULT_QUERY)).toBe('');
  });

  it('every filter and the sort survive a round trip through the query string', () => {
    const q: FleetQuery = {
      status: ['DEGRADED', 'OFFLINE'],
      type: 'database',
      environment: 'staging',
      tags: ['eu-west', 'critical'],
      search: 'db 01',
      sort: 'LAST_HEARTBEAT',
      direction: 'DESC',
    };
    const qs = serializeFleetQuery(q);
    expect(qs).toBe('?status=degraded%2Coffline&type=database&env=staging&tag=eu-west&tag=critical&q=db+01&sort=heartbeat&dir=desc');
    expect(parseFleetQuery(qs)).toEqual(q);
  });

  it('hand-edited links are tolerated: comma lists, any case, unknown values dropped', () => {
    const q = parseFleetQuery('?status=OFFLINE,bogus,online&tag=a,b&tag=a&sort=nonsense&dir=DESC');
    expect(q.status).toEqual(['ONLINE', 'OFFLINE']);
    expect(q.tags).toEqual(['a', 'b']);
    expect(q.sort).toBe('NAME');
    expect(q.direction).toBe('DESC');
  });

  it('statuses are kept in a canonical order so equal views share one URL', () => {
    const a = serializeFleetQuery(parseFleetQuery('?status=offline,online'));
    const b = serializeFleetQuery(parseFleetQuery('?status=online,offline'));
    expect(a).toBe(b);
  });
});

describe('GraphQL filter', () => {
  const q = parseFleetQuery('?status=offline&type=cache&tag=x&q=redis');

  it('the list asks with every filter', () => {
    expect(toAgentFilter(q)).toEqual({ status: ['OFFLINE'], type: 'cache', tags: ['x'], search: 'redis' });
  });

  it('the status cards ask without the status filter, so every card keeps its count', () => {
    expect(toAgentFilter(q, { withStatus: false })).toEqual({ type: 'cache', tags: ['x'], search: 'redis' });
  });

  it('the default view sends an empty filter', () => {
    expect(toAgentFilter(DEFAULT_QUERY)).toEqual({});
  });
});

describe('client-side match used for live events', () => {
  const a = agent({ name: 'Redis-EU-1', host: 'cache-1.internal', type: 'cache', tags: ['eu', 'hot'], status: 'DEGRADED' });

  it('search is a case-insensitive substring of the name or the host, like the server', () => {
    expect(matchesQuery(a, { ...DEFAULT_QUERY, search: 'redis-eu' })).toBe(true);
    expect(matchesQuery(a, { ...DEFAULT_QUERY, search: 'INTERNAL' })).toBe(true);
    expect(matchesQuery(a, { ...DEFAULT_QUERY, search: 'cache-2' })).toBe(false);
  });

  it('all listed tags must be present', () => {
    expect(matchesQuery(a, { ...DEFAULT_QUERY, tags: ['eu'] })).toBe(true);
    expect(matchesQuery(a, { ...DEFAULT_QUERY, tags: ['eu', 'cold'] })).toBe(false);
  });

  it('status may be ignored, as the status cards do', () => {
    const q = { ...DEFAULT_QUERY, status: ['ONLINE' as const] };
    expect(matchesQuery(a, q)).toBe(false);
    expect(matchesQuery(a, q, { withStatus: false })).toBe(true);
  });
});

describe('order of live rows', () => {
  it('sorts by status in the server enum order online, degraded, offline', () => {
    const rows = [agent({ status: 'OFFLINE' }), agent({ status: 'ONLINE' }), agent({ status: 'DEGRADED' })];
    rows.sort(compareAgents({ sort: 'STATUS', direction: 'ASC' }));
    expect(rows.map((r) => r.status)).toEqual(['ONLINE', 'DEGRADED', 'OFFLINE']);
  });

  it('agents that never sent a heartbeat come last ascending and first descending', () => {
    const never = agent({ lastHeartbeat: null });
    const recent = agent({ lastHeartbeat: '2025-01-01T00:00:10.000Z' });
    const old = agent({ lastHeartbeat: '2025-01-01T00:00:01.000Z' });
    const asc = [never, recent, old].sort(compareAgents({ sort: 'LAST_HEARTBEAT', direction: 'ASC' }));
    expect(asc).toEqual([old, recent, never]);
    const desc = [old, never, recent].sort(compareAgents({ sort: 'LAST_HEARTBEAT', direction: 'DESC' }));
    expect(desc).toEqual([never, recent, old]);
  });

  it('equal keys fall back to the id, so the order is total', () => {
    const x = agent({ name: 'same' });
    const y = agent({ name: 'same' });
    expect([y, x].sort(compareAgents({ sort: 'NAME', direction: 'ASC' }))).toEqual([x, y]);
  });
});
