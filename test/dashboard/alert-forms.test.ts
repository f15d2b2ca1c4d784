import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import ChannelsSection from '../../dashboard/src/components/alerts/ChannelsSection.svelte';
import PoliciesSection from '../../dashboard/src/components/alerts/PoliciesSection.svelte';
import SilencesSection from '../../dashboard/src/components/alerts/SilencesSection.svelte';
import { channelInput, emptyChannelForm, formFromChannel, routeFor, testOutcome } from '../../dashboard/src/lib/channel-form';
import { formatMatchers } from '../../dashboard/src/lib/matchers';
import type { Channel, Policy } from '../../dashboard/src/lib/notification-documents';
import { emptyPolicyForm, formFromPolicy, policyInput, repeatText } from '../../dashboard/src/lib/policy-form';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import type { Silence } from '../../dashboard/src/lib/silence-documents';
import { emptySilenceForm, formFromSilence, silenceInput, silenceState, toLocalInput } from '../../dashboard/src/lib/silence-form';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';

const NOW = Date.parse('2026-01-01T10:00:00.000Z');
const HOUR = 3_600_000;

const pending: Silence = {
  id: 's1',
  active: false,
  comment: 'deploy',
  createdBy: 'admin',
  startsAt: new Date(Date.now() + 3 * HOUR + 60_000).toISOString(),
  endsAt: new Date(Date.now() + 5 * HOUR + 60_000).toISOString(),
  matchers: [{ name: 'environment', op: 'EQ', value: 'prod' }],
  schedule: null,
};
const ops: Channel = { id: 'c1', name: 'ops', url: 'https://hooks.example/ops', format: 'JSON', enabled: true, disabledReason: null, secretRotatedUntil: null, deliveries: [] };
const policy: Policy = { id: 'p1', name: 'prod to ops', enabled: true, channelIds: ['c1'], groupBy: ['alertname'], groupWaitSeconds: 0.5, repeatIntervalSeconds: 14_400, matchers: [{ name: 'environment', op: 'EQ', value: 'prod' }] };

function mount(client: FakeClient, role: 'ADMIN' | 'VIEWER', page: typeof SilencesSection | typeof ChannelsSection | typeof PoliciesSection) {
  const session = new Session();
  session.role = role;
  render(Harness, { client: client.asClient(), router: new Router(), session, page });
}

describe('the silence form’s fields', () => {
  it('starts a silence later: it ends its hours after that start, and reads back as it was', () => {
    const startsAt = toLocalInput(NOW + 24 * HOUR);
    const input = silenceInput({ ...emptySilenceForm('UTC'), comment: 'upgrade', startsAt, hours: 3 }, NOW);
    expect(input).toMatchObject({ startsAt: new Date(NOW + 24 * HOUR).toISOString(), endsAt: new Date(NOW + 27 * HOUR).toISOString() });
    const saved: Silence = { ...pending, startsAt: input.startsAt as string, endsAt: input.endsAt as string, comment: 'upgrade' };
    expect(formFromSilence(saved, 'UTC')).toMatchObject({ recurring: false, startsAt, hours: 3, comment: 'upgrade', matchers: [{ name: 'environment', op: 'EQ', value: 'prod' }] });
  });

  it('gives a maintenance window a first day and a last one when asked, and reads its schedule back', () => {
    const form = { ...emptySilenceForm('Europe/Berlin'), comment: 'nightly', recurring: true, days: [3, 1], startsAt: toLocalInput(NOW), until: toLocalInput(NOW + 30 * 24 * HOUR) };
    const input = silenceInput(form, NOW);
    expect(input).toEqual({
      matchers: [{ name: 'environment', op: 'EQ', value: '' }],
      comment: 'nightly',
      startsAt: new Date(NOW).toISOString(),
      endsAt: new Date(NOW + 30 * 24 * HOUR).toISOString(),
      schedule: { days: [1, 3], start: '22:00', end: '02:00', timezone: 'Europe/Berlin' },
    });
    const back = formFromSilence({ ...pending, startsAt: input.startsAt as string, endsAt: input.endsAt as string, schedule: { days: [1, 3], start: '22:00', end: '02:00', timezone: 'Europe/Berlin' } });
    expect(back).toMatchObject({ recurring: true, days: [1, 3], timezone: 'Europe/Berlin', until: form.until, startsAt: form.startsAt });
  });

  it('says a silence whose start is ahead is pending, and when it starts', () => {
    expect(silenceState({ active: false, startsAt: new Date(NOW + 2 * HOUR + 5000).toISOString() }, NOW)).toEqual({ state: 'pending', text: 'pending · starts in 2 h' });
    expect(silenceState({ active: true, startsAt: new Date(NOW - HOUR).toISOString() }, NOW).state).toBe('active');
    expect(silenceState({ active: false, startsAt: new Date(NOW - HOUR).toISOString() }, NOW).text).toBe('outside its window now');
  });
});

