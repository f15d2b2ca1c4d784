import { describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/svelte';
import AgentAlerts from '../../dashboard/src/components/agent/AgentAlerts.svelte';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';

const AGENT = { id: 'a1', name: 'web-1', environment: 'production' };
let n = 0;
function alert(fields: Record<string, unknown> = {}) {
  n++;
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    state: 'FIRING',
    severity: 'CRITICAL',
    ruleName: 'Agent offline',
    summary: `alert ${n}`,
    value: null,
    startedAt: new Date(Date.UTC(2026, 0, 1, 10, n)).toISOString(),
    firedAt: null,
    resolvedAt: null,
    acknowledged: false,
    acknowledgement: null,
    silenced: false,
    flapping: false,
    agent: AGENT,
    ...fields,
  };
}

function setup(alerts: ReturnType<typeof alert>[], total = alerts.length) {
  const client = new FakeClient().answer('Alerts', () => ({ alerts: { totalCount: total, nodes: alerts } }));
  const session = new Session();
  session.role = 'VIEWER';
  render(Harness, { client: client.asClient(), router: new Router(), session, page: AgentAlerts, pageProps: { agentId: 'a1' } });
  return client;
}

const shown = () => [...document.querySelectorAll('li[data-alert-id]')].map((li) => li.querySelector('a')!.textContent);

describe('an agent’s alerts on its page', () => {
  it('reads only that agent’s alerts in every state, open first, and links each to its page', async () => {
    const resolved = alert({ state: 'RESOLVED', resolvedAt: '2026-01-01T11:00:00.000Z' });
    const firing = alert();
    const client = setup([firing, resolved]);
    await screen.findByText('1 open');
    expect(client.callsTo('Alerts')[0].variables).toEqual({ filter: { agentId: 'a1', state: ['FIRING', 'PENDING', 'RESOLVED'], severity: null }, first: 10 });
    expect(client.subscriptionsTo('AlertChanged')).toEqual([{ filter: { agentId: 'a1' } }]);
    expect(shown()).toEqual([firing.summary, resolved.summary]);
    expect(screen.getByRole('link', { name: firing.summary }).getAttribute('href')).toBe(`/alerts/${firing.id}`);
  });

  it('follows alertChanged: a new firing alert comes first, a resolved one moves down, and the list keeps the ten most pressing', async () => {
    const old = Array.from({ length: 10 }, () => alert({ state: 'RESOLVED', resolvedAt: '2026-01-01T11:00:00.000Z' }));
    const firing = alert({ severity: 'WARNING' });
    const client = setup([firing, ...old.slice(0, 9)], 11);
    await screen.findByText('1 open');
    expect(screen.getByText('The 10 most pressing of 11.')).toBeTruthy();
    const fresh = alert();
    client.emit({ alertChanged: { cursor: '1', type: 'FIRING', alert: fresh } }, 'AlertChanged');
    await screen.findByText('2 open');
    expect(shown().slice(0, 2)).toEqual([fresh.summary, firing.summary]);
    expect(shown()).toHaveLength(10);
    client.emit({ alertChanged: { cursor: '2', type: 'RESOLVED', alert: { ...firing, state: 'RESOLVED', resolvedAt: '2026-01-01T12:00:00.000Z' } } }, 'AlertChanged');
    await waitFor(() => expect(document.querySelector('[data-agent-alerts]')?.getAttribute('data-open')).toBe('1'));
    expect(document.querySelector(`li[data-alert-id="${firing.id}"]`)?.getAttribute('data-state')).toBe('RESOLVED');
  });

  it('says when the agent has no alerts', async () => {
    setup([]);
    await screen.findByText('No alerts for this agent.');
  });
});
