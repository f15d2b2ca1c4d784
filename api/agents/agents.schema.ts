import { builder } from '../graphql/builder';
import { agentOrderQuery } from './agents.filter';
import { recentHeartbeats } from './agents.snapshot';
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

export const ConfigurationEntry = builder.drizzleObject('agentConfigurations', {
  name: 'ConfigurationEntry',
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.expose('value', { type: 'JSON' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const Agent = builder.drizzleObject('agents', {
  name: 'Agent',
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
    health: t.field({ type: HealthStatusEnum, description: 'The health the agent last reported.', resolve: (a) => a.health }),
    healthMessage: t.string({ nullable: true, resolve: (a) => a.healthMessage }),
    metadata: t.field({ type: 'JSON', resolve: (a) => a.metadata }),
    tags: t.stringList({
      // Snapshots (events, registration answers) carry their tags; rows read them in one batch.
      resolve: (agent, _args, ctx) => ('tags' in agent ? (agent.tags as string[]) : ctx.loaders.tags.load(agent.id)),
    }),
    configuration: t.relation('configuration', { query: { orderBy: { key: 'asc' } } }),
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
    createdAt: t.field({ type: 'DateTime', resolve: (a) => a.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updatedAt }),
  }),
});

export const AgentFilterInput = builder.inputType('AgentFilter', {
  fields: (t) => ({
    status: t.field({ type: [AgentStatusEnum], description: 'Any of these statuses.' }),
    type: t.string(),
    environment: t.string(),
    tags: t.stringList({ description: 'Agents that carry all of these tags.' }),
    search: t.string({ description: 'Case-insensitive substring of the name or the host.' }),
  }),
});

const AgentOrderField = builder.enumType('AgentOrderField', {
  values: Object.fromEntries(
    AGENT_ORDER_FIELDS.map((f) => [f.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(), { value: f }]),
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
  fields: (t) => ({ online: t.int(), degraded: t.int(), offline: t.int(), total: t.int() }),
});

const AgentFacets = builder.simpleObject('AgentFacets', {
  description: 'The values in use across the fleet, for filter pickers.',
  fields: (t) => ({ types: t.stringList(), environments: t.stringList(), tags: t.stringList() }),
});

builder.queryFields((t) => ({
  agents: t.drizzleConnection({
    type: 'agents',
    args: { filter: t.arg({ type: AgentFilterInput }), orderBy: t.arg({ type: AgentOrderInput }) },
    totalCount: (_root, args, ctx) => ctx.services.agents.count(ctx.principal, args.filter),
    resolve: (query, _root, args, ctx) =>
      ctx.services.agents.find(ctx.principal, args.filter, (where) =>
        // The sort-key extra only orders rows; typing it would widen the row type.
        ctx.db.query.agents.findMany(query({ where, ...agentOrderQuery(args.orderBy ?? undefined) } as { where: typeof where })),
      ),
  }, { name: 'AgentConnection' }, { name: 'AgentEdge' }),
  agent: t.drizzleField({
    type: 'agents',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.agents.findOne(ctx.principal, String(args.id), (id) =>
        ctx.db.query.agents.findFirst(query({ where: { id } })),
      ),
  }),
  agentStatusCounts: t.field({
    type: AgentStatusCounts,
    args: { filter: t.arg({ type: AgentFilterInput }) },
    description: 'Agents per status; a status in the filter is ignored so each count can serve as a filter.',
    resolve: (_root, args, ctx) => ctx.services.agents.statusCounts(ctx.principal, args.filter),
  }),
  agentFacets: t.field({
    type: AgentFacets,
    resolve: (_root, _args, ctx) => ctx.services.agents.facets(ctx.principal),
  }),
}));
