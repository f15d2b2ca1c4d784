import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PushedHeartbeat } from '../../dashboard/src/lib/documents';
import { FleetState } from '../../dashboard/src/lib/fleet.svelte';
import { WATCH_DEBOUNCE_MS, WATCH_MARGIN, WATCH_MAX_WAIT_MS } from '../../dashboard/src/lib/fleet-live';
import { DEFAULT_QUERY, type FleetQuery } from '../../dashboard/src/lib/fleet-query';
import { RETRY_FIRST_MS } from '../../dashboard/src/lib/resubscribe';
import { FakeClient } from './fake-client';
import { agent } from './fixtures';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const iso = (s: number) => new Date(T0 + s * 1000).toISOString();

function fleetOf(count: number) {
  const agents = Array.from({ length: count }, (_, i) => ({ ...agent({ lastHeartbeat: iso(-i) }), health: 'HEALTHY', heartbeatIntervalSeconds: 30 }));
  const client = new FakeClient()
    .answer('LatestCursor', () => ({ agentEventLog: [{ cursor: '1' }] }))
    .answer('FleetPage', () => ({
      agents: { edges: agents.map((node) => ({ cursor: `c-${node.id}`, node })), pageInfo: { hasNextPage: false, endCursor: null }, totalCount: agents.length },
    }))
    .answer('FleetSummary', () => ({ agentStatusCounts: { online: count, degraded: 0, offline: 0, total: count }, agents: { totalCount: count } }));
  return { agents, client, fleet: new FleetState(client.asClient()) };
}

function push(id: string, s: number, health: PushedHeartbeat['health'] = 'HEALTHY'): PushedHeartbeat {
  const status = health === 'HEALTHY' ? 'ONLINE' : 'DEGRADED';
  return { at: iso(s), health, agent: { id, status, health, healthMessage: null, lastHeartbeat: iso(s), offlineAt: iso(s + 90), statusChangedAt: '2025-01-01T00:00:00.000Z' } };
}

const heartbeats = (client: FakeClient, batch: PushedHeartbeat[]) => client.emit({ agentHeartbeats: { heartbeats: batch } }, 'AgentHeartbeats');
const watched = (client: FakeClient) => client.subscriptionsTo('AgentHeartbeats').map((v) => v.agentIds as string[]);
const idsOf = (rows: { id: string }[]) => rows.map((a) => a.id).sort();

