import { Agent, AgentFilterInput } from '../agents/agents.schema';
import { builder } from '../graphql/builder';
import type { GraphQLContext } from '../graphql/context';
import { BatchLoader } from '../graphql/loader';
import { FEED_LOOKBACK_MS, MAX_METRIC_BACKLOG, type AgentMetricBatch, type LiveSample } from './metrics.feed';
import { MAX_LABELS, MAX_NAME_LENGTH } from './metrics.input';
import { MAX_POINTS } from './metrics.query';
import { parseMetricList } from './metrics.args';
import { type LatestSample, type MetricRange, type RangeArgs, type SeriesPoints } from './metrics.service';

const MetricKindEnum = builder.enumType('MetricKind', {
  values: {
    GAUGE: { value: 'gauge', description: 'A value as it is now.' },
    COUNTER: { value: 'counter', description: 'A cumulative, monotonic total; read as a per-second rate (a drop is a reset).' },
    DELTA: { value: 'delta', description: 'Each sample is the increase since the previous one (OTLP delta sums); read as a per-second rate.' },
  } as const,
});

const ResolutionEnum = builder.enumType('MetricResolution', {
  values: {
    RAW: { value: 'raw', description: 'The samples as pushed (kept METRICS_RAW_RETENTION_DAYS, 7 by default).' },
    MINUTE: { value: '1m', description: 'One-minute roll-ups (kept 30 days by default).' },
    HOUR: { value: '1h', description: 'One-hour roll-ups (kept 400 days by default).' },
  } as const,
});

const CounterModeEnum = builder.enumType('CounterMode', {
  values: {
    RATE: { value: 'rate', description: 'Per second over each step: a byte counter charts as bytes per second.' },
    RAW: { value: 'raw', description: "The counter's own value (the last of each step); a delta series' sum over each step." },
  } as const,
});

const GroupByEnum = builder.enumType('MetricGroupBy', {
  values: {
    NONE: { value: 'none', description: 'One group, keyed "all".' },
    ENVIRONMENT: { value: 'environment' },
    TYPE: { value: 'type' },
    TAG: { value: 'tag', description: 'An agent counts in each of its tags; agents without tags in the group with a null key.' },
    AGENT: { value: 'agent', description: 'One group per agent, keyed by its id.' },
  } as const,
});

export const MetricInput = builder.inputType('MetricInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: `Matches [a-zA-Z_:][a-zA-Z0-9_:.]*, at most ${MAX_NAME_LENGTH} characters.` }),
    value: t.float({ required: true }),
    labels: t.field({ type: 'JSON', description: `An object of strings: at most ${MAX_LABELS}, names matching [a-zA-Z_][a-zA-Z0-9_.]*, values at most 1 KiB.` }),
    at: t.field({ type: 'DateTime', description: "Omitted means the server's clock. At most 5 minutes ahead, no older than the raw retention." }),
    unit: t.string({ description: 'For example %, By, By/s, s. Omitted: taken from the name (…_percent, …_bytes, …_seconds).' }),
    kind: t.field({ type: MetricKindEnum, description: 'Omitted: COUNTER for names ending in _total, _count, _sum or _bucket, else GAUGE.' }),
  }),
});

/** MetricInput values as the REST body spells them, for the one parser both doors share. */
export const metricInputsToRaw = (list: readonly { name: string; value: number; labels?: unknown; at?: Date | null; unit?: string | null; kind?: string | null }[]) =>
  list.map((m) => ({ name: m.name, value: m.value, labels: m.labels ?? undefined, at: m.at ? m.at.toISOString() : undefined, unit: m.unit ?? undefined, kind: m.kind ?? undefined }));

const MetricPointRef = builder.simpleObject('MetricPoint', {
  description: 'One step of a series: its start, and the value over it.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'Start of the step.' }),
    value: t.float({ description: "A gauge's average over the step; a counter's or delta series' rate per second (or its raw value with counters: RAW)." }),
    min: t.float(),
    max: t.float(),
    count: t.int({ description: 'Samples behind the point.' }),
  }),
});

const MetricSeriesRef = builder.objectRef<SeriesPoints>('MetricSeries').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    labels: t.field({ type: 'JSON', resolve: (s) => s.labels }),
    kind: t.field({ type: MetricKindEnum, resolve: (s) => s.kind }),
    unit: t.exposeString('unit', { description: 'Of the samples as pushed ("" when unknown).' }),
    pointUnit: t.exposeString('pointUnit', { description: 'Of the points: the unit, or the unit per second for a rate (By/s).' }),
    points: t.field({ type: [MetricPointRef], description: 'Oldest first; a step without samples has no point (a gap).', resolve: (s) => s.points }),
  }),
});

const MetricRangeRef = builder.objectRef<MetricRange>('MetricRange').implement({
  fields: (t) => ({
    resolution: t.field({ type: ResolutionEnum, description: 'The finest data the range was read from (later parts may come from finer data not yet rolled up).', resolve: (r) => r.resolution }),
    stepSeconds: t.exposeInt('stepSeconds'),
    from: t.field({ type: 'DateTime', description: 'The requested start, moved back to a whole step.', resolve: (r) => r.from }),
    to: t.field({ type: 'DateTime', resolve: (r) => r.to }),
    series: t.field({ type: [MetricSeriesRef], resolve: (r) => r.series }),
  }),
});

