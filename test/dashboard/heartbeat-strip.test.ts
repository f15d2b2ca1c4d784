import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIso } from '../../dashboard/src/lib/time';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import AgentPage from '../../dashboard/src/components/agent/AgentPage.svelte';
import HeartbeatStrip from '../../dashboard/src/components/agent/HeartbeatStrip.svelte';
import type { PushedHeartbeat } from '../../dashboard/src/lib/documents';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import { RETRY_FIRST_MS } from '../../dashboard/src/lib/resubscribe';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';

const now = Date.now();
const ago = (s: number) => new Date(now - s * 1000).toISOString();
type Health = PushedHeartbeat['health'];
const beat = (s: number, health: Health = 'HEALTHY') => ({ at: ago(s), health });

const bars = () => [...document.querySelectorAll<HTMLElement>('li.bar')];

describe('recent heartbeats strip', () => {
  it('draws one bar per heartbeat, oldest at the left, each named by its time and health', () => {
    render(HeartbeatStrip, { heartbeats: [beat(10), beat(20, 'DEGRADED'), beat(30, 'UNHEALTHY')], intervalSeconds: 10, now });
    const list = screen.getByRole('list', { name: /recent heartbeats/i });
    const items = within(list).getAllByRole('listitem');
    expect(items.map((li) => li.dataset.health)).toEqual(['UNHEALTHY', 'DEGRADED', 'HEALTHY']);
    expect(items[0].textContent).toMatch(/unhealthy/);
    expect(items[0].title).toContain('unhealthy');
    expect(items[0].title).toContain(formatIso(ago(30)));
    expect(screen.getByText(/3 of the last 30, 2 not healthy/)).toBeTruthy();
  });

  it('is a list described by its summary, and names each bar with its date too when the heartbeats fall on more than one date', () => {
    const days = 24 * 3600;
    render(HeartbeatStrip, { heartbeats: [beat(10), beat(2 * days)], intervalSeconds: 3600, now });
    const list = screen.getByRole('list', { name: /recent heartbeats/i });
    expect(list.getAttribute('role')).toBe('list');
    const summary = document.getElementById(list.getAttribute('aria-describedby')!)!;
    expect(summary.textContent).toMatch(/2 of the last 30/);
    const [older] = within(list).getAllByRole('listitem');
    expect(older.querySelector('.visually-hidden')!.textContent).toBe(`${formatIso(ago(2 * days))}, healthy`);
  });

  it('names bars by their time alone when all fall on one date', () => {
    // Two heartbeats ten seconds apart, at noon today: the same date whatever the time zone.
    const noon = new Date();
    noon.setHours(12, 0, 0, 0);
    const at = (s: number) => new Date(noon.getTime() - s * 1000).toISOString();
    render(HeartbeatStrip, { heartbeats: [{ at: at(0), health: 'HEALTHY' }, { at: at(10), health: 'DEGRADED' }], intervalSeconds: 10, now: noon.getTime() });
    const [older] = within(screen.getByRole('list', { name: /recent heartbeats/i })).getAllByRole('listitem');
    expect(older.querySelector('.visually-hidden')!.textContent).toBe(`${new Date(at(10)).toLocaleTimeString()}, degraded`);
  });

  it('shows a gap where the agent was silent for more than one and a half intervals', () => {
    render(HeartbeatStrip, { heartbeats: [beat(10), beat(100), beat(110)], intervalSeconds: 10, now });
    const gap = document.querySelector<HTMLElement>('li.gap')!;
    expect(gap.dataset.gapMs).toBe('90000');
    expect(gap.title).toBe('No heartbeat for 1 min');
    // between the second and the third bar
    const order = [...document.querySelectorAll('li')].map((li) => li.className.split(' ')[0]);
    expect(order).toEqual(['bar', 'bar', 'gap', 'bar']);
  });

  it('says so when there is no heartbeat yet', () => {
    render(HeartbeatStrip, { heartbeats: [], intervalSeconds: 30, now });
    expect(screen.getByText('No heartbeats yet.')).toBeTruthy();
    expect(bars()).toHaveLength(0);
  });
});

