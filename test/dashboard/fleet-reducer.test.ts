import { describe, expect, it } from 'vitest';
import { DEFAULT_QUERY, parseFleetQuery } from '../../dashboard/src/lib/fleet-query';
import { reduceCounts, reduceFleet, type FleetList, type StatusCounts } from '../../dashboard/src/lib/fleet-reducer';
import type { FleetAgent } from '../../dashboard/src/lib/types';
import { agent, event, statusChange } from './fixtures';

const names = (list: FleetList) => list.agents.map((a) => a.name);

function listOf(agents: FleetAgent[], complete = true): FleetList {
  return { agents, totalCount: agents.length, complete };
}

describe('status-event reducer: the list', () => {
  it('a status change updates the row in place without touching the others', () => {
    const a = agent({ name: 'a' });
    const b = agent({ name: 'b' });
    const next = reduceFleet(listOf([a, b]), [statusChange(a, 'OFFLINE')], DEFAULT_QUERY);
    expect(next.agents.map((x) => x.status)).toEqual(['OFFLINE', 'ONLINE']);
    expect(next.agents[1]).toBe(b);
    expect(next.totalCount).toBe(2);
  });

  it('a newly registered agent is inserted at its sorted position', () => {
    const list = listOf([agent({ name: 'alpha' }), agent({ name: 'gamma' })]);
    const next = reduceFleet(list, [event('REGISTERED', agent({ name: 'beta' }))], DEFAULT_QUERY);
    expect(names(next)).toEqual(['alpha', 'beta', 'gamma']);
    expect(next.totalCount).toBe(3);
  });

  it('a new agent past the loaded prefix waits for its page instead of jumping in', () => {
    const list = listOf([agent({ name: 'alpha' }), agent({ name: 'beta' })], false);
    const next = reduceFleet(list, [event('REGISTERED', agent({ name: 'zulu' }))], DEFAULT_QUERY);
    expect(names(next)).toEqual(['alpha', 'beta']);
    expect(next).toBe(reduceFleet(next, [], DEFAULT_QUERY));
  });

  it('a deregistered agent leaves the list and the total', () => {
    const a = agent();
    const b = agent();
    const next = reduceFleet(listOf([a, b]), [event('DEREGISTERED', null, { agentId: a.id })], DEFAULT_QUERY);
    expect(next.agents).toEqual([b]);
    expect(next.totalCount).toBe(1);
  });

  it('in a filtered view an agent that stops matching drops out, one that starts matching comes in', () => {
    const q = parseFleetQuery('?status=offline');
    const down = agent({ name: 'down', status: 'OFFLINE' });
    const up = agent({ name: 'up', status: 'ONLINE' });
    const next = reduceFleet(listOf([down]), [statusChange(down, 'ONLINE'), statusChange(up, 'OFFLINE')], q);
    expect(names(next)).toEqual(['up']);
    expect(next.agents[0].status).toBe('OFFLINE');
  });

  it('when the sort key changes the row moves to its new place', () => {
    const q = parseFleetQuery('?sort=status');
    const a = agent({ name: 'a', status: 'ONLINE' });
    const b = agent({ name: 'b', status: 'ONLINE' });
    const c = agent({ name: 'c', status: 'DEGRADED' });
    const next = reduceFleet(listOf([a, b, c]), [statusChange(a, 'OFFLINE')], q);
    expect(names(next)).toEqual(['b', 'c', 'a']);
  });

  it('several events for one agent in a batch: the last snapshot wins', () => {
    const a = agent();
    const e1 = statusChange(a, 'DEGRADED');
    const e2 = statusChange({ ...a, status: 'DEGRADED' }, 'OFFLINE');
    const next = reduceFleet(listOf([a]), [e1, e2], DEFAULT_QUERY);
    expect(next.agents.map((x) => x.status)).toEqual(['OFFLINE']);
  });

  it('replaying the same events is harmless, so a resumed stream cannot duplicate rows', () => {
    const a = agent({ name: 'a' });
    const batch = [event('REGISTERED', agent({ name: 'b' })), statusChange(a, 'OFFLINE')];
    const once = reduceFleet(listOf([a]), batch, DEFAULT_QUERY);
    const twice = reduceFleet(once, batch, DEFAULT_QUERY);
    expect(names(twice)).toEqual(['a', 'b']);
    expect(twice.totalCount).toBe(2);
  });

  it('1 000 status changes over 10 000 rows are all applied and none is lost', () => {
    const all = Array.from({ length: 10_000 }, (_, i) => agent({ name: `n${String(i).padStart(5, '0')}` }));
    const changes = all.filter((_, i) => i % 10 === 0).map((a) => statusChange(a, 'OFFLINE'));
    const next = reduceFleet(listOf(all), changes, DEFAULT_QUERY);
    expect(next.agents).toHaveLength(10_000);
    expect(next.agents.filter((a) => a.status === 'OFFLINE')).toHaveLength(1_000);
  });
});

describe('status-event reducer: the status cards', () => {
  const counts: StatusCounts = { online: 5, degraded: 1, offline: 2, total: 8 };
  const none = () => undefined;

  it('a status change moves one agent from one card to the other', () => {
    const a = agent();
    expect(reduceCounts(counts, [statusChange(a, 'OFFLINE')], DEFAULT_QUERY, none)).toEqual({
      online: 4,
      degraded: 1,
      offline: 3,
      total: 8,
    });
  });

  it('a change out of a status whose card is at 0 was counted by the answer already: no card moves', () => {
    // The answer of a re-ask in the middle of a mass offline counts everyone offline; the
    // events still on their way must not push the offline card past the fleet.
    const settled: StatusCounts = { online: 0, degraded: 0, offline: 8, total: 8 };
    const a = agent({ status: 'ONLINE' });
    expect(reduceCounts(settled, [statusChange(a, 'OFFLINE')], DEFAULT_QUERY, none)).toEqual(settled);
    const b = agent({ status: 'OFFLINE' });
    expect(reduceCounts(settled, [statusChange(b, 'ONLINE')], DEFAULT_QUERY, none)).toEqual({ online: 1, degraded: 0, offline: 7, total: 8 });
  });

  it('registering and deregistering change the total', () => {
    const a = agent({ status: 'DEGRADED' });
    const added = reduceCounts(counts, [event('REGISTERED', a)], DEFAULT_QUERY, none);
    expect(added).toMatchObject({ degraded: 2, total: 9 });
    const removed = reduceCounts(added, [event('DEREGISTERED', null, { agentId: a.id })], DEFAULT_QUERY, (id) =>
      id === a.id ? a : undefined,
    );
    expect(removed).toEqual(counts);
  });

  it('the status filter does not narrow the cards, other filters do', () => {
    const q = parseFleetQuery('?status=online&type=database');
    const web = agent({ type: 'web-server' });
    const db = agent({ type: 'database' });
    const next = reduceCounts(counts, [statusChange(web, 'OFFLINE'), statusChange(db, 'OFFLINE')], q, none);
    expect(next).toMatchObject({ online: 4, offline: 3 });
  });

  it('a tag change that moves a known agent out of the view takes it off the cards', () => {
    const q = parseFleetQuery('?tag=critical');
    const before = agent({ tags: ['critical'] });
    const after = { ...before, tags: [] };
    const next = reduceCounts(counts, [event('TAGS_CHANGED', after)], q, () => before);
    expect(next).toMatchObject({ online: 4, total: 7 });
  });
});