const MetricSampleRef = builder.objectRef<LatestSample | LiveSample>('MetricSample').implement({
  description: 'One sample as pushed.',
  fields: (t) => ({
    name: t.string({ resolve: (s) => ('series' in s ? s.series.name : s.name) }),
    labels: t.field({ type: 'JSON', resolve: (s) => ('series' in s ? s.series.labels : s.labels) }),
    kind: t.field({ type: MetricKindEnum, resolve: (s) => ('series' in s ? s.series.kind : s.kind) }),
    unit: t.string({ resolve: (s) => ('series' in s ? s.series.unit : s.unit) }),
    at: t.field({ type: 'DateTime', resolve: (s) => s.at }),
    value: t.float({ resolve: (s) => s.value }),
  }),
});

const MetricNameRef = builder.simpleObject('MetricName', {
  fields: (t) => ({ name: t.string(), kind: t.field({ type: MetricKindEnum }), unit: t.string(), agents: t.int(), series: t.int() }),
});

const SummaryPointRef = builder.simpleObject('MetricSummaryPoint', {
  fields: (t) => ({
    at: t.field({ type: 'DateTime' }),
    avg: t.float({ nullable: true }),
    max: t.float({ nullable: true }),
    p95: t.float({ nullable: true }),
    series: t.int({ description: 'Series with a value in the step.' }),
  }),
});

const SummaryGroupRef = builder.simpleObject('MetricSummaryGroup', {
  description: "Over the group's series: each series' value per step (a gauge's average, a counter's rate) is one observation.",
  fields: (t) => ({
    key: t.string({ nullable: true, description: 'The environment, type, tag or agent id; "all" without grouping; null for agents without tags.' }),
    series: t.int(),
    avg: t.float({ nullable: true }),
    max: t.float({ nullable: true, description: "The largest sample of a gauge; the largest step rate of a counter." }),
    p95: t.float({ nullable: true }),
    points: t.field({ type: [SummaryPointRef] }),
  }),
});

const MetricSummaryRef = builder.simpleObject('MetricSummary', {
  fields: (t) => ({
    name: t.string(),
    groupBy: t.field({ type: GroupByEnum }),
    resolution: t.field({ type: ResolutionEnum }),
    stepSeconds: t.int(),
    from: t.field({ type: 'DateTime' }),
    to: t.field({ type: 'DateTime' }),
    groups: t.field({ type: [SummaryGroupRef] }),
  }),
});

const rangeArgs = (t: any) => ({
  names: t.arg.stringList({ description: 'Metric names; omitted means all (at most 200 series).' }),
  from: t.arg({ type: 'DateTime', description: 'Omitted: one hour before `to`.' }),
  to: t.arg({ type: 'DateTime', description: 'Omitted: now.' }),
  step: t.arg.int({ description: `Seconds per point; raised so a series has at most about ${MAX_POINTS} points, and to whole minutes (hours) beyond the raw (minute) retention.` }),
  counters: t.arg({ type: CounterModeEnum, description: 'RATE by default.' }),
});

/**
 * A per-request loader for each distinct set of arguments, so a fleet page asking every
 * row for its metrics reads them all in two statements.
 */
const loaders = new WeakMap<GraphQLContext, Map<string, BatchLoader<string, unknown>>>();
function loaderFor<V>(ctx: GraphQLContext, key: string, fetch: (ids: string[]) => Promise<Map<string, V>>): BatchLoader<string, V> {
  let perCtx = loaders.get(ctx);
  if (!perCtx) loaders.set(ctx, (perCtx = new Map()));
  let loader = perCtx.get(key) as BatchLoader<string, V> | undefined;
  if (!loader) perCtx.set(key, (loader = new BatchLoader<string, V>(fetch, undefined as V) as BatchLoader<string, V>));
  return loader;
}

builder.objectFields(Agent, (t) => ({
  metrics: t.field({
    type: MetricRangeRef,
    description: `The agent's series over a range, at most about ${MAX_POINTS} points each: raw samples, 1-minute or 1-hour roll-ups as the range and step need (\`resolution\` says which). Counters are per-second rates unless counters: RAW.`,
    args: rangeArgs(t),
    resolve: (agent, args, ctx) => {
      const a = args as RangeArgs;
      const key = JSON.stringify(['metrics', a.names ?? null, a.from ?? null, a.to ?? null, a.step ?? null, a.counters ?? null]);
      return loaderFor(ctx, key, (ids) => ctx.services.metrics.ranges(ctx.principal, ids, a)).load(agent.id) as Promise<MetricRange>;
    },
  }),
  latestMetrics: t.field({
    type: [MetricSampleRef],
    description: 'The last sample of each of the agent\'s series (all, or those with these names).',
    args: { names: t.arg.stringList() },
    resolve: (agent, args, ctx) =>
      loaderFor(ctx, JSON.stringify(['latest', args.names ?? null]), (ids) => ctx.services.metrics.latest(ctx.principal, ids, args.names)).load(agent.id) as Promise<LatestSample[]>,
  }),
}));

