import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import ChannelsSection from '../../dashboard/src/components/alerts/ChannelsSection.svelte';
import SilencesSection from '../../dashboard/src/components/alerts/SilencesSection.svelte';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import { emptySilenceForm, silenceInput } from '../../dashboard/src/lib/silence-form';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';

const NOW = Date.parse('2026-01-01T10:00:00.000Z');

function mount(client: FakeClient, role: 'ADMIN' | 'VIEWER', page: typeof SilencesSection | typeof ChannelsSection) {
  const session = new Session();
  session.role = role;
  render(Harness, { client: client.asClient(), router: new Router(), session, page });
}

describe('the silence form', () => {
  it('makes a one-off silence end some hours from now, and a window a weekly schedule', () => {
    const form = { ...emptySilenceForm('Europe/Berlin'), comment: ' deploy ', matchers: [{ name: 'environment', op: 'NE' as const, value: 'dev' }] };
    expect(silenceInput(form, NOW)).toEqual({ matchers: [{ name: 'environment', op: 'NE', value: 'dev' }], comment: 'deploy', endsAt: '2026-01-01T12:00:00.000Z' });
    expect(silenceInput({ ...form, recurring: true, days: [5, 1] }, NOW)).toEqual({
      matchers: [{ name: 'environment', op: 'NE', value: 'dev' }],
      comment: 'deploy',
      schedule: { days: [1, 5], start: '22:00', end: '02:00', timezone: 'Europe/Berlin' },
    });
  });

  it('sends several matchers and shows the server’s field errors next to their fields', async () => {
    const client = new FakeClient()
      .answer('Silences', () => ({ silences: [] }))
      .fail('CreateSilence', 'Invalid silence', { code: 'BAD_USER_INPUT', fields: { 'matchers.1.name': 'must be a label name (letters, digits, _), or "tag"', 'schedule.timezone': 'must be an IANA time zone such as Europe/Berlin' } });
    mount(client, 'ADMIN', SilencesSection);
    const form = await screen.findByRole('form', { name: 'New silence' });
    await fireEvent.input(within(form).getByLabelText('Value 1'), { target: { value: 'production' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Add matcher' }));
    await fireEvent.input(within(form).getByLabelText('Label 2'), { target: { value: 'bad label' } });
    await fireEvent.input(within(form).getByLabelText('Comment'), { target: { value: 'night work' } });
    await fireEvent.click(within(form).getByLabelText('Recurring maintenance window'));
    await fireEvent.input(within(form).getByLabelText('Time zone'), { target: { value: 'Mars/Base' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Create window' }));
    await within(form).findByText('name: must be a label name (letters, digits, _), or "tag"');
    expect(within(form).getByLabelText('Label 2').getAttribute('aria-invalid')).toBe('true');
    expect(within(form).getByLabelText('Time zone').closest('label')!.nextElementSibling!.textContent).toBe('must be an IANA time zone such as Europe/Berlin');
    const [sent] = client.callsTo('CreateSilence');
    expect(sent.variables.input).toMatchObject({ comment: 'night work', matchers: [{ name: 'environment', op: 'EQ', value: 'production' }, { name: 'bad label', op: 'EQ', value: '' }], schedule: { timezone: 'Mars/Base' } });
  });

  it('shows a viewer the silences with no editing controls', async () => {
    const client = new FakeClient().answer('Silences', () => ({
      silences: [{ id: 's1', active: true, comment: 'deploy', createdBy: 'admin', startsAt: '2026-01-01T10:00:00Z', endsAt: null, matchers: [{ name: 'environment', op: 'EQ', value: 'prod' }], schedule: { days: [1, 2], start: '22:00', end: '02:00', timezone: 'UTC' } }],
    }));
    mount(client, 'VIEWER', SilencesSection);
    await screen.findByText('environment=prod');
    expect(screen.getByText(/Mon Tue 22:00–02:00 \(UTC\)/)).toBeTruthy();
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.queryByRole('form')).toBeNull();
  });
});

describe('the channels page', () => {
  const channels = {
    notificationChannels: [{ id: 'c1', name: 'ops', url: 'https://hooks.example/ops', format: 'JSON', enabled: true, disabledReason: null, deliveries: [] }],
    notificationPolicies: [{ id: 'p1', name: 'ops (route)', channelIds: ['c1'], groupBy: ['alertname', 'environment'] }],
  };

  it('shows each channel’s routes, and rotates its secret once asked, showing the new one once', async () => {
    const client = new FakeClient().answer('Channels', () => channels).answer('RotateSecret', () => ({ rotateNotificationChannelSecret: { channel: { id: 'c1', secretRotatedUntil: null }, secret: 'whsec_new' } }));
    mount(client, 'ADMIN', ChannelsSection);
    await screen.findByText(/Routed by ops \(route\) \(grouped by alertname, environment\)/);
    await fireEvent.click(screen.getByRole('button', { name: 'Rotate secret of ops' }));
    expect((await screen.findByText('whsec_new')).hasAttribute('data-secret')).toBe(true);
  });

  it('shows a viewer the channels and their log with no editing controls', async () => {
    mount(new FakeClient().answer('Channels', () => channels), 'VIEWER', ChannelsSection);
    await screen.findByText(/Routed by/);
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.queryByRole('form')).toBeNull();
  });
});