describe('agent page heartbeats', () => {
  beforeEach(() => history.replaceState(null, '', '/'));
  afterEach(() => history.replaceState(null, '', '/'));

  const ID = '0b8a7f4e-1111-4222-8333-944455556666';
  function setup(recentHeartbeats: { at: string; health: Health }[]) {
    const client = new FakeClient()
      .answer('LatestCursor', () => ({ agentEventLog: [{ cursor: '7' }] }))
      .answer('AgentPage', () => ({
        agent: {
          id: ID,
          name: 'web-1',
          type: 'web_server',
          host: 'web-1.local',
          port: 80,
          environment: 'production',
          status: 'ONLINE',
          health: 'HEALTHY',
          healthMessage: null,
          tags: [],
          heartbeatIntervalSeconds: 10,
          lastHeartbeat: recentHeartbeats[0]?.at ?? null,
          offlineAt: ago(-30),
          createdAt: ago(3600),
          updatedAt: ago(3600),
          metadata: {},
          configuration: [],
          configurationRevision: 0,
          recentHeartbeats,
        },
        agentEventLog: [],
      }));
    render(Harness, { client: client.asClient(), router: new Router(), session: new Session(), page: AgentPage, id: ID });
    return client;
  }

  it('shows the agent’s recent heartbeats and adds each pushed one at the right, up to 30', async () => {
    const recent = Array.from({ length: 30 }, (_, i) => beat(10 * (i + 1)));
    const client = setup(recent);
    await waitFor(() => expect(bars()).toHaveLength(30));
    expect(client.subscriptionsTo('AgentPageHeartbeats')).toEqual([{ agentIds: [ID] }]);

    const at = ago(1);
    const history = [{ at, health: 'DEGRADED' as Health }, ...recent.slice(0, 29)];
    const push: PushedHeartbeat = {
      at,
      health: 'DEGRADED',
      agent: { id: ID, status: 'DEGRADED', health: 'DEGRADED', healthMessage: 'disk 91%', lastHeartbeat: at, offlineAt: ago(-29), statusChangedAt: '2025-01-01T00:00:00.000Z' },
    };
    client.emit({ agentHeartbeats: { heartbeats: [{ ...push, agent: { ...push.agent, recentHeartbeats: history } }] } }, 'AgentPageHeartbeats');
    await waitFor(() => expect(bars().at(-1)!.dataset.health).toBe('DEGRADED'));
    expect(bars()).toHaveLength(30);
    expect(bars()[0].title).toContain(formatIso(recent[28].at));
    // The pushed agent fields apply too: status badge, health and its message.
    await waitFor(() => expect(screen.getByText(/disk 91%/)).toBeTruthy());
    expect(client.callsTo('AgentPage')).toHaveLength(1);
    expect(client.callsTo('Agent')).toHaveLength(0);
  });

  it('fills in a heartbeat it was never pushed (say, while the stream was down), from the next push’s agent history', async () => {
    const client = setup([beat(20), beat(30)]);
    await waitFor(() => expect(bars()).toHaveLength(2));
    // beat(10) was taken while no subscription was open, and the next push is a later one.
    const at = ago(1);
    const agent = { id: ID, status: 'ONLINE', health: 'HEALTHY', healthMessage: null, lastHeartbeat: at, offlineAt: ago(-29), statusChangedAt: '2025-01-01T00:00:00.000Z' };
    const recentHeartbeats = [beat(1), beat(10, 'UNHEALTHY'), beat(20), beat(30)];
    client.emit({ agentHeartbeats: { heartbeats: [{ at, health: 'HEALTHY', agent: { ...agent, recentHeartbeats } }] } }, 'AgentPageHeartbeats');
    await waitFor(() => expect(bars()).toHaveLength(4));
    expect(bars().map((b) => b.dataset.health)).toEqual(['HEALTHY', 'HEALTHY', 'UNHEALTHY', 'HEALTHY']);
  });

  it('subscribes again after the server ends the heartbeat stream with an error, and carries on', async () => {
    const client = setup([beat(20)]);
    await waitFor(() => expect(bars()).toHaveLength(1));
    expect(client.subscriptionsTo('AgentPageHeartbeats')).toHaveLength(1);
    client.emitError('subscriber fell more than 100 heartbeat batches behind; subscribe again', 'AgentPageHeartbeats');
    await waitFor(() => expect(client.subscriptionsTo('AgentPageHeartbeats')).toHaveLength(2), { timeout: RETRY_FIRST_MS + 1000 });
    expect(client.subscriptionsTo('AgentPageHeartbeats')[1]).toEqual({ agentIds: [ID] });
    // Opened before the failed one was closed; the events subscription was left alone.
    expect(client.log.filter((l) => l.includes('Heartbeats'))).toEqual(['open AgentPageHeartbeats #1', 'open AgentPageHeartbeats #2', 'close AgentPageHeartbeats #1']);
    expect(client.subscriberCount('AgentEvents')).toBe(1);

    // Its first push, the current state, brings what was taken meanwhile.
    const at = ago(2);
    const agent = { id: ID, status: 'DEGRADED', health: 'DEGRADED', healthMessage: null, lastHeartbeat: at, offlineAt: ago(-28), statusChangedAt: '2025-01-01T00:00:00.000Z' };
    client.emit({ agentHeartbeats: { heartbeats: [{ at, health: 'DEGRADED', agent: { ...agent, recentHeartbeats: [beat(2, 'DEGRADED'), beat(10), beat(20)] } }] } }, 'AgentPageHeartbeats');
    await waitFor(() => expect(bars()).toHaveLength(3));
    expect(bars().at(-1)!.dataset.health).toBe('DEGRADED');
  });
});
