import { Agent, AgentStatusEnum } from '../agents/agents.schema';
import { builder } from '../graphql/builder';
import type { GraphQLContext } from '../graphql/context';
import { BatchLoader } from '../graphql/loader';
import type { AlertEvent } from './alerts.events';
import type { AlertService } from './alerts.service';
import type { Alert, AgentRef } from './alerts.types';
import { SeverityEnum, AlertRuleRef } from './rules.schema';
import { DeliveryRef } from '../notifications/notifications.schema';

export const AlertStateEnum = builder.enumType('AlertState', {
  values: {
    PENDING: { value: 'pending', description: 'The condition holds; waiting out the rule’s `for` (or its consecutive evaluations).' },
    FIRING: { value: 'firing' },
    RESOLVED: { value: 'resolved', description: 'Over: the condition cleared (after keep_firing_for), the rule stopped, or the agent left.' },
  } as const,
});

const AlertEventTypeEnum = builder.enumType('AlertEventType', {
  values: {
    PENDING: { value: 'pending' },
    FIRING: { value: 'firing' },
    CLEARING: { value: 'clearing', description: 'The condition cleared; the alert keeps firing for the rule’s keep_firing_for.' },
    RESOLVED: { value: 'resolved' },
    ACKNOWLEDGED: { value: 'acknowledged' },
    UNACKNOWLEDGED: { value: 'unacknowledged' },
    SILENCED: { value: 'silenced' },
    UNSILENCED: { value: 'unsilenced' },
    FLAPPING: { value: 'flapping', description: 'The agent changed status at least ALERT_FLAP_CHANGES times within ALERT_FLAP_WINDOW_SECONDS.' },
    STABLE: { value: 'stable', description: 'The agent no longer changes status often enough to count as flapping.' },
    UPDATED: { value: 'updated' },
  } as const,
});

const AlertAgent = builder.objectRef<AgentRef>('AlertAgent').implement({
  description: 'The agent as the alert keeps it, so an alert reads the same after its agent is gone.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    type: t.exposeString('type'),
    host: t.exposeString('host'),
    port: t.exposeInt('port'),
    environment: t.exposeString('environment'),
    status: t.field({ type: AgentStatusEnum, description: 'As of the alert’s last change.', resolve: (a) => a.status }),
    tags: t.exposeStringList('tags'),
  }),
});

const Acknowledgement = builder.simpleObject('Acknowledgement', {
  fields: (t) => ({ by: t.string(), at: t.field({ type: 'DateTime' }), comment: t.string({ nullable: true }) }),
});

export const AlertRef = builder.objectRef<Alert>('Alert');

const AlertEventRef = builder.objectRef<AlertEvent>('AlertEvent').implement({
  description: 'One step of an alert’s life, from the event log.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque; pass as `after` to alertChanged to resume right after it.' }),
    type: t.field({ type: AlertEventTypeEnum, resolve: (e) => e.type }),
    alert: t.field({ type: AlertRef, description: 'The alert as it was right after this event.', resolve: (e) => e.alert }),
    by: t.exposeString('by', { nullable: true }),
    comment: t.exposeString('comment', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

const loaders = new WeakMap<GraphQLContext, BatchLoader<string, Alert[]>>();
const openAlertsOf = (ctx: GraphQLContext) => {
  let l = loaders.get(ctx);
  if (!l) loaders.set(ctx, (l = new BatchLoader((ids) => ctx.services.alerts.forAgents(ids, true, 50), [])));
  return l;
};

/** An alert's timeline, read once however many of its fields (timeline, timelineTruncated) a request asks for. */
const timelines = new WeakMap<Alert, ReturnType<AlertService['timeline']>>();
const timelineOf = (a: Alert, alerts: AlertService) => {
  let t = timelines.get(a);
  if (!t) timelines.set(a, (t = alerts.timeline(a.id)));
  return t;
};

AlertRef.implement({
  description: 'One episode of a rule for an agent: pending, firing, resolved.',
  fields: (t) => ({
    id: t.exposeID('id'),
    state: t.field({ type: AlertStateEnum, resolve: (a) => a.state }),
    severity: t.field({ type: SeverityEnum, resolve: (a) => a.severity }),
    ruleId: t.id({ nullable: true, resolve: (a) => a.ruleId }),
    ruleName: t.exposeString('ruleName'),
    rule: t.field({
      type: AlertRuleRef,
      nullable: true,
      description: 'Null once the rule is deleted.',
      resolve: async (a, _args, ctx) => (a.ruleId ? ((await ctx.services.rules.get(ctx.principal, a.ruleId).catch(() => undefined)) ?? null) : null),
    }),
    agentId: t.exposeID('agentId'),
    agent: t.field({ type: AlertAgent, resolve: (a) => a.agent }),
    labels: t.field({ type: 'JSON', resolve: (a) => a.labels }),
    summary: t.exposeString('summary'),
    description: t.exposeString('description'),
    value: t.float({ nullable: true, resolve: (a) => a.value }),
    startedAt: t.field({ type: 'DateTime', description: 'When the condition began to hold.', resolve: (a) => a.startedAt }),
    firedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.firedAt }),
    resolvedAt: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.resolvedAt }),
    clearingSince: t.field({ type: 'DateTime', nullable: true, description: 'Firing, but the condition cleared then; resolves after keep_firing_for.', resolve: (a) => a.clearingSince }),
    resolveReason: t.exposeString('resolveReason', { nullable: true }),
    acknowledged: t.boolean({ resolve: (a) => a.acknowledgement !== null }),
    acknowledgement: t.field({ type: Acknowledgement, nullable: true, resolve: (a) => a.acknowledgement }),
    silenced: t.boolean({ resolve: (a) => a.silencedBy.length > 0 }),
    silencedBy: t.idList({ description: 'The silences muting it.', resolve: (a) => a.silencedBy }),
    flapping: t.exposeBoolean('flapping', {
      description: 'Its agent changed status at least ALERT_FLAP_CHANGES times within ALERT_FLAP_WINDOW_SECONDS (kept until the alert resolves, or the changes age out).',
    }),
    updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updatedAt }),
    timeline: t.field({
      type: [AlertEventRef],
      description: 'Its steps, oldest first: every one, or the latest 200 when it has more (then `timelineTruncated` is true).',
      resolve: async (a, _args, ctx) => (await timelineOf(a, ctx.services.alerts)).events,
    }),
    timelineTruncated: t.boolean({
      description: 'Whether `timeline` left out older steps: it holds the latest 200 of them.',
      resolve: async (a, _args, ctx) => (await timelineOf(a, ctx.services.alerts)).truncated,
    }),
    deliveries: t.field({
      type: [DeliveryRef],
      description: 'The webhook messages that carried it, newest first.',
      resolve: (a, _args, ctx) => ctx.services.notifications.deliveries(ctx.principal, { alertId: a.id, limit: 50 }),
    }),
  }),
});

