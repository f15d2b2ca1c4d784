import { builder } from '../graphql/builder';
import type { GraphQLContext } from '../graphql/context';
import { BatchLoader } from '../graphql/loader';
import { MatcherInput, MatcherRef } from '../alerts/rules.schema';
import type { PublicChannel } from './notifications.service';
import type { AttemptRow, DeliveryRow, PolicyRow } from './notifications.table';
import type { AttemptResult } from './sender';

const FormatEnum = builder.enumType('ChannelFormat', {
  values: {
    JSON: { value: 'json', description: 'Agent Monitor’s own JSON: the alerts as the API shows them.' },
    ALERTMANAGER: { value: 'alertmanager', description: 'Alertmanager’s webhook payload, version "4": receivers written for it work unchanged.' },
    SLACK: { value: 'slack', description: 'A Slack-compatible `{"text": …}` message (Slack, Mattermost, Rocket.Chat incoming webhooks).' },
  } as const,
});

const DeliveryStatusEnum = builder.enumType('DeliveryStatus', {
  values: { PENDING: { value: 'pending', description: 'Not delivered yet; see nextAttemptAt.' }, DELIVERED: { value: 'delivered' }, FAILED: { value: 'failed', description: 'Every retry failed, or the receiver answered 410.' } } as const,
});

export const ChannelRef = builder.objectRef<PublicChannel>('NotificationChannel');
export const DeliveryRef = builder.objectRef<DeliveryRow>('Delivery');

ChannelRef.implement({
  description: 'A webhook. Its secret is shown only when it is created or rotated.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    url: t.exposeString('url'),
    format: t.field({ type: FormatEnum, resolve: (c) => c.format }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    secretRotatedUntil: t.field({ type: 'DateTime', nullable: true, description: 'Until then the previous secret signs too.', resolve: (c) => c.previousSecretUntil }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    deliveries: t.field({
      type: [DeliveryRef],
      description: 'The delivery log, newest first.',
      args: { limit: t.arg.int({ defaultValue: 50 }) },
      resolve: (c, args, ctx) => ctx.services.notifications.deliveries(ctx.principal, { channelId: c.id, limit: args.limit }),
    }),
  }),
});

const ChannelWithSecret = builder.simpleObject('NotificationChannelWithSecret', {
  fields: (t) => ({
    channel: t.field({ type: ChannelRef }),
    secret: t.string({ description: 'Shown this once: verify signatures with it (Standard Webhooks, `whsec_…`).' }),
  }),
});

const AttemptRef = builder.objectRef<AttemptRow>('DeliveryAttempt').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (a) => a.at }),
    durationMs: t.exposeInt('durationMs'),
    statusCode: t.int({ nullable: true, resolve: (a) => a.statusCode }),
    errorClass: t.exposeString('errorClass', { description: 'ok, http_error, timeout, connection, refused_address or gone.' }),
    error: t.exposeString('error', { nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first KiB of the answer.' }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.nextAttemptAt }),
  }),
});

const attemptLoaders = new WeakMap<GraphQLContext, BatchLoader<string, AttemptRow[]>>();
const attemptsOf = (ctx: GraphQLContext) => {
  let l = attemptLoaders.get(ctx);
  if (!l) attemptLoaders.set(ctx, (l = new BatchLoader((ids) => ctx.services.notifications.attemptsOf(ids), [])));
  return l;
};

// Channels are few: one read per request serves every delivery that names one.
const channelLoaders = new WeakMap<GraphQLContext, BatchLoader<string, PublicChannel | null>>();
const channelOf = (ctx: GraphQLContext) => {
  let l = channelLoaders.get(ctx);
  if (!l) channelLoaders.set(ctx, (l = new BatchLoader(async () => new Map((await ctx.services.notifications.channels(ctx.principal)).map((c) => [c.id, c])), null)));
  return l;
};

DeliveryRef.implement({
  description: 'One message to one channel; `webhookId` is the same on every attempt.',
  fields: (t) => ({
    id: t.exposeID('id'),
    webhookId: t.string({ resolve: (d) => `msg_${d.id}` }),
    channelId: t.exposeID('channelId'),
    channel: t.field({ type: ChannelRef, nullable: true, description: 'Null once the channel is deleted.', resolve: (d, _args, ctx) => channelOf(ctx).load(d.channelId) }),
    test: t.exposeBoolean('test'),
    alertCount: t.exposeInt('alertCount'),
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    attemptCount: t.int({ resolve: (d) => d.attempts }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => (d.status === 'pending' ? d.nextAttemptAt : null) }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
    deliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.deliveredAt }),
    body: t.exposeString('body', { description: 'The JSON sent.' }),
    attempts: t.field({ type: [AttemptRef], description: 'Oldest first.', resolve: (d, _args, ctx) => attemptsOf(ctx).load(d.id) }),
  }),
});