describe('the fleet’s heartbeat feed', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('watches the rows on screen and a margin either side, subscribing once they stop moving', async () => {
    const { agents, client, fleet } = fleetOf(1000);
    await fleet.load(DEFAULT_QUERY);
    for (let start = 0; start <= 40; start += 4) {
      fleet.setVisible(start, start + 20);
      vi.advanceTimersByTime(10);
    }
    expect(watched(client)).toEqual([]);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    // Rows 40..60 on screen: 0..160 watched.
    expect(watched(client)).toEqual([idsOf(fleet.agents.slice(0, 60 + WATCH_MARGIN))]);

    // Scrolling within the margin changes nothing.
    for (let start = 40; start <= 130; start += 10) fleet.setVisible(start, start + 20);
    vi.advanceTimersByTime(WATCH_MAX_WAIT_MS * 2);
    expect(watched(client)).toHaveLength(1);

    // Past it, the feed follows: rows 500..520 and 100 either side.
    fleet.setVisible(500, 520);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    expect(watched(client).at(-1)).toEqual(idsOf(agents.slice(400, 620)));
    expect(client.subscriberCount('AgentHeartbeats')).toBe(1);

    fleet.stop();
    expect(client.subscriberCount()).toBe(0);
  });

  it('watches at most 500 agents, the API’s limit', async () => {
    const { client, fleet } = fleetOf(1000);
    await fleet.load(DEFAULT_QUERY);
    fleet.setVisible(100, 500);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    const [ids] = watched(client);
    expect(ids).toHaveLength(500);
    expect(ids).toEqual(expect.arrayContaining(fleet.agents.slice(100, 500).map((a) => a.id)));
  });

  it('does not resubscribe as pushed heartbeats reorder the rows under LAST_HEARTBEAT order', async () => {
    const { agents, client, fleet } = fleetOf(400);
    const query: FleetQuery = { ...DEFAULT_QUERY, sort: 'LAST_HEARTBEAT', direction: 'DESC' };
    await fleet.load(query);
    fleet.setVisible(0, 30);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    expect(watched(client)).toHaveLength(1);
    // Every second a watched agent from further down heartbeats and jumps to the top.
    for (let s = 1; s <= 60; s++) {
      heartbeats(client, [push(agents[(s * 7) % 120].id, s)]);
      vi.advanceTimersByTime(1000);
    }
    expect(fleet.agents[0].id).toBe(agents[(60 * 7) % 120].id);
    expect(watched(client)).toHaveLength(1);
  });

  it('follows the screen within WATCH_MAX_WAIT_MS even while rows keep changing every 50 ms', async () => {
    const { client, fleet } = fleetOf(5000);
    await fleet.load(DEFAULT_QUERY);
    // Rows on screen change faster than the debounce, each time beyond what is pending.
    let start = 0;
    const began = Date.now();
    while (watched(client).length === 0 && Date.now() - began < 10 * WATCH_MAX_WAIT_MS) {
      start = (start + 300) % 4900;
      fleet.setVisible(start, start + 20);
      vi.advanceTimersByTime(50);
    }
    expect(watched(client)).toHaveLength(1);
    expect(Date.now() - began).toBeLessThanOrEqual(WATCH_MAX_WAIT_MS + 50);
    // And it took the rows on screen when it fired.
    const shown = fleet.agents.slice(start, start + 20).map((a) => a.id);
    expect(watched(client)[0]).toEqual(expect.arrayContaining(shown));
  });

  it('opens the new subscription before it closes the old one', async () => {
    const { client, fleet } = fleetOf(1000);
    await fleet.load(DEFAULT_QUERY);
    fleet.setVisible(0, 20);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    fleet.setVisible(600, 620);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    expect(client.log.filter((l) => l.includes('AgentHeartbeats'))).toEqual(['open AgentHeartbeats #1', 'open AgentHeartbeats #2', 'close AgentHeartbeats #1']);
  });

  it('subscribes again after an error, waiting longer after each, and the first wait again once pushes arrive', async () => {
    const { agents, client, fleet } = fleetOf(50);
    await fleet.load(DEFAULT_QUERY);
    fleet.setVisible(0, 20);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    const ids = idsOf(agents);
    expect(watched(client)).toEqual([ids]);

    // The server ended the stream (RATE_LIMITED): nothing more comes from it.
    client.emitError('subscriber fell more than 100 heartbeat batches behind; subscribe again', 'AgentHeartbeats');
    vi.advanceTimersByTime(RETRY_FIRST_MS - 1);
    expect(watched(client)).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(watched(client)).toEqual([ids, ids]);
    expect(client.subscriberCount('AgentHeartbeats')).toBe(1);

    client.emitError('again', 'AgentHeartbeats');
    vi.advanceTimersByTime(RETRY_FIRST_MS);
    expect(watched(client)).toHaveLength(2);
    vi.advanceTimersByTime(RETRY_FIRST_MS);
    expect(watched(client)).toHaveLength(3);

    // It works again: a push lands, and the next error waits the first pause only.
    heartbeats(client, [push(agents[0].id, 5)]);
    expect(fleet.agents.find((a) => a.id === agents[0].id)!.lastHeartbeat).toBe(iso(5));
    client.emitError('once more', 'AgentHeartbeats');
    vi.advanceTimersByTime(RETRY_FIRST_MS);
    expect(watched(client)).toHaveLength(4);
    expect(client.subscriberCount('AgentHeartbeats')).toBe(1);

    // Stopped: no retry is left behind.
    client.emitError('last', 'AgentHeartbeats');
    fleet.stop();
    vi.advanceTimersByTime(RETRY_FIRST_MS * 4);
    expect(watched(client)).toHaveLength(4);
    expect(client.subscriberCount()).toBe(0);
  });

  it('keeps a pushed heartbeat that arrived while a page was being read, over that page’s older answer', async () => {
    const { agents, client, fleet } = fleetOf(3);
    await fleet.load(DEFAULT_QUERY);
    fleet.setVisible(0, 3);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    const [a] = agents;
    // Re-reading the view: the push lands while the page is in flight.
    const reload = fleet.load(DEFAULT_QUERY);
    heartbeats(client, [push(a.id, 60)]);
    await reload;
    expect(fleet.agents.find((x) => x.id === a.id)!.lastHeartbeat).toBe(iso(60));
  });

  it('takes a subscription’s first push, the current state, when it is newer than the row, and ignores it otherwise', async () => {
    const { agents, client, fleet } = fleetOf(3);
    await fleet.load(DEFAULT_QUERY);
    fleet.setVisible(0, 3);
    vi.advanceTimersByTime(WATCH_DEBOUNCE_MS);
    const [a, b] = agents;
    // a heartbeated after the page was read; b did not (its state is what the row shows).
    heartbeats(client, [push(a.id, 30, 'DEGRADED'), { ...push(b.id, -1), agent: { ...push(b.id, -1).agent, status: 'OFFLINE' } }]);
    const row = (id: string) => fleet.agents.find((x) => x.id === id)!;
    expect(row(a.id)).toMatchObject({ lastHeartbeat: iso(30), status: 'DEGRADED' });
    expect(row(b.id)).toMatchObject({ lastHeartbeat: iso(-1), status: 'ONLINE' });
  });
});