export const AlertFilterInput = builder.inputType('AlertFilter', {
  fields: (t) => ({
    state: t.field({ type: [AlertStateEnum], description: 'Any of these.' }),
    severity: t.field({ type: [SeverityEnum], description: 'Any of these.' }),
    ruleId: t.id(),
    agentId: t.id(),
    acknowledged: t.boolean(),
    silenced: t.boolean(),
  }),
});

const SeverityCounts = builder.simpleObject('SeverityCounts', {
  fields: (t) => ({ critical: t.int(), warning: t.int(), info: t.int(), total: t.int() }),
});

const AlertCountsRef = builder.simpleObject('AlertCounts', {
  description: 'Open alerts. Silenced ones count only under `silenced`.',
  fields: (t) => ({ firing: t.field({ type: SeverityCounts }), pending: t.field({ type: SeverityCounts }), acknowledged: t.int(), silenced: t.int() }),
});

const AlertEdge = builder.simpleObject('AlertEdge', { fields: (t) => ({ cursor: t.string(), node: t.field({ type: AlertRef }) }) });
const AlertPageInfo = builder.simpleObject('AlertPageInfo', {
  fields: (t) => ({ hasNextPage: t.boolean(), hasPreviousPage: t.boolean(), startCursor: t.string({ nullable: true }), endCursor: t.string({ nullable: true }) }),
});
type Page = Awaited<ReturnType<GraphQLContext['services']['alerts']['page']>>;
const AlertConnection = builder.objectRef<Page>('AlertConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [AlertEdge], resolve: (p) => p.edges }),
    nodes: t.field({ type: [AlertRef], resolve: (p) => p.edges.map((e) => e.node) }),
    pageInfo: t.field({ type: AlertPageInfo, resolve: (p) => p.pageInfo }),
    totalCount: t.int({ resolve: (p, _args, ctx) => ctx.services.alerts.count(ctx.principal, p.filter) }),
  }),
});

builder.queryFields((t) => ({
  alerts: t.field({
    type: AlertConnection,
    description: 'Alerts, firing first, then pending, then resolved; each by severity (critical first), newest first.',
    args: { filter: t.arg({ type: AlertFilterInput }), first: t.arg.int(), after: t.arg.string() },
    resolve: (_root, args, ctx) => ctx.services.alerts.page(ctx.principal, args.filter, args),
  }),
  alert: t.field({
    type: AlertRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.services.alerts.get(ctx.principal, String(args.id))) ?? null,
  }),
  alertCounts: t.field({ type: AlertCountsRef, resolve: (_root, _args, ctx) => ctx.services.alerts.counts(ctx.principal) }),
}));

builder.mutationFields((t) => ({
  acknowledgeAlert: t.field({
    type: AlertRef,
    description: 'Marks an open alert as being handled: reminders stop; it keeps the acknowledgement until it resolves.',
    args: { id: t.arg.id({ required: true }), comment: t.arg.string(), by: t.arg.string({ description: 'Who acknowledges; defaults to the token’s role.' }) },
    resolve: (_root, args, ctx) => ctx.services.alerts.acknowledge(ctx.principal, String(args.id), args),
  }),
  unacknowledgeAlert: t.field({
    type: AlertRef,
    args: { id: t.arg.id({ required: true }), by: t.arg.string() },
    resolve: (_root, args, ctx) => ctx.services.alerts.unacknowledge(ctx.principal, String(args.id), args),
  }),
}));

builder.subscriptionField('alertChanged', (t) =>
  t.field({
    type: AlertEventRef,
    description: 'Every change of matching alerts (matched as they are after it). With `after` (a cursor), first replays each later change from the log, then continues live, with no gap and no duplicate.',
    args: { after: t.arg.string(), filter: t.arg({ type: AlertFilterInput }) },
    subscribe: (_root, args, ctx) => ctx.services.alertEvents.changes(ctx.principal, { after: args.after, filter: args.filter }),
    resolve: (e) => e,
  }),
);

builder.objectFields(Agent, (t) => ({
  alerts: t.field({
    type: [AlertRef],
    description: 'The agent’s open alerts (pending and firing), newest first.',
    // Reached only through agent queries, which need a read token already.
    resolve: (agent, _args, ctx) => openAlertsOf(ctx).load(agent.id),
  }),
}));