const AttemptResultRef = builder.objectRef<AttemptResult>('DeliveryAttemptResult').implement({
  fields: (t) => ({
    ok: t.boolean({ resolve: (r) => r.errorClass === 'ok' }),
    statusCode: t.int({ nullable: true, resolve: (r) => r.statusCode }),
    errorClass: t.exposeString('errorClass'),
    error: t.exposeString('error', { nullable: true }),
    durationMs: t.exposeInt('durationMs'),
  }),
});

const SendResult = builder.simpleObject('DeliverySendResult', {
  fields: (t) => ({
    deliveryId: t.id(),
    result: t.field({ type: AttemptResultRef, nullable: true, description: 'Null when the channel is disabled (the delivery waits).' }),
  }),
});

const ChannelInput = builder.inputType('NotificationChannelInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    url: t.string({ required: true, description: 'http or https, no credentials; link-local and metadata addresses are refused (WEBHOOK_ALLOW, WEBHOOK_DENY).' }),
    format: t.field({ type: FormatEnum }),
    enabled: t.boolean(),
  }),
});

const PolicyRef = builder.objectRef<PolicyRow>('NotificationPolicy').implement({
  description: 'Routes the alerts its matchers select to channels, grouped by some labels.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    matchers: t.field({ type: [MatcherRef], resolve: (p) => p.matchers }),
    channelIds: t.idList({ resolve: (p) => p.channelIds }),
    groupBy: t.exposeStringList('groupBy'),
    groupWaitSeconds: t.float({ resolve: (p) => p.groupWaitMs / 1000 }),
    repeatIntervalSeconds: t.exposeInt('repeatIntervalSeconds'),
    enabled: t.exposeBoolean('enabled'),
  }),
});

const PolicyInput = builder.inputType('NotificationPolicyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    matchers: t.field({ type: [MatcherInput], description: 'All must hold; none means every alert.' }),
    channelIds: t.idList({ required: true }),
    groupBy: t.stringList({ description: 'Labels whose values make a group (default alertname, environment).' }),
    groupWaitSeconds: t.float({ description: 'How long a new group waits for more alerts before it is sent (default 0.5).' }),
    repeatIntervalSeconds: t.int({ description: 'Reminders of alerts still firing and unacknowledged (default 14400; 0: none).' }),
    enabled: t.boolean(),
  }),
});

const raw = (x: object) => x as Record<string, unknown>;

builder.queryFields((t) => ({
  notificationChannels: t.field({ type: [ChannelRef], resolve: (_r, _a, ctx) => ctx.services.notifications.channels(ctx.principal) }),
  notificationChannel: t.field({
    type: ChannelRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => (await ctx.services.notifications.channel(ctx.principal, String(args.id))) ?? null,
  }),
  notificationPolicies: t.field({ type: [PolicyRef], resolve: (_r, _a, ctx) => ctx.services.notifications.policies(ctx.principal) }),
}));

builder.mutationFields((t) => ({
  createNotificationChannel: t.field({
    type: ChannelWithSecret,
    args: { input: t.arg({ type: ChannelInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.notifications.createChannel(ctx.principal, raw(args.input)),
  }),
  updateNotificationChannel: t.field({
    type: ChannelRef,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: ChannelInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.notifications.updateChannel(ctx.principal, String(args.id), raw(args.input)),
  }),
  rotateNotificationChannelSecret: t.field({
    type: ChannelWithSecret,
    description: 'A new secret, shown once; the previous one keeps signing beside it for 24 hours.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.notifications.rotateSecret(ctx.principal, String(args.id)),
  }),
  deleteNotificationChannel: t.field({
    type: 'ID',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => (await ctx.services.notifications.deleteChannel(ctx.principal, String(args.id))).id,
  }),
  testNotificationChannel: t.field({
    type: SendResult,
    description: 'Sends a test message now, signed like any other, and answers how it went.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.notifications.testChannel(ctx.principal, String(args.id)),
  }),
  redeliver: t.field({
    type: SendResult,
    description: 'Sends a delivery again now (same webhook-id and body), with a fresh schedule of retries.',
    args: { deliveryId: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.notifications.redeliver(ctx.principal, String(args.deliveryId)),
  }),
  createNotificationPolicy: t.field({
    type: PolicyRef,
    args: { input: t.arg({ type: PolicyInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.notifications.createPolicy(ctx.principal, raw(args.input)),
  }),
  updateNotificationPolicy: t.field({
    type: PolicyRef,
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: PolicyInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.notifications.updatePolicy(ctx.principal, String(args.id), raw(args.input)),
  }),
  deleteNotificationPolicy: t.field({
    type: 'ID',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => (await ctx.services.notifications.deletePolicy(ctx.principal, String(args.id))).id,
  }),
}));
