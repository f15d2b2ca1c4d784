import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/svelte';
import FleetPage from '../../dashboard/src/components/fleet/FleetPage.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import { agent } from './fixtures';
import { findRow, row, rowOf, setup } from './fleet-setup';
import { formatIso } from '../../dashboard/src/lib/time';

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

  it('hides inactive agents behind a toggle that says how many, and shows them when asked', async () => {
    const live = agent({ name: 'web-1' });
    const gone = agent({ name: 'old-1', status: 'OFFLINE' });
    const { client } = setup([live, gone], new Set([gone.id]));
    await findRow(live.id);
    expect(rowOf(gone.id)).toBeNull();
    await waitFor(() => expect(screen.getByTestId('inactive-hidden').textContent).toBe('1'));
    expect((client.callsTo('FleetPage').at(-1)!.variables.filter as { inactive?: boolean }).inactive).toBe(false);
    await fireEvent.click(screen.getByTestId('inactive-toggle'));
    await findRow(gone.id);
    expect(location.search).toBe('?inactive=show');
    expect((client.callsTo('FleetPage').at(-1)!.variables.filter as { inactive?: boolean }).inactive).toBeUndefined();
    expect(screen.getByTestId('inactive-toggle').textContent).toBe('hide inactive agents');
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
    // Last heartbeat and "offline in": relative, with the ISO time and its zone one hover away.
    expect(cells[8].querySelector('time')!.title).toBe(formatIso(at));
    expect(cells[8].textContent!.trim()).toMatch(/^\d s ago$|^just now$/);
    expect(cells[9].querySelector('time')!.title).toBe(formatIso(offlineAt));
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
        { agentHeartbeats: { heartbeats: [{ at, health: 'DEGRADED', agent: { id: gone.id, status: 'DEGRADED', health: 'DEGRADED', healthMessage: null, lastHeartbeat: at, offlineAt: at, statusChangedAt: '2025-01-01T00:00:00.000Z' } }] } },
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
    expect(client.callsTo('FleetPage').at(-1)!.variables.filter).toEqual({ status: ['OFFLINE'], inactive: false });
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

describe('honest when stale', () => {
  beforeEach(() => history.replaceState(null, '', '/'));
  afterEach(() => history.replaceState(null, '', '/'));

  it('the clock stops when the link is lost and runs again when it is back', () => {
    const session = new Session();
    session.connection.connected();
    expect(session.stale).toBe(false);
    session.connection.closed(1006, 1_000);
    expect(session.stale).toBe(true);
    expect(session.now).toBe(1_000);
    expect(session.offlineReason).toMatch(/Not connected/);
    session.connection.connected();
    expect(session.stale).toBe(false);
    expect(session.now).toBe(session.clock.now);
    expect(session.connection.generation).toBe(1);
    session.destroy();
  });

  it('before the first connection nothing is stale yet', () => {
    const session = new Session();
    session.connection.closed(1006);
    expect(session.stale).toBe(false);
    session.destroy();
  });

  it('marks the page stale "as of" the loss; a status filter clicked meanwhile applies when the data arrives', async () => {
    const a = agent({ name: 'up-1' });
    const b = agent({ name: 'down-1', status: 'OFFLINE' });
    const { client, session } = setup([a, b]);
    session.connection.connected();
    await findRow(a.id);
    expect(document.querySelector('[data-stale-since]')).toBeNull();

    const lost = Date.parse('2025-06-01T12:34:56Z');
    session.time.set('utc');
    session.connection.closed(1006, lost);
    client.refuse('FleetPage').refuse('FleetSummary').refuse('LatestCursor');
    const notice = await screen.findByText(/as of 12:34:56 UTC/);
    expect(notice.closest('[role="status"]')).toBeTruthy();
    expect(document.querySelector('.fleet')!.getAttribute('data-stale')).toBe('true');

    await fireEvent.click(screen.getByRole('button', { name: /offline/ }));
    await waitFor(() => expect(document.querySelector('[data-waiting]')).toBeTruthy());
    // The old rows stay, said to be the previous view; the failed read is no error on screen.
    expect(rowOf(a.id)).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();

    client
      .answer('FleetPage', (v) => {
        const status = (v.filter as { status?: string[] } | undefined)?.status;
        const nodes = [a, b].filter((x) => !status || status.includes(x.status)).map(row);
        return { agents: { edges: nodes.map((node) => ({ cursor: `c-${node.id}`, node })), pageInfo: { hasNextPage: false, endCursor: null }, totalCount: nodes.length } };
      })
      .answer('FleetSummary', () => ({ agentStatusCounts: { online: 1, degraded: 0, offline: 1, total: 2 }, agents: { totalCount: 1 } }))
      .answer('LatestCursor', () => ({ agentEventLog: [{ cursor: '41' }] }));
    session.connection.connected();
    await waitFor(() => expect(rowOf(a.id)).toBeNull());
    expect(rowOf(b.id)).toBeTruthy();
    expect(document.querySelector('[data-stale-since]')).toBeNull();
    expect(document.querySelector('[data-waiting]')).toBeNull();
    session.time.set('relative');
  });
});