describe('the policy and channel forms’ fields', () => {
  it('sends a policy’s matchers, channels and grouping as the API takes them, and reads a saved one back unchanged', () => {
    expect(policyInput({ ...emptyPolicyForm(), name: ' all ', channelIds: ['c1'] })).toEqual({
      name: 'all',
      enabled: true,
      matchers: [],
      channelIds: ['c1'],
      groupBy: ['alertname', 'environment'],
      groupWaitSeconds: 0.5,
      repeatIntervalSeconds: 14_400,
    });
    const back = policyInput(formFromPolicy(policy));
    expect(back).toEqual({ name: 'prod to ops', enabled: true, matchers: policy.matchers, channelIds: ['c1'], groupBy: ['alertname'], groupWaitSeconds: 0.5, repeatIntervalSeconds: 14_400 });
    expect([repeatText(0), repeatText(14_400), repeatText(1800)]).toEqual(['no reminders', 'reminders every 4 h', 'reminders every 30 min']);
    expect(formatMatchers([])).toBe('every alert');
  });

  it('edits a channel without making a route, and gives a new one the route asked for', () => {
    expect(channelInput(formFromChannel({ ...ops, name: ' ops ', enabled: false }))).toEqual({ name: 'ops', url: 'https://hooks.example/ops', format: 'JSON', enabled: false });
    expect(routeFor(formFromChannel(ops), 'c1')).toBeNull();
    expect(routeFor({ ...emptyChannelForm(), name: 'pager', route: 'environment', environment: ' prod ' }, 'c9')).toEqual({ name: 'pager (route)', channelIds: ['c9'], matchers: [{ name: 'environment', op: 'EQ', value: 'prod' }] });
    expect(routeFor({ ...emptyChannelForm(), name: 'all' }, 'c9')?.matchers).toEqual([]);
    expect(testOutcome(null)).toMatch(/disabled/);
    expect(testOutcome({ ok: false, statusCode: 500, errorClass: 'HTTP_5XX', error: 'boom' })).toBe('Test failed: HTTP_5XX — boom');
  });
});

