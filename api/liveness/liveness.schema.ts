import { Agent, AgentStatusEnum, ConfigurationEntry, HealthStatusEnum } from '../agents/agents.schema';
import { RECENT_HEARTBEATS } from '../agents/agents.table';
import { builder } from '../graphql/builder';
import { MetricInput, metricInputsToRaw } from '../metrics/metrics.schema';
import { MAX_BACKLOG, MAX_WATCHED_AGENTS, type AgentHeartbeat, type AgentHeartbeatBatch } from './heartbeat.feed';

const HealthInput = builder.inputType('HealthInput', {
  fields: (t) => ({
    status: t.field({ type: HealthStatusEnum, required: true }),
    message: t.string({ description: 'At most 1 KiB.' }),
  }),
});

const HeartbeatInput = builder.inputType('HeartbeatInput', {
  fields: (t) => ({
    agentId: t.id({ required: true }),
    health: t.field({ type: HealthInput, description: 'Omitted means HEALTHY.' }),
    sequence: t.int({
      description: 'Increasing per agent. A heartbeat whose sequence goes backwards is accepted as a sign of life, but its health is ignored.',
    }),
    metrics: t.field({ type: [MetricInput], description: 'Samples to store with the heartbeat, as pushMetrics takes them; a refused one refuses the heartbeat too.' }),
  }),
});

const HeartbeatPayload = builder.simpleObject('HeartbeatPayload', {
  fields: (t) => ({
    serverTime: t.field({ type: 'DateTime' }),
    status: t.field({ type: AgentStatusEnum }),
    nextHeartbeatBy: t.field({ type: 'DateTime', description: 'When the next heartbeat is due (one interval from now).' }),
    offlineAt: t.field({ type: 'DateTime', description: 'When the agent will be marked offline without another heartbeat.' }),
    heartbeatIntervalSeconds: t.int(),
    configurationRevision: t.int({ description: 'Re-read agentConfiguration when this differs from the revision you hold.' }),
    staleSequence: t.boolean({ description: 'True when the sequence went backwards and the health was not applied.' }),
  }),
});

const AgentConfiguration = builder.simpleObject('AgentConfiguration', {
  fields: (t) => ({
    revision: t.int(),
    entries: t.field({ type: [ConfigurationEntry] }),
  }),
});

builder.mutationField('heartbeat', (t) =>
  t.field({
    type: HeartbeatPayload,
    description: "Reports that an agent is alive. Needs that agent's own token.",
    args: { input: t.arg({ type: HeartbeatInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const beat = (before?: () => Promise<void>) => ctx.services.liveness.heartbeat(ctx.principal, String(input.agentId), { health: input.health ?? undefined, sequence: input.sequence ?? undefined }, before);
      return input.metrics ? ctx.services.metrics.alongHeartbeat(ctx.principal, String(input.agentId), metricInputsToRaw(input.metrics), beat) : beat();
    },
  }),
);

builder.queryField('agentConfiguration', (t) =>
  t.field({
    type: AgentConfiguration,
    description: "An agent's configuration, for the agent itself (its own token) or an operator.",
    args: { agentId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.services.agents.configurationFor(ctx.principal, String(args.agentId)),
  }),
);

const AgentHeartbeatRef = builder.objectRef<AgentHeartbeat>('AgentHeartbeat').implement({
  description: 'A heartbeat one agent took.',
  fields: (t) => ({
    agent: t.field({
      type: Agent,
      description: 'The agent as read for this batch: lastHeartbeat, offlineAt, status and health are current.',
      // The row the feed read (its public columns), so fields resolve without a query.
      resolve: (h) => h.agent,
    }),
    at: t.field({ type: 'DateTime', description: 'When the server took it.', resolve: (h) => h.at }),
    health: t.field({ type: HealthStatusEnum, description: 'The health in effect after it, as in Agent.recentHeartbeats.', resolve: (h) => h.health }),
  }),
});

const AgentHeartbeatBatchRef = builder.objectRef<AgentHeartbeatBatch>('AgentHeartbeatBatch').implement({
  fields: (t) => ({
    heartbeats: t.field({
      type: [AgentHeartbeatRef],
      description:
        "Never empty. One entry per heartbeat, oldest first for each agent (agents interleave in no set order); an agent's entries in one batch all carry the same `agent`, as read for the batch. Heartbeats one agent sends within the same server write (a few milliseconds apart) are recorded, and reported, as one.",
      resolve: (b) => b.heartbeats,
    }),
  }),
});

builder.subscriptionField('agentHeartbeats', (t) =>
  t.field({
    type: AgentHeartbeatBatchRef,
    description: [
      `Heartbeats of the given agents (1 to ${MAX_WATCHED_AGENTS} ids), taken by any replica, pushed in batches about every HEARTBEAT_FEED_MS (1 s).`,
      "A new subscription first receives its agents' current state: for each agent that has taken a heartbeat, one entry for the latest, which the client may already have (so none taken between the client's query and its subscription is missed); after that, only new heartbeats.",
      `Each read finds the heartbeats since the previous one in the agent's history: when more than ${RECENT_HEARTBEATS} were taken between two reads, only the last ${RECENT_HEARTBEATS} are reported.`,
      `A subscriber that falls more than ${MAX_BACKLOG} unsent batches behind has its stream ended with a RATE_LIMITED error; subscribe again. Unknown ids are never reported.`,
    ].join(' '),
    args: { agentIds: t.arg.idList({ required: true }) },
    subscribe: (_root, args, ctx) => ctx.services.heartbeats.subscribe(ctx.principal, args.agentIds),
    resolve: (batch) => batch,
  }),
);
