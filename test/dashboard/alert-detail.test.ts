import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import AlertDetailPage from '../../dashboard/src/components/alerts/AlertDetailPage.svelte';
import { alertEventDetail, alertEventTitle, appendEvents, deliveryOutcome } from '../../dashboard/src/lib/alert-timeline';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';

const ID = '0b7a3c52-6a4f-4f55-9f0e-6d3c1c7c2f10';
const AGENT = { id: 'a1', name: 'web-1', environment: 'production', type: 'web_server', host: 'web-1.local', port: 443, status: 'OFFLINE' };

function alert(fields: Record<string, unknown> = {}) {
  return {
    id: ID,
    state: 'FIRING',
    severity: 'CRITICAL',
    ruleId: 'r1',
    ruleName: 'Agent offline',
    summary: 'web-1 is offline',
    description: '',
    value: null,
    labels: { team: 'web' },
    startedAt: '2026-01-01T10:00:00.000Z',
    firedAt: '2026-01-01T10:00:00.000Z',
    resolvedAt: null,
    clearingSince: null,
    resolveReason: null,
    acknowledged: false,
    acknowledgement: null,
    silenced: false,
    silencedBy: [],
    flapping: false,
    agent: AGENT,
    ...fields,
  };
}

const step = (cursor: string, type: string, extra: Record<string, unknown> = {}) => ({ cursor, type, by: null, comment: null, reason: null, at: '2026-01-01T10:00:00.000Z', ...extra });

const delivery = {
  id: 'd1',
  webhookId: 'msg_d1',
  status: 'DELIVERED',
  test: false,
  alertCount: 1,
  attemptCount: 1,
  createdAt: '2026-01-01T10:00:01.000Z',
  deliveredAt: '2026-01-01T10:00:01.000Z',
  nextAttemptAt: null,
  channel: { id: 'c1', name: 'ops hook' },
  attempts: [{ at: '2026-01-01T10:00:01.000Z', durationMs: 12, statusCode: 200, errorClass: 'ok', error: null }],
};

function setup(role: 'ADMIN' | 'VIEWER', found: Record<string, unknown> | null = alert()) {
  const client = new FakeClient()
    .answer('AlertDetail', () => ({ alert: found && { ...found, timeline: [step('10', 'FIRING')], deliveries: [delivery] } }))
    .answer('AlertDeliveries', () => ({ alert: { id: ID, deliveries: [delivery] } }))
    .answer('Acknowledge', (v) => ({ acknowledgeAlert: { ...alert(), acknowledged: true, acknowledgement: { by: 'admin', at: '2026-01-01T10:01:00.000Z', comment: v.comment } } }))
    .answer('SilenceAlert', () => ({ silenceAlert: { id: 's1', endsAt: '2026-01-01T11:00:00.000Z' } }));
  const session = new Session();
  session.role = role;
  render(Harness, { client: client.asClient(), router: new Router(), session, page: AlertDetailPage, id: ID });
  return { client };
}