builder.queryFields((t) => ({
  metricNames: t.field({
    type: [MetricNameRef],
    description: 'The metric names pushed by the agents a filter selects, with kind, unit and how many agents and series have each.',
    args: { filter: t.arg({ type: AgentFilterInput }), search: t.arg.string({ description: 'Case-insensitive substring of the name.' }) },
    resolve: (_root, args, ctx) => ctx.services.metrics.names(ctx.principal, args.filter, args.search),
  }),
  metricSummary: t.field({
    type: MetricSummaryRef,
    description:
      'Average, maximum and 95th percentile of one metric across a fleet selection, per group and per step: "CPU of production API gateways over the last 6 hours". Without a step, about 60 points (whole hours once the range spans 6 hours).',
    args: {
      name: t.arg.string({ required: true }),
      filter: t.arg({ type: AgentFilterInput }),
      groupBy: t.arg({ type: GroupByEnum, description: 'NONE by default.' }),
      from: t.arg({ type: 'DateTime', description: 'Omitted: one hour before `to`.' }),
      to: t.arg({ type: 'DateTime', description: 'Omitted: now.' }),
      step: t.arg.int({ description: 'Seconds per point, at least 60.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.metrics.summary(ctx.principal, args),
  }),
}));

const FleetMetricRef = builder.simpleObject('FleetMetric', {
  description: "One agent's reading of a metric, for a fleet table: its latest sample and, when asked for, its last hour.",
  fields: (t) => ({
    agentId: t.id(),
    labels: t.field({ type: 'JSON', nullable: true, description: 'Of the series shown (the one with the fewest labels); null when the agent has none of that name.' }),
    unit: t.string({ nullable: true, description: 'Of `latest`; the sparkline is in the per-second unit for a counter.' }),
    latest: t.float({ nullable: true }),
    at: t.field({ type: 'DateTime', nullable: true }),
    sparkline: t.field({ type: [MetricPointRef], description: 'One point a minute over the last hour; empty unless asked for.' }),
  }),
});

export const MAX_FLEET_METRIC_AGENTS = 2000;
export const MAX_SPARKLINE_AGENTS = 200;

builder.queryField('fleetMetric', (t) =>
  t.field({
    type: [FleetMetricRef],
    description: `A metric across the given agents (at most ${MAX_FLEET_METRIC_AGENTS}; with sparklines, ${MAX_SPARKLINE_AGENTS}), in their order: what a fleet table's metric column shows.`,
    args: { agentIds: t.arg.idList({ required: true }), name: t.arg.string({ required: true }), sparkline: t.arg.boolean({ defaultValue: false }) },
    resolve: (_root, args, ctx) => ctx.services.metrics.fleetMetric(ctx.principal, args.agentIds.map(String), args.name, args.sparkline ?? false),
  }),
);

builder.mutationField('pushMetrics', (t) =>
  t.field({
    type: builder.simpleObject('PushMetricsPayload', { fields: (f) => ({ accepted: f.int() }) }),
    description: "Stores an agent's samples. Needs that agent's own token. A refused point refuses the request, and nothing is written.",
    args: {
      input: t.arg({
        type: builder.inputType('PushMetricsInput', { fields: (f) => ({ agentId: f.id({ required: true }), metrics: f.field({ type: [MetricInput], required: true }) }) }),
        required: true,
      }),
    },
    resolve: async (_root, { input }, ctx) => {
      const points = parseMetricList(metricInputsToRaw(input.metrics), ctx.services.metrics.now());
      const result = await ctx.services.metrics.ingest(ctx.principal, String(input.agentId), points, 'strict');
      return { accepted: result.accepted };
    },
  }),
);

const AgentMetricBatchRef = builder.objectRef<AgentMetricBatch>('AgentMetricBatch').implement({
  fields: (t) => ({
    agentId: t.id({ resolve: (b) => b.agentId }),
    samples: t.field({ type: [MetricSampleRef], description: 'Never empty; oldest first.', resolve: (b) => b.samples }),
  }),
});

builder.subscriptionField('agentMetrics', (t) =>
  t.field({
    type: AgentMetricBatchRef,
    description: [
      "New samples of an agent's series (all, or those with these names), ingested by any replica, pushed in batches about every METRICS_FEED_MS (1 s).",
      `A new subscription first receives the samples of the last ${FEED_LOOKBACK_MS / 1000} s, which the client may already have from its query (so none is missed between the two); after that, each new sample once.`,
      `A sample whose time is more than ${FEED_LOOKBACK_MS / 1000} s older than the newest one delivered for its series is not pushed (read it with Agent.metrics).`,
      `A subscriber more than ${MAX_METRIC_BACKLOG} batches behind has its stream ended with RATE_LIMITED.`,
    ].join(' '),
    args: { agentId: t.arg.id({ required: true }), names: t.arg.stringList() },
    subscribe: (_root, args, ctx) => ctx.services.metrics.subscribe(ctx.principal, String(args.agentId), args.names),
    resolve: (batch) => batch,
  }),
);
