import { badInput } from '../errors';
import { builder } from '../graphql/builder';
import { agentOrderQuery, checkAgentCursor } from './agents.filter';
import { PUBLIC_COLUMNS, recentHeartbeats } from './agents.snapshot';
import { RECENT_HEARTBEATS } from './agents.table';
import { AGENT_ORDER_FIELDS } from './agents.types';

export const AgentStatusEnum = builder.enumType('AgentStatus', {
  values: {
    ONLINE: { value: 'online' },
    DEGRADED: { value: 'degraded', description: 'Heartbeats arrive, but the agent reports degraded or unhealthy.' },
    OFFLINE: { value: 'offline', description: 'No heartbeat for `missedHeartbeats` intervals.' },
  } as const,
});

export const HealthStatusEnum = builder.enumType('HealthStatus', {
  values: { HEALTHY: { value: 'healthy' }, DEGRADED: { value: 'degraded' }, UNHEALTHY: { value: 'unhealthy' } } as const,
});

export const HeartbeatRef = builder.simpleObject('Heartbeat', {
  description: 'One accepted heartbeat.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'When the server took it (its own clock).' }),
    health: t.field({
      type: HealthStatusEnum,
      description: 'The health in effect after it: the one reported, or the kept one for a heartbeat whose sequence went backwards.',
    }),
  }),
});

// Plain resolvers, as on Agent: entries come from a batch loader, not a planned query, and
// the drizzle plugin re-loads an exposed column of such a row, one entry at a time.
export const ConfigurationEntry = builder.drizzleObject('agentConfigurations', {
  name: 'ConfigurationEntry',
  fields: (t) => ({
    key: t.string({ resolve: (e) => e.key }),
    value: t.field({ type: 'JSON', resolve: (e) => e.value }),
    updatedAt: t.field({ type: 'DateTime', resolve: (e) => e.updatedAt }),
    revision: t.int({
      description: "The agent's configurationRevision made by this key's last change: pass it as ifRevision to change the key only if no one has since.",
      resolve: (e) => e.revision,
    }),
  }),
});

export const Agent = builder.drizzleObject('agents', {
  name: 'Agent',
  // The public columns only: so an event's snapshot, which carries exactly those, is an Agent too.
  select: { columns: PUBLIC_COLUMNS },
  fields: (t) => ({
    // Plain resolvers rather than t.expose: the drizzle plugin re-loads an exposed column
    // unless its row came from a planned query, and event snapshots (of deleted agents
    // too) must resolve from what they carry, without a query per subscriber.
    id: t.id({ description: 'The agent UUID, the same in REST and GraphQL.', resolve: (a) => a.id }),
    name: t.string({ resolve: (a) => a.name }),
    type: t.string({ resolve: (a) => a.type }),
    host: t.string({ resolve: (a) => a.host }),
    port: t.int({ resolve: (a) => a.port }),
    environment: t.string({ resolve: (a) => a.environment }),
    status: t.field({ type: AgentStatusEnum, resolve: (a) => a.status }),
    statusChangedAt: t.field({
      type: 'DateTime',
      description: 'When the current status began (registration, a heartbeat that changed it, or going offline).',
      resolve: (a) => a.statusChangedAt,
    }),
    health: t.field({ type: HealthStatusEnum, description: 'The health the agent last reported.', resolve: (a) => a.health }),
    healthMessage: t.string({ nullable: true, resolve: (a) => a.healthMessage }),
    metadata: t.field({ type: 'JSON', resolve: (a) => a.metadata }),
    tags: t.stringList({
      // Snapshots (events, registration answers) carry their tags; rows read them in one batch.
      resolve: (agent, _args, ctx) => ('tags' in agent ? (agent.tags as string[]) : ctx.loaders.tags.load(agent.id)),
    }),
    configuration: t.field({
      type: [ConfigurationEntry],
      description: 'The configuration as it is now, ordered by key; empty for an agent that no longer exists (the agent of a deregistration event).',
      // Read in one batch per request rather than as a planned relation: event snapshots,
      // of deregistered agents too, resolve this field without a row to join.
      resolve: (a, _args, ctx) => ctx.loaders.configuration.load(a.id),
    }),
    configurationRevision: t.int({
      description: 'Raised by every configuration change; agents compare it to know when to re-read.',
      resolve: (a) => a.configurationRevision,
    }),
    heartbeatIntervalSeconds: t.int({ resolve: (a) => a.heartbeatIntervalSeconds }),
    lastHeartbeat: t.field({ type: 'DateTime', nullable: true, resolve: (a) => a.lastHeartbeat }),
    offlineAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the agent will be marked offline unless a heartbeat arrives first.',
      resolve: (a) => a.offlineAt,
    }),
    recentHeartbeats: t.field({
      type: [HeartbeatRef],
      description: `The last ${RECENT_HEARTBEATS} accepted heartbeats, newest first (heartbeats written together in one batch count once). Empty on the agent of an event (AgentEvent.agent, AgentStatusChange.agent): the event log does not store it; read agent(id) for it.`,
      resolve: (a) => recentHeartbeats(a),
    }),
    deregisteredAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the agent was deregistered; null while it is registered (only agent(id, includeDeregistered: true) answers one that is not).',
      resolve: (a) => ('deregisteredAt' in a && a.deregisteredAt instanceof Date ? a.deregisteredAt : null),
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updatedAt }),
  }),
});