describe('the alert detail page', () => {
  afterEach(() => history.replaceState(null, '', '/'));

  it('shows the alert, its timeline and deliveries, then follows alertChanged from the timeline’s last cursor', async () => {
    const { client } = setup('VIEWER');
    await screen.findByRole('heading', { name: 'web-1 is offline' });
    expect(screen.getByText('ops hook')).toBeTruthy();
    expect(screen.getByText('200 in 12 ms')).toBeTruthy();
    await waitFor(() => expect(client.subscriptionsTo('AlertDetailChanged')).toEqual([{ filter: { agentId: 'a1', ruleId: 'r1' }, after: '10' }]));

    const acked = alert({ acknowledged: true, acknowledgement: { by: 'alice', at: '2026-01-01T10:02:00.000Z', comment: 'on it' } });
    const change = { ...step('12', 'ACKNOWLEDGED', { by: 'alice', comment: 'on it' }), alert: acked };
    // A resumed stream replays what the page read already, and other alerts of the agent pass by.
    client.emit({ alertChanged: { ...step('10', 'FIRING'), alert: alert() } }, 'AlertDetailChanged');
    client.emit({ alertChanged: { ...step('11', 'FIRING'), alert: alert({ id: 'other' }) } }, 'AlertDetailChanged');
    client.emit({ alertChanged: change }, 'AlertDetailChanged');
    client.emit({ alertChanged: change }, 'AlertDetailChanged');
    await screen.findByText('Acknowledged by alice');
    const steps = [...document.querySelectorAll('li[data-event-type]')].map((li) => li.getAttribute('data-event-type'));
    expect(steps).toEqual(['FIRING', 'ACKNOWLEDGED']);
    expect(document.querySelector('[data-acknowledged-by="alice"]')?.textContent).toContain('on it');
    // A viewer sees no editing controls: only the deliveries' Refresh.
    expect(screen.getAllByRole('button').map((b) => b.textContent)).toEqual(['Refresh']);
    expect(screen.queryByRole('textbox')).toBeNull();
  });

  it('lets an admin acknowledge with a comment, silence for a preset and redeliver', async () => {
    const { client } = setup('ADMIN');
    await screen.findByRole('heading', { name: 'web-1 is offline' });
    await fireEvent.input(screen.getByLabelText('Comment'), { target: { value: 'looking' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Acknowledge' }));
    await screen.findByRole('button', { name: 'Unacknowledge' });
    expect(client.callsTo('Acknowledge')).toEqual([{ name: 'Acknowledge', variables: { id: ID, comment: 'looking' } }]);
    await fireEvent.click(screen.getByRole('button', { name: 'Silence for 4 h' }));
    await screen.findByText(/Silenced for 4 h/);
    expect(client.callsTo('SilenceAlert')[0].variables).toEqual({ id: ID, durationSeconds: 14_400, comment: null });
    expect(screen.getByRole('button', { name: 'Redeliver msg_d1' })).toBeTruthy();
  });

  it('reads the deliveries again while a just-fired alert’s notification is on its way, with no event to say so', async () => {
    const now = new Date().toISOString();
    let deliveries: unknown[] = [];
    const client = new FakeClient()
      .answer('AlertDetail', () => ({ alert: { ...alert({ firedAt: now }), timeline: [step('10', 'FIRING', { at: now })], deliveries: [] } }))
      .answer('AlertDeliveries', () => ({ alert: { id: ID, deliveries } }));
    const session = new Session();
    session.role = 'VIEWER';
    render(Harness, { client: client.asClient(), router: new Router(), session, page: AlertDetailPage, id: ID });
    await screen.findByRole('heading', { name: 'web-1 is offline' });
    expect(screen.queryByText('ops hook')).toBeNull();
    deliveries = [{ ...delivery, status: 'PENDING', deliveredAt: null, nextAttemptAt: new Date(Date.now() + 1000).toISOString() }];
    await waitFor(() => expect(document.querySelector('tr[data-status="PENDING"]')).toBeTruthy(), { timeout: 4000 });
    deliveries = [delivery];
    await waitFor(() => expect(document.querySelector('tr[data-status="DELIVERED"]')).toBeTruthy(), { timeout: 4000 });
    expect(client.callsTo('AlertDeliveries').length).toBeGreaterThanOrEqual(2);
  });

  it('says so when no alert has the id, and offers no actions on a resolved one', async () => {
    setup('ADMIN', null);
    await screen.findByRole('heading', { name: 'Alert not found' });
    document.body.innerHTML = '';
    setup('ADMIN', alert({ state: 'RESOLVED', resolvedAt: '2026-01-01T10:05:00.000Z', resolveReason: 'the condition cleared' }));
    await screen.findByText(/the condition cleared/);
    expect(screen.queryByRole('button', { name: 'Acknowledge' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Silence for/ })).toBeNull();
  });
});

describe('alert timeline text', () => {
  it('names each step and who did it, with the comment before the reason', () => {
    expect(alertEventTitle({ type: 'ACKNOWLEDGED', by: 'alice' })).toBe('Acknowledged by alice');
    expect(alertEventTitle({ type: 'FLAPPING', by: null })).toBe('Flapping');
    expect(alertEventDetail({ comment: 'on it', reason: 'x' })).toBe('“on it”');
    expect(alertEventDetail({ comment: null, reason: 'the condition cleared' })).toBe('the condition cleared');
  });

  it('describes a delivery’s last attempt', () => {
    expect(deliveryOutcome({ attempts: [] })).toBe('not tried yet');
    expect(deliveryOutcome({ attempts: [{ at: '', durationMs: 10_000, statusCode: null, errorClass: 'timeout', error: 'no answer in 10 s' }] })).toBe('timeout in 10000 ms (no answer in 10 s)');
  });

  it('appends only events it does not hold', () => {
    const a = { cursor: '1' };
    const b = { cursor: '2' };
    expect(appendEvents([a], [a, b, b])).toEqual([a, b]);
  });
});
