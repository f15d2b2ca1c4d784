import type { Channel, CreateChannelMutation, TestChannelMutation } from './notification-documents';
import type { ResultOf, VariablesOf } from './graphql';

export type ChannelInput = VariablesOf<typeof CreateChannelMutation>['input'];
export type ChannelFormat = NonNullable<ChannelInput['format']>;

export const FORMATS: { value: ChannelFormat; label: string }[] = [
  { value: 'JSON', label: 'Agent Monitor JSON' },
  { value: 'ALERTMANAGER', label: 'Alertmanager (v4)' },
  { value: 'SLACK', label: 'Slack text' },
];

export interface ChannelForm {
  name: string;
  url: string;
  format: ChannelFormat;
  enabled: boolean;
  /** New channels only: route every alert to it (empty), or one environment's; `none`: no policy. */
  route: 'all' | 'environment' | 'none';
  environment: string;
}

export const emptyChannelForm = (): ChannelForm => ({ name: '', url: '', format: 'JSON', enabled: true, route: 'all', environment: '' });

export const formFromChannel = (c: Pick<Channel, 'name' | 'url' | 'format' | 'enabled'>): ChannelForm => ({ ...emptyChannelForm(), name: c.name, url: c.url, format: c.format, enabled: c.enabled, route: 'none' });

export const channelInput = (f: ChannelForm): ChannelInput => ({ name: f.name.trim(), url: f.url.trim(), format: f.format, enabled: f.enabled });

/** The policy a new channel comes with, if any: every alert, or one environment's. */
export function routeFor(f: ChannelForm, channelId: string) {
  if (f.route === 'none') return null;
  const environment = f.environment.trim();
  const matchers = f.route === 'environment' ? [{ name: 'environment', op: 'EQ' as const, value: environment }] : [];
  return { name: `${f.name.trim()} (route)`, channelIds: [channelId], matchers };
}

type SendResult = ResultOf<typeof TestChannelMutation>['testNotificationChannel']['result'];

/** How a test went, in one sentence. */
export function testOutcome(result: SendResult): string {
  if (!result) return 'The channel is disabled: the test waits in its log until it is enabled.';
  if (result.ok) return `Test delivered (${result.statusCode}).`;
  return `Test failed: ${result.errorClass}${result.error ? ` — ${result.error}` : ''}`;
}