export const MetadataMatcherInput = builder.inputType('MetadataMatcher', {
  description: 'Agents whose metadata `key` holds `value` (a string value as it is, any other as its JSON text); without `value`, agents whose metadata has the key.',
  fields: (t) => ({ key: t.string({ required: true }), value: t.string() }),
});

export const AgentFilterInput = builder.inputType('AgentFilter', {
  fields: (t) => ({
    ids: t.idList({ description: 'Only these agents (1 to 10 000 ids).' }),
    status: t.field({ type: [AgentStatusEnum], description: 'Any of these statuses.' }),
    type: t.string(),
    environment: t.string(),
    tags: t.stringList({ description: 'Agents that carry all of these tags.' }),
    metadata: t.field({ type: [MetadataMatcherInput], description: 'Agents whose metadata matches all of these (at most 20).' }),
    inactive: t.boolean({
      description:
        'true: only inactive agents (offline longer than INACTIVE_AFTER_SECONDS, 24 h by default); false: all but those; absent: all. Honoured by agents, agentStatusCounts, agentGroups and the bulk actions; subscriptions (a status change makes its agent active) and metric queries leave it aside.',
    }),
    group: t.field({
      type: AgentGroupMemberInput,
      description: 'The agents of one agentGroups group: those it counts under `key` when grouping `by`.',
    }),
    search: t.string({
      description:
        'Case-insensitive substring of the name, the host or a metadata string value; `key=value` (`region=us-east-1`) also matches agents whose metadata `key` is `value`, case aside.',
    }),
  }),
});

const ORDER_FIELD_DESCRIPTIONS: Partial<Record<(typeof AGENT_ORDER_FIELDS)[number], string>> = {
  severity: 'Worst first (the default): offline, degraded, online; within each, the longest in that status first.',
  statusSince: 'When the current status began (statusChangedAt).',
  name: 'Natural order: digits by number (gw-2 before gw-10), ASCII letters without case.',
  status: 'The status in its declared order: online, degraded, offline.',
};

const AgentOrderField = builder.enumType('AgentOrderField', {
  description: 'Every order breaks ties by natural name order, then id: the order compareAgents in shared/agent-order.ts gives.',
  values: Object.fromEntries(
    AGENT_ORDER_FIELDS.map((f) => [f.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(), { value: f, description: ORDER_FIELD_DESCRIPTIONS[f] }]),
  ) as Record<string, { value: (typeof AGENT_ORDER_FIELDS)[number] }>,
});

const OrderDirection = builder.enumType('OrderDirection', {
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const,
});

const AgentOrderInput = builder.inputType('AgentOrder', {
  fields: (t) => ({
    field: t.field({ type: AgentOrderField, required: true }),
    direction: t.field({ type: OrderDirection, required: true, defaultValue: 'asc' }),
  }),
});

const AgentStatusCounts = builder.simpleObject('AgentStatusCounts', {
  fields: (t) => ({
    online: t.int(),
    degraded: t.int(),
    offline: t.int(),
    total: t.int({ description: 'online + degraded + offline.' }),
    inactive: t.int({
      description: 'Of the agents the filter selects (its `inactive` aside), those offline longer than INACTIVE_AFTER_SECONDS: what a view with `inactive: false` hides.',
    }),
  }),
});

const AgentGroupField = builder.enumType('AgentGroupField', {
  values: { ENVIRONMENT: { value: 'environment' }, TYPE: { value: 'type' }, TAG: { value: 'tag' } } as const,
});

const AgentGroupByInput = builder.inputType('AgentGroupBy', {
  description: 'Exactly one of `field` and `metadataKey`.',
  fields: (t) => ({
    field: t.field({ type: AgentGroupField, description: 'ENVIRONMENT, TYPE, or TAG (an agent counts in the group of each of its tags).' }),
    metadataKey: t.string({ description: 'The value of this metadata key (as agentFilter.metadata compares it).' }),
  }),
});