describe('the silences page', () => {
  it('shows a pending silence as such, and edits it in place by id, with the server’s refusal beside its field', async () => {
    const client = new FakeClient()
      .answer('Silences', () => ({ silences: [pending] }))
      .fail('UpdateSilence', 'Invalid silence', { code: 'BAD_USER_INPUT', fields: { endsAt: 'must be after startsAt' } });
    mount(client, 'ADMIN', SilencesSection);
    const item = (await screen.findByText('environment=prod')).closest('li')!;
    expect(item.getAttribute('data-state')).toBe('pending');
    expect(item.textContent).toContain('pending · starts in 3 h');
    await fireEvent.click(within(item).getByRole('button', { name: 'Edit deploy' }));
    const form = within(item).getByRole('form', { name: 'Edit silence deploy' });
    expect((within(form).getByLabelText('Hours') as HTMLInputElement).value).toBe('2');
    await fireEvent.input(within(form).getByLabelText('Hours'), { target: { value: '4' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Save silence' }));
    await within(form).findByText('must be after startsAt');
    expect(within(form).getByLabelText('Hours').getAttribute('aria-invalid')).toBe('true');
    expect(within(form).getByLabelText('Hours').closest('label')!.nextElementSibling!.textContent).toBe('must be after startsAt');
    const [sent] = client.callsTo('UpdateSilence');
    expect(sent.variables).toMatchObject({ id: 's1', input: { comment: 'deploy', startsAt: new Date(toLocalInput(pending.startsAt)).toISOString() } });
    expect(Date.parse((sent.variables.input as { endsAt: string }).endsAt) - Date.parse((sent.variables.input as { startsAt: string }).startsAt)).toBe(4 * HOUR);
  });
});

describe('the routing page', () => {
  const data = () => ({ notificationChannels: [ops, { ...ops, id: 'c2', name: 'pager' }], notificationPolicies: [policy] });

  it('creates a policy with matchers and channels, edits one, and deletes one after a confirmation', async () => {
    const client = new FakeClient()
      .answer('Channels', data)
      .answer('CreatePolicy', () => ({ createNotificationPolicy: { id: 'p2' } }))
      .answer('UpdatePolicy', () => ({ updateNotificationPolicy: { id: 'p1' } }))
      .answer('DeletePolicy', () => ({ deleteNotificationPolicy: 'p1' }));
    mount(client, 'ADMIN', PoliciesSection);
    const row = (await screen.findByText('prod to ops')).closest('tr')!;
    expect(row.textContent).toContain('environment=prod');
    expect(row.textContent).toContain('reminders every 4 h');

    const form = screen.getByRole('form', { name: 'New policy' });
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'critical to pager' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Add matcher' }));
    await fireEvent.input(within(form).getByLabelText('Label 1'), { target: { value: 'severity' } });
    await fireEvent.input(within(form).getByLabelText('Value 1'), { target: { value: 'critical' } });
    await fireEvent.click(within(form).getByLabelText('pager'));
    await fireEvent.click(within(form).getByRole('button', { name: 'Create policy' }));
    await screen.findByText('Policy “critical to pager” created.');
    expect(client.callsTo('CreatePolicy')[0].variables.input).toMatchObject({ name: 'critical to pager', channelIds: ['c2'], matchers: [{ name: 'severity', op: 'EQ', value: 'critical' }] });

    await fireEvent.click(within(row).getByRole('button', { name: 'Edit prod to ops' }));
    const edit = screen.getByRole('form', { name: 'Edit policy prod to ops' });
    await fireEvent.input(within(edit).getByLabelText('Reminders every (min, 0: none)'), { target: { value: '0' } });
    await fireEvent.click(within(edit).getByRole('button', { name: 'Save policy' }));
    await screen.findByText('Saved “prod to ops”.');
    expect(client.callsTo('UpdatePolicy')[0].variables).toMatchObject({ id: 'p1', input: { repeatIntervalSeconds: 0, channelIds: ['c1'] } });

    await fireEvent.click(within(row).getByRole('button', { name: 'Delete prod to ops' }));
    expect(client.callsTo('DeletePolicy')).toEqual([]);
    await fireEvent.click(within(screen.getByRole('dialog', { name: 'Delete prod to ops?' })).getByRole('button', { name: 'Delete' }));
    await screen.findByText('Deleted “prod to ops”.');
    expect(client.callsTo('DeletePolicy')[0].variables).toEqual({ id: 'p1' });
  });

  it('shows the server’s field errors beside the policy’s fields', async () => {
    const client = new FakeClient().answer('Channels', data).fail('CreatePolicy', 'Invalid policy', { code: 'BAD_USER_INPUT', fields: { channelIds: 'must list 1 to 50 channels', groupBy: 'must list at most 10 label names' } });
    mount(client, 'ADMIN', PoliciesSection);
    const form = await screen.findByRole('form', { name: 'New policy' });
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'nowhere' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Create policy' }));
    await within(form).findByText('must list 1 to 50 channels');
    expect(within(form).getByLabelText('Group by').closest('label')!.nextElementSibling!.textContent).toBe('must list at most 10 label names');
    expect(within(form).getByRole('alert').textContent).toBe('The policy was not saved: see the fields marked.');
  });

  it('shows a viewer the policies with no editing controls', async () => {
    mount(new FakeClient().answer('Channels', data), 'VIEWER', PoliciesSection);
    await screen.findByText('prod to ops');
    expect(screen.queryAllByRole('button')).toEqual([]);
    expect(screen.queryByRole('form')).toBeNull();
  });
});

describe('a channel’s controls', () => {
  it('edits the URL, with the server’s refusal beside the field', async () => {
    const client = new FakeClient()
      .answer('Channels', () => ({ notificationChannels: [ops], notificationPolicies: [] }))
      .fail('UpdateChannel', 'Invalid channel', { code: 'BAD_USER_INPUT', fields: { url: 'must be http or https' } });
    mount(client, 'ADMIN', ChannelsSection);
    const card = (await screen.findByRole('heading', { name: /^ops/ })).closest('article')!;
    await fireEvent.click(within(card).getByRole('button', { name: 'Edit ops' }));
    const form = within(card).getByRole('form', { name: 'Edit channel ops' });
    await fireEvent.input(within(form).getByLabelText('URL'), { target: { value: 'ftp://nope' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Save channel' }));
    await within(form).findByText('must be http or https');
    expect(within(form).getByLabelText('URL').closest('label')!.nextElementSibling!.textContent).toBe('must be http or https');
    expect(within(form).getByLabelText('URL').getAttribute('aria-invalid')).toBe('true');
    expect(client.callsTo('UpdateChannel')[0].variables).toEqual({ id: 'c1', input: { name: 'ops', url: 'ftp://nope', format: 'JSON', enabled: true } });
  });

  it('disables the channel keeping its settings, and deletes it only once confirmed', async () => {
    let channels = [ops];
    const client = new FakeClient()
      .answer('Channels', () => ({ notificationChannels: channels, notificationPolicies: [] }))
      .answer('UpdateChannel', (v) => {
        channels = [{ ...ops, enabled: (v.input as { enabled: boolean }).enabled }];
        return { updateNotificationChannel: { id: 'c1', enabled: channels[0].enabled } };
      })
      .answer('DeleteChannel', () => {
        channels = [];
        return { deleteNotificationChannel: 'c1' };
      });
    mount(client, 'ADMIN', ChannelsSection);
    await fireEvent.click(await screen.findByRole('button', { name: 'Disable ops' }));
    await screen.findByText('Disabled “ops”.');
    expect(client.callsTo('UpdateChannel')[0].variables).toEqual({ id: 'c1', input: { name: 'ops', url: 'https://hooks.example/ops', format: 'JSON', enabled: false } });
    await waitFor(() => expect(document.querySelector('[data-channel-id="c1"]')!.getAttribute('data-enabled')).toBe('false'));
    expect(screen.getByRole('button', { name: 'Enable ops' })).toBeTruthy();

    await fireEvent.click(screen.getByRole('button', { name: 'Delete ops' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete ops?' });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(client.callsTo('DeleteChannel')).toEqual([]);
    await fireEvent.click(screen.getByRole('button', { name: 'Delete ops' }));
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await screen.findByText('Deleted “ops”.');
    expect(client.callsTo('DeleteChannel')[0].variables).toEqual({ id: 'c1' });
    await waitFor(() => expect(document.querySelector('[data-channel-id]')).toBeNull());
  });
});
