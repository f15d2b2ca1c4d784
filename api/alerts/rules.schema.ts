import { AgentStatusEnum, MetadataMatcherInput } from '../agents/agents.schema';
import { builder } from '../graphql/builder';
import type { SilenceRow } from './alerts.table';
import type { Rule } from './alerts.types';
import type { RulePreview } from './rules.service';

export const SeverityEnum = builder.enumType('AlertSeverity', {
  values: { CRITICAL: { value: 'critical' }, WARNING: { value: 'warning' }, INFO: { value: 'info' } } as const,
});

const RuleKindEnum = builder.enumType('AlertRuleKind', {
  values: {
    AGENT_STATUS: { value: 'agent_status', description: 'An agent in one of `condition.statuses` (OFFLINE, DEGRADED) for at least `forSeconds`.' },
    METRIC_THRESHOLD: { value: 'metric_threshold', description: 'An aggregate of a metric over a window compared with a threshold, for `forSeconds` or `consecutive` evaluations.' },
    METRIC_ABSENT: { value: 'metric_absent', description: 'An agent that pushed a metric has not pushed it for `condition.absentSeconds`.' },
    FLAPPING: { value: 'flapping', description: 'At least `condition.changes` status changes within `condition.windowSeconds`.' },
  } as const,
});

const AggregateEnum = builder.enumType('MetricAggregate', {
  values: { AVG: { value: 'avg' }, MAX: { value: 'max' }, MIN: { value: 'min' }, LAST: { value: 'last' }, RATE: { value: 'rate', description: 'Per second: a counter’s increase, or the sum of a delta series’ samples, over the window.' } } as const,
});

const ComparatorEnum = builder.enumType('Comparator', {
  values: { GT: { value: '>' }, GE: { value: '>=' }, LT: { value: '<' }, LE: { value: '<=' } } as const,
});

const RuleScopeInput = builder.inputType('AlertRuleScopeInput', {
  description: 'The agents a rule watches, as the fleet filter selects them (status aside); empty means every agent.',
  fields: (t) => ({
    type: t.string(),
    environment: t.string(),
    tags: t.stringList(),
    metadata: t.field({ type: [MetadataMatcherInput], description: 'As AgentFilter.metadata.' }),
    search: t.string({ description: 'As AgentFilter.search (name, host, metadata values, `key=value`).' }),
    ids: t.idList(),
  }),
});

const ConditionInput = builder.inputType('AlertConditionInput', {
  description: 'The settings of the rule’s kind; others are ignored.',
  fields: (t) => ({
    statuses: t.field({ type: [AgentStatusEnum], description: 'AGENT_STATUS (default [OFFLINE]).' }),
    metric: t.string({ description: 'METRIC_THRESHOLD, METRIC_ABSENT: the metric name.' }),
    labels: t.field({ type: 'JSON', description: 'METRIC_*: only series carrying these labels (an object of strings).' }),
    aggregate: t.field({ type: AggregateEnum, description: 'METRIC_THRESHOLD (default AVG).' }),
    windowSeconds: t.int({ description: 'METRIC_THRESHOLD (default 300), FLAPPING (default 600).' }),
    op: t.field({ type: ComparatorEnum, description: 'METRIC_THRESHOLD.' }),
    threshold: t.float({ description: 'METRIC_THRESHOLD.' }),
    absentSeconds: t.int({ description: 'METRIC_ABSENT (default 300).' }),
    changes: t.int({ description: 'FLAPPING (default 4).' }),
  }),
});

export const AlertRuleInput = builder.inputType('AlertRuleInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: RuleKindEnum, required: true }),
    scope: t.field({ type: RuleScopeInput }),
    condition: t.field({ type: ConditionInput }),
    forSeconds: t.int({ description: 'How long the condition must hold before the alert fires (0: at once).' }),
    consecutive: t.int({ description: 'METRIC_THRESHOLD: fire after this many evaluations in a row instead.' }),
    keepFiringForSeconds: t.int({ description: 'After the condition clears, keep firing this long (resolves only if it stays clear).' }),
    severity: t.field({ type: SeverityEnum }),
    labels: t.field({ type: 'JSON', description: 'Extra labels (an object of strings) for silences and routing.' }),
    summary: t.string({ description: 'A template: {{agent.name}}, {{agent.type}}, {{agent.environment}}, {{agent.host}}, {{agent.status}}, {{agent.tags}}, {{rule.name}}, {{value}}, {{metric}}, {{labels.x}}.' }),
    description: t.string({ description: 'A template, as summary.' }),
    enabled: t.boolean(),
  }),
});