const AgentGroupMemberInput = builder.inputType('AgentGroupMember', {
  fields: (t) => ({
    by: t.field({ type: AgentGroupByInput, required: true }),
    key: t.string({ description: 'The group\'s key, exactly as agentGroups gives it; null (or left out): the agents without a value (no tags, no such metadata key).' }),
  }),
});

const AgentGroup = builder.simpleObject('AgentGroup', {
  fields: (t) => ({
    key: t.string({ nullable: true, description: 'The group\'s value; null for agents without one (no tags, or no such metadata key).' }),
    counts: t.field({ type: AgentStatusCounts }),
  }),
});

const AgentFacets = builder.simpleObject('AgentFacets', {
  description: 'The values in use across the fleet, for filter pickers.',
  fields: (t) => ({ types: t.stringList(), environments: t.stringList(), tags: t.stringList() }),
});

/** The paging arguments of `agents`, as the connection would refuse them. */
function checkAgentPage(args: { first?: number | null; last?: number | null; after?: string | null; before?: string | null; orderBy?: Parameters<typeof checkAgentCursor>[0] | null }) {
  for (const key of ['first', 'last'] as const) {
    const n = args[key];
    if (n !== null && n !== undefined && n < 0) throw badInput({ [key]: 'must be 0 or more' });
  }
  if (args.first != null && args.last != null) throw badInput({ last: 'give first or last, not both' });
  checkAgentCursor(args.orderBy ?? undefined, args.after, 'after');
  checkAgentCursor(args.orderBy ?? undefined, args.before, 'before');
}

builder.queryFields((t) => ({
  agents: t.drizzleConnection({
    type: 'agents',
    args: {
      filter: t.arg({ type: AgentFilterInput }),
      orderBy: t.arg({ type: AgentOrderInput, description: 'Defaults to SEVERITY ascending: worst first.' }),
    },
    // Refuses what a page would refuse: asked alone, it is all the connection resolves.
    totalCount: (_root, args, ctx) => (checkAgentPage(args), ctx.services.agents.count(ctx.principal, args.filter)),
    resolve: (query, _root, args, ctx) =>
      ctx.services.agents.connection(ctx.principal, args.filter, (where) => {
        // After authorization and the filter, before `query` reads the cursors into SQL.
        checkAgentPage(args);
        // The sort-key extra only orders rows; typing it would widen the row type.
        return query({ where, ...agentOrderQuery(args.orderBy ?? undefined) } as { where: typeof where });
      }),
  }, { name: 'AgentConnection' }, { name: 'AgentEdge' }),
  agent: t.drizzleField({
    type: 'agents',
    nullable: true,
    description: 'One agent by id; null when there is none, or when it was deregistered unless includeDeregistered is true.',
    args: {
      id: t.arg.id({ required: true }),
      includeDeregistered: t.arg.boolean({
        defaultValue: false,
        description: 'Answer a deregistered agent too: as it was when deregistered (from the event log), with deregisteredAt set.',
      }),
    },
    resolve: async (query, _root, args, ctx) => {
      const row = await ctx.services.agents.one(ctx.principal, String(args.id), (id) => query({ where: { id } }));
      if (row || !args.includeDeregistered) return row;
      // The snapshot resolves every Agent field without a row (see the resolvers above).
      return (await ctx.services.agentEvents.deregistered(ctx.principal, String(args.id))) as typeof row;
    },
  }),
  agentStatusCounts: t.field({
    type: AgentStatusCounts,
    args: { filter: t.arg({ type: AgentFilterInput }) },
    description: 'Agents per status; a status in the filter is ignored so each count can serve as a filter.',
    resolve: (_root, args, ctx) => ctx.services.agents.statusCounts(ctx.principal, args.filter),
  }),
  agentGroups: t.field({
    type: [AgentGroup],
    args: { filter: t.arg({ type: AgentFilterInput }), by: t.arg({ type: AgentGroupByInput, required: true }) },
    description:
      'The agents the filter selects, grouped, with status counts per group (a status in the filter is ignored, as in agentStatusCounts); groups in natural order of their key, the null group last.',
    resolve: (_root, args, ctx) => ctx.services.agents.groups(ctx.principal, args.filter, args.by as Record<string, unknown>),
  }),
  agentFacets: t.field({
    type: AgentFacets,
    resolve: (_root, _args, ctx) => ctx.services.agents.facets(ctx.principal),
  }),
}));
