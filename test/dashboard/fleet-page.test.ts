import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import FleetPage from '../../dashboard/src/components/fleet/FleetPage.svelte';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import type { FleetAgent } from '../../dashboard/src/lib/types';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';
import { agent } from './fixtures';

function row(a: FleetAgent) {
  return { ...a, health: 'HEALTHY', heartbeatIntervalSeconds: 30, __typename: 'Agent' };
}

function setup(agents: FleetAgent[]) {
  const client = new FakeClient()
    .answer('FleetPage', (v) => {
      const status = (v.filter as { status?: string[] } | undefined)?.status;
      const nodes = agents.filter((a) => !status || status.includes(a.status)).map(row);
      const edges = nodes.map((node) => ({ cursor: `c-${node.id}`, node }));
      return { agents: { edges, pageInfo: { hasNextPage: false, endCursor: null }, totalCount: nodes.length } };
    })
    .answer('FleetSummary', () => ({
      agentStatusCounts: {
        online: agents.filter((a) => a.status === 'ONLINE').length,
        degraded: agents.filter((a) => a.status === 'DEGRADED').length,
        offline: agents.filter((a) => a.status === 'OFFLINE').length,
        total: agents.length,
      },
      agents: { totalCount: agents.length },
    }))
    .answer('LatestCursor', () => ({ agentEventLog: [{ cursor: '41' }] }))
    .answer('Facets', () => ({ agentFacets: { types: ['web-server'], environments: ['production'], tags: [] } }));
  const router = new Router();
  const session = new Session();
  const view = render(Harness, { client: client.asClient(), router, session, page: FleetPage });
  return { client, router, session, view };
}

const rowOf = (id: string) => document.querySelector<HTMLElement>(`tr[data-agent-id="${id}"]`);

/** Waits until the row is on screen; waitFor only retries on a throw, not on null. */
async function findRow(id: string): Promise<HTMLElement> {
  return waitFor(() => {
    const r = rowOf(id);
    if (!r) throw new Error(`row ${id} not rendered`);
    return r;
  });
}