export const AlertRuleRef = builder.objectRef<Rule>('AlertRule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.field({ type: RuleKindEnum, resolve: (r) => r.kind }),
    scope: t.field({ type: 'JSON', resolve: (r) => r.scope }),
    condition: t.field({ type: 'JSON', description: 'The kind’s settings, as saved (statuses in lower case).', resolve: (r) => r.condition }),
    forSeconds: t.exposeInt('forSeconds'),
    consecutive: t.int({ nullable: true, resolve: (r) => r.consecutive }),
    keepFiringForSeconds: t.exposeInt('keepFiringForSeconds'),
    severity: t.field({ type: SeverityEnum, resolve: (r) => r.severity }),
    labels: t.field({ type: 'JSON', resolve: (r) => r.labels }),
    summary: t.exposeString('summary'),
    description: t.exposeString('description'),
    enabled: t.exposeBoolean('enabled'),
    builtin: t.boolean({ description: 'Created by the server; it can be edited or disabled, not deleted.', resolve: (r) => r.builtin !== null }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.updatedAt }),
  }),
});

const RulePreviewRef = builder.objectRef<RulePreview>('AlertRulePreview').implement({
  fields: (t) => ({
    matchingAgents: t.exposeInt('matchingAgents', { description: 'Agents the scope selects now.' }),
    wouldFire: t.exposeInt('wouldFire', { description: 'Of those, how many the condition holds for now.' }),
    firing: t.exposeStringList('firing', { description: 'Names of up to ten of them.' }),
    warnings: t.exposeStringList('warnings'),
  }),
});

const RuleSaved = builder.simpleObject('AlertRuleSaved', {
  fields: (t) => ({ rule: t.field({ type: AlertRuleRef }), warnings: t.stringList({ description: 'What looks wrong but is allowed, such as a scope that matches no agent now.' }) }),
});

const toRaw = (input: object) => input as Record<string, unknown>;

