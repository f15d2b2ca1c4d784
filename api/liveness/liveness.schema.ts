import { AgentStatusEnum, ConfigurationEntry, HealthStatusEnum } from '../agents/agents.schema';
import { builder } from '../graphql/builder';

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
    resolve: (_root, { input }, ctx) =>
      ctx.services.liveness.heartbeat(ctx.principal, String(input.agentId), { health: input.health ?? undefined, sequence: input.sequence ?? undefined }),
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