describe('fleet page', () => {
  beforeEach(() => history.replaceState(null, '', '/'));
  afterEach(() => history.replaceState(null, '', '/'));

  it('shows each agent with status, host:port and the status counts', async () => {
    const a = agent({ name: 'web-1', host: 'web-1.local', port: 443 });
    const b = agent({ name: 'db-1', status: 'OFFLINE' });
    setup([a, b]);
    const first = await findRow(a.id);
    expect(within(first).getByText('web-1.local:443')).toBeTruthy();
    expect(rowOf(b.id)!.dataset.status).toBe('OFFLINE');
    await waitFor(() => expect(document.querySelector('[data-count="offline"]')!.textContent).toBe('1'));
  });

  it('a status event changes the row live, without asking the server for the list again', async () => {
    const a = agent({ name: 'web-1' });
    const { client } = setup([a]);
    await findRow(a.id);
    const pageQueries = client.callsTo('FleetPage').length;
    client.emit({
      agentEvents: {
        cursor: '9',
        type: 'STATUS_CHANGED',
        agentId: a.id,
        previousStatus: 'ONLINE',
        status: 'OFFLINE',
        agent: row({ ...a, status: 'OFFLINE' }),
      },
    });
    await waitFor(() => expect(rowOf(a.id)!.dataset.status).toBe('OFFLINE'));
    expect(document.querySelector('[data-count="offline"]')!.textContent).toBe('1');
    expect(rowOf(a.id)!.classList.contains('changed')).toBe(true);
    expect(client.callsTo('FleetPage')).toHaveLength(pageQueries);
  });

  it('pushed heartbeats update the rows on screen, without asking the server for the list again', async () => {
    const a = agent({ name: 'web-1', lastHeartbeat: new Date(Date.now() - 60_000).toISOString() });
    const b = agent({ name: 'web-2' });
    const { client } = setup([a, b]);
    await findRow(a.id);
    // The rendered rows, once they have settled.
    await waitFor(() => expect(client.subscriptionsTo('AgentHeartbeats').at(-1)).toEqual({ agentIds: [a.id, b.id].sort() }));
    expect(client.subscriberCount('AgentHeartbeats')).toBe(1);
    const pageQueries = client.callsTo('FleetPage').length;

    const at = new Date(Date.now() - 2_000).toISOString();
    const offlineAt = new Date(Date.now() + 88_000).toISOString();
    client.emit(
      {
        agentHeartbeats: {
          heartbeats: [{ at, health: 'DEGRADED', agent: { id: a.id, status: 'DEGRADED', health: 'DEGRADED', healthMessage: null, lastHeartbeat: at, offlineAt } }],
        },
      },
      'AgentHeartbeats',
    );
    await waitFor(() => expect(rowOf(a.id)!.dataset.status).toBe('DEGRADED'));
    const cells = rowOf(a.id)!.querySelectorAll('td');
    expect(cells[6].title).toBe(new Date(at).toLocaleString());
    expect(cells[6].textContent).toMatch(/^\d s ago$|^just now$/);
    expect(cells[7].title).toBe(new Date(offlineAt).toLocaleString());
    expect(rowOf(b.id)!.dataset.status).toBe('ONLINE');
    expect(client.callsTo('FleetPage')).toHaveLength(pageQueries);
  });

  it('under a status filter, a pushed heartbeat that takes a row out of the view does not resubscribe the feed', async () => {
    const agents = Array.from({ length: 60 }, (_, i) => agent({ name: `web-${i}` }));
    history.replaceState(null, '', '/?status=ONLINE');
    const { client } = setup(agents);
    await findRow(agents[0].id);
    await waitFor(() => expect(client.subscriptionsTo('AgentHeartbeats')).toHaveLength(1));
    // Every row loaded is within the watched margin.
    expect(client.subscriptionsTo('AgentHeartbeats')[0]).toEqual({ agentIds: agents.map((a) => a.id).sort() });
    for (const gone of agents.slice(0, 5)) {
      const at = new Date().toISOString();
      client.emit(
        { agentHeartbeats: { heartbeats: [{ at, health: 'DEGRADED', agent: { id: gone.id, status: 'DEGRADED', health: 'DEGRADED', healthMessage: null, lastHeartbeat: at, offlineAt: at } }] } },
        'AgentHeartbeats',
      );
      await waitFor(() => expect(rowOf(gone.id)).toBeNull());
    }
    await findRow(agents[5].id);
    await new Promise((r) => setTimeout(r, 500));
    expect(client.subscriptionsTo('AgentHeartbeats')).toHaveLength(1);
  });

  it('a status card filters the list and puts the filter in the URL', async () => {
    const a = agent({ name: 'up' });
    const b = agent({ name: 'down', status: 'OFFLINE' });
    const { client } = setup([a, b]);
    await findRow(a.id);
    await fireEvent.click(screen.getByRole('button', { name: /offline/i, pressed: false }));
    expect(location.search).toBe('?status=offline');
    await waitFor(() => expect(rowOf(a.id)).toBeNull());
    expect(rowOf(b.id)).not.toBeNull();
    expect(client.callsTo('FleetPage').at(-1)!.variables.filter).toEqual({ status: ['OFFLINE'] });
  });

  it('the back button restores the previous filter', async () => {
    const a = agent({ name: 'up' });
    const b = agent({ name: 'down', status: 'OFFLINE' });
    const { router } = setup([a, b]);
    await findRow(a.id);
    router.navigate('/?status=offline');
    await waitFor(() => expect(rowOf(a.id)).toBeNull());
    history.back();
    await waitFor(() => expect(rowOf(a.id)).not.toBeNull());
    expect(location.search).toBe('');
  });

  it('an event that arrives unreadable makes the page re-read the rows on screen', async () => {
    const a = agent({ name: 'a' });
    const b = agent({ name: 'b' });
    const c = agent({ name: 'c' });
    const agents = [a, b, c];
    const { client } = setup(agents);
    await findRow(b.id);
    agents.splice(1, 1); // b was deregistered, but its event could not be read
    client.emitError('Unexpected error.');
    await waitFor(() => expect(rowOf(b.id)).toBeNull());
    expect(rowOf(a.id)).not.toBeNull();
    expect(rowOf(c.id)).not.toBeNull();
  });

  it('after a reconnect the page asks again, so events missed meanwhile are not lost', async () => {
    const a = agent();
    const { client, session } = setup([a]);
    await findRow(a.id);
    const before = client.callsTo('FleetPage').length;
    session.connection.connected();
    session.connection.closed(1006);
    session.connection.connected();
    await waitFor(() => expect(client.callsTo('FleetPage').length).toBe(before + 1));
    // and the subscription starts again from the log's head, not from its first cursor
    expect(client.callsTo('LatestCursor')).toHaveLength(2);
    expect(client.subscriberCount('FleetEvents')).toBe(1);
    expect(client.subscriptionsTo('FleetEvents').at(-1)).toEqual({ after: '41' });
  });
});
