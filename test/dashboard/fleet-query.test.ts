import { describe, expect, it } from 'vitest';
import {
  DEFAULT_QUERY,
  compareAgents,
  matchesQuery,
  parseFleetQuery,
  serializeFleetQuery,
  toAgentFilter,
  viewOf,
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
      inactive: true,
      group: null,
      open: null,
      metric: 'memory_used_bytes',
      metricSort: 'ASC',
    };
    const qs = serializeFleetQuery(q);
    expect(qs).toBe('?status=degraded%2Coffline&type=database&env=staging&tag=eu-west&tag=critical&q=db+01&sort=heartbeat&dir=desc&inactive=show&metric=memory_used_bytes&metricsort=asc');
    expect(parseFleetQuery(qs)).toEqual(q);
  });

  it('the metric column and its order are kept in the URL but read no rows again', () => {
    expect(viewOf(parseFleetQuery('?env=prod&metric=memory_used_bytes&metricsort=desc'))).toBe(viewOf(parseFleetQuery('?env=prod')));
    expect(parseFleetQuery('?metricsort=sideways').metricSort).toBeNull();
  });

  it('hand-edited links are tolerated: comma lists, any case, unknown values dropped', () => {
    const q = parseFleetQuery('?status=OFFLINE,bogus,online&tag=a,b&tag=a&sort=nonsense&dir=DESC');
    expect(q.status).toEqual(['ONLINE', 'OFFLINE']);
    expect(q.tags).toEqual(['a', 'b']);
    expect(q.sort).toBe('SEVERITY');
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
    expect(toAgentFilter(q)).toEqual({ status: ['OFFLINE'], type: 'cache', tags: ['x'], search: 'redis', inactive: false });
  });

  it('the status cards ask without the status filter, so every card keeps its count', () => {
    expect(toAgentFilter(q, { withStatus: false })).toEqual({ type: 'cache', tags: ['x'], search: 'redis', inactive: false });
  });

  it('the default view hides inactive agents and filters on nothing else', () => {
    expect(toAgentFilter(DEFAULT_QUERY)).toEqual({ inactive: false });
  });

  it('a view that shows inactive agents leaves them in the filter', () => {
    expect(toAgentFilter(parseFleetQuery('?inactive=show'))).toEqual({});
  });
});

describe('client-side match used for live events', () => {
  const a = agent({ name: 'Redis-EU-1', host: 'cache-1.internal', type: 'cache', tags: ['eu', 'hot'], status: 'DEGRADED' });

  it('search is a case-insensitive substring of the name or the host, like the server', () => {
    expect(matchesQuery(a, { ...DEFAULT_QUERY, search: 'redis-eu' })).toBe(true);
    expect(matchesQuery(a, { ...DEFAULT_QUERY, search: 'INTERNAL' })).toBe(true);
    expect(matchesQuery(a, { ...DEFAULT_QUERY, search: 'cache-2' })).toBe(false);
  });

  it('search finds metadata as the server does: a string value containing it, or key=value for one key', () => {
    const b = { ...a, metadata: { region: 'US-East-1', rack: 7, note: 'behind the proxy' } };
    expect(matchesQuery(b, { ...DEFAULT_QUERY, search: 'proxy' })).toBe(true);
    expect(matchesQuery(b, { ...DEFAULT_QUERY, search: 'region=us-east-1' })).toBe(true);
    expect(matchesQuery(b, { ...DEFAULT_QUERY, search: 'rack=7' })).toBe(true);
    expect(matchesQuery(b, { ...DEFAULT_QUERY, search: 'Region=us-east-1' })).toBe(false);
    expect(matchesQuery(b, { ...DEFAULT_QUERY, search: 'region=us-west-2' })).toBe(false);
    expect(matchesQuery(a, { ...DEFAULT_QUERY, search: 'region=us-east-1' })).toBe(false);
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

  it('agents that never sent a heartbeat come first ascending and last descending, as on the server', () => {
    const never = agent({ lastHeartbeat: null });
    const recent = agent({ lastHeartbeat: '2025-01-01T00:00:10.000Z' });
    const old = agent({ lastHeartbeat: '2025-01-01T00:00:01.000Z' });
    const asc = [never, recent, old].sort(compareAgents({ sort: 'LAST_HEARTBEAT', direction: 'ASC' }));
    expect(asc).toEqual([never, old, recent]);
    const desc = [old, never, recent].sort(compareAgents({ sort: 'LAST_HEARTBEAT', direction: 'DESC' }));
    expect(desc).toEqual([recent, old, never]);
  });

  it('worst first by default: offline, degraded, online, each the longest in its status first', () => {
    const since = (m: number) => `2025-01-01T00:${String(m).padStart(2, '0')}:00.000Z`;
    const rows = [
      agent({ name: 'on', status: 'ONLINE', statusChangedAt: since(1) }),
      agent({ name: 'off-new', status: 'OFFLINE', statusChangedAt: since(30) }),
      agent({ name: 'deg', status: 'DEGRADED', statusChangedAt: since(5) }),
      agent({ name: 'off-old', status: 'OFFLINE', statusChangedAt: since(2) }),
    ];
    rows.sort(compareAgents(DEFAULT_QUERY));
    expect(rows.map((r) => r.name)).toEqual(['off-old', 'off-new', 'deg', 'on']);
  });

  it('names tie-break in natural order, digits by number and letters without case', () => {
    const rows = ['gw-10', 'GW-11', 'gw-2', 'gw-1', 'Alpha', 'beta'].map((name) => agent({ name }));
    rows.sort(compareAgents({ sort: 'NAME', direction: 'ASC' }));
    expect(rows.map((r) => r.name)).toEqual(['Alpha', 'beta', 'gw-1', 'gw-2', 'gw-10', 'GW-11']);
    // The default order ties on status and time, so the names decide there too.
    const same = ['gw-10', 'gw-2'].map((name) => agent({ name, status: 'OFFLINE' }));
    same.sort(compareAgents(DEFAULT_QUERY));
    expect(same.map((r) => r.name)).toEqual(['gw-2', 'gw-10']);
  });

  it('equal keys fall back to the id, so the order is total', () => {
    const x = agent({ name: 'same' });
    const y = agent({ name: 'same' });
    expect([y, x].sort(compareAgents({ sort: 'NAME', direction: 'ASC' }))).toEqual([x, y]);
  });
});
