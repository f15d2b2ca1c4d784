import { describe, expect, it } from 'vitest';
import { FleetState } from '../../dashboard/src/lib/fleet.svelte';
import { WATCH_DEBOUNCE_MS } from '../../dashboard/src/lib/fleet-live';
import { DEFAULT_QUERY } from '../../dashboard/src/lib/fleet-query';
import { FakeClient } from './fake-client';
import { agent } from './fixtures';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fleetOf(count: number) {
  const agents = Array.from({ length: count }, () => ({ ...agent(), health: 'HEALTHY', heartbeatIntervalSeconds: 30 }));
  const client = new FakeClient()
    .answer('LatestCursor', () => ({ agentEventLog: [{ cursor: '1' }] }))
    .answer('FleetPage', () => ({
      agents: { edges: agents.map((node) => ({ cursor: `c-${node.id}`, node })), pageInfo: { hasNextPage: false, endCursor: null }, totalCount: agents.length },
    }))
    .answer('FleetSummary', () => ({ agentStatusCounts: { online: count, degraded: 0, offline: 0, total: count }, agents: { totalCount: count } }));
  return { agents, client, fleet: new FleetState(client.asClient()) };
}

describe('the fleet’s heartbeat feed', () => {
  it('follows the rows on screen, subscribing once they stop moving rather than on every scroll step', async () => {
    const { agents, client, fleet } = fleetOf(100);
    await fleet.load(DEFAULT_QUERY);
    for (let start = 0; start <= 40; start += 4) {
      fleet.setVisible(start, start + 20);
      await pause(10);
    }
    expect(client.subscriptionsTo('AgentHeartbeats')).toEqual([]);
    await pause(WATCH_DEBOUNCE_MS + 100);
    const ids = fleet.agents.slice(40, 60).map((a) => a.id);
    expect(client.subscriptionsTo('AgentHeartbeats')).toEqual([{ agentIds: [...ids].sort() }]);
    expect(client.subscriberCount('AgentHeartbeats')).toBe(1);

    // The same rows again: nothing to do. Others: the old subscription is replaced.
    fleet.setVisible(40, 60);
    await pause(WATCH_DEBOUNCE_MS + 100);
    expect(client.subscriptionsTo('AgentHeartbeats')).toHaveLength(1);
    fleet.setVisible(0, 10);
    await pause(WATCH_DEBOUNCE_MS + 100);
    expect(client.subscriptionsTo('AgentHeartbeats').at(-1)).toEqual({ agentIds: agents.slice(0, 10).map((a) => a.id).sort() });
    expect(client.subscriberCount('AgentHeartbeats')).toBe(1);

    fleet.stop();
    expect(client.subscriberCount()).toBe(0);
  });

  it('keeps a pushed heartbeat that arrived while a page was being read, over that page’s older answer', async () => {
    const { agents, client, fleet } = fleetOf(3);
    await fleet.load(DEFAULT_QUERY);
    fleet.setVisible(0, 3);
    await pause(WATCH_DEBOUNCE_MS + 100);
    const [a] = agents;
    const at = '2030-01-01T00:00:00.000Z';
    // Re-reading the view: the push lands while the page is in flight.
    const reload = fleet.load(DEFAULT_QUERY);
    client.emit(
      { agentHeartbeats: { heartbeats: [{ at, health: 'HEALTHY', agent: { id: a.id, status: 'ONLINE', health: 'HEALTHY', healthMessage: null, lastHeartbeat: at, offlineAt: at } }] } },
      'AgentHeartbeats',
    );
    await reload;
    expect(fleet.agents.find((x) => x.id === a.id)!.lastHeartbeat).toBe(at);
  });
});