builder.queryFields((t) => ({
  alertRules: t.field({ type: [AlertRuleRef], resolve: (_r, _a, ctx) => ctx.services.rules.list(ctx.principal) }),
  alertRule: t.field({
    type: AlertRuleRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.rules.get(ctx.principal, String(args.id)).catch((err) => (err?.code === 'NOT_FOUND' ? null : Promise.reject(err))),
  }),
  previewAlertRule: t.field({
    type: RulePreviewRef,
    description: 'What a rule would do now, without saving it (admins: the rule editor’s live preview).',
    args: { input: t.arg({ type: AlertRuleInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.rules.preview(ctx.principal, toRaw(args.input)),
  }),
}));

builder.mutationFields((t) => ({
  createAlertRule: t.field({
    type: RuleSaved,
    args: { input: t.arg({ type: AlertRuleInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.rules.create(ctx.principal, toRaw(args.input)),
  }),
  updateAlertRule: t.field({
    type: RuleSaved,
    description: 'Replaces the rule. Disabling it, or changing its kind, resolves its open alerts.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: AlertRuleInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.rules.update(ctx.principal, String(args.id), toRaw(args.input)),
  }),
  deleteAlertRule: t.field({
    type: 'ID',
    description: 'Deletes the rule and resolves its open alerts (they stay in the history).',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => (await ctx.services.rules.delete(ctx.principal, String(args.id))).id,
  }),
}));

const MatcherOpEnum = builder.enumType('MatcherOp', { values: { EQ: { value: '=' }, NE: { value: '!=' } } as const });

export const MatcherInput = builder.inputType('MatcherInput', {
  description:
    'Matches an alert label: alertname (the rule), rule_id, severity, agent, agent_id, type, environment, host, a rule label; `tag` for the agent’s tags; or `metadata.<key>` for the value of a key of the agent’s metadata (as AgentFilter.metadata compares it).',
  fields: (t) => ({ name: t.string({ required: true }), op: t.field({ type: MatcherOpEnum, defaultValue: '=' }), value: t.string({ required: true }) }),
});

export const MatcherRef = builder.simpleObject('Matcher', {
  fields: (t) => ({ name: t.string(), op: t.field({ type: MatcherOpEnum }), value: t.string() }),
});

const ScheduleFields = {
  days: 'Weekdays, 0 (Sunday) to 6.',
  start: 'HH:MM, local to the time zone.',
  end: 'HH:MM; an end at or before the start runs past midnight (equal to it: 24 hours, so 00:00–00:00 is the whole day).',
} as const;

const ScheduleInput = builder.inputType('WeeklyScheduleInput', {
  fields: (t) => ({
    days: t.intList({ required: true, description: ScheduleFields.days }),
    start: t.string({ required: true, description: ScheduleFields.start }),
    end: t.string({ required: true, description: ScheduleFields.end }),
    timezone: t.string({ defaultValue: 'UTC', description: 'An IANA time zone.' }),
  }),
});

const Schedule = builder.simpleObject('WeeklySchedule', {
  fields: (t) => ({ days: t.intList(), start: t.string(), end: t.string(), timezone: t.string() }),
});

const SilenceInput = builder.inputType('SilenceInput', {
  fields: (t) => ({
    matchers: t.field({ type: [MatcherInput], required: true }),
    startsAt: t.field({ type: 'DateTime', description: 'Default: now (updateSilence: unchanged). A later time makes a pending silence that starts muting then.' }),
    endsAt: t.field({ type: 'DateTime', description: 'Required without a schedule; with one, when the window stops recurring (null: never).' }),
    schedule: t.field({ type: ScheduleInput, description: 'A recurring maintenance window: mutes only inside these weekly hours.' }),
    comment: t.string({ required: true }),
    createdBy: t.string(),
  }),
});

const SilenceRef = builder.objectRef<SilenceRow & { active?: boolean }>('Silence').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    matchers: t.field({ type: [MatcherRef], resolve: (s) => s.matchers }),
    startsAt: t.field({ type: 'DateTime', resolve: (s) => s.startsAt }),
    endsAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.endsAt }),
    schedule: t.field({ type: Schedule, nullable: true, resolve: (s) => s.schedule }),
    comment: t.exposeString('comment'),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    active: t.boolean({ description: 'Muting now.', resolve: (s) => s.active ?? false }),
  }),
});

builder.queryField('silences', (t) =>
  t.field({
    type: [SilenceRef],
    description: 'Silences and maintenance windows that have not ended, every one; with includeExpired, also the 1000 that ended last.',
    args: { includeExpired: t.arg.boolean({ defaultValue: false }) },
    resolve: (_r, args, ctx) => ctx.services.silences.list(ctx.principal, args.includeExpired ?? false),
  }),
);

builder.mutationFields((t) => ({
  createSilence: t.field({
    type: SilenceRef,
    description: 'Mutes matching alerts (they still exist and show as silenced, but send nothing), from `startsAt` (default now); until then it is pending (`active` false). Change it later with updateSilence.',
    args: { input: t.arg({ type: SilenceInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.silences.create(ctx.principal, args.input as Record<string, unknown>),
  }),
  updateSilence: t.field({
    type: SilenceRef,
    description:
      'Changes a silence or maintenance window in place (admin only), keeping its id: the input replaces its matchers, times, schedule and comment (without `startsAt`, it keeps its start). Its alerts are muted or unmuted at once, with their SILENCED and UNSILENCED events, as by createSilence. A silence that has ended is refused (a field error on `id`): create a new one.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: SilenceInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.silences.update(ctx.principal, String(args.id), args.input as Record<string, unknown>),
  }),
  expireSilence: t.field({
    type: SilenceRef,
    description: 'Ends a silence now.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.silences.expire(ctx.principal, String(args.id)),
  }),
  silenceAlert: t.field({
    type: SilenceRef,
    description: 'Silences this alert’s rule for its agent, for a while, in one step.',
    args: { id: t.arg.id({ required: true }), durationSeconds: t.arg.int({ required: true }), comment: t.arg.string(), by: t.arg.string() },
    resolve: (_r, args, ctx) => ctx.services.silences.silenceAlert(ctx.principal, String(args.id), args),
  }),
}));
