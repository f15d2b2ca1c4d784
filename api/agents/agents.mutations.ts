import { AppError } from '../errors';
import { builder } from '../graphql/builder';
import { Agent } from './agents.schema';

const RegisterAgentInput = builder.inputType('RegisterAgentInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    type: t.string({ required: true }),
    host: t.string({ required: true }),
    port: t.int({ required: true }),
    environment: t.string({ description: 'Defaults to "default".' }),
    metadata: t.field({ type: 'JSON', description: 'A JSON object of at most 16 KiB.' }),
    heartbeatIntervalSeconds: t.int({ description: '1 to 3600; defaults to the server setting (30).' }),
    tags: t.stringList(),
  }),
});

const RegisterAgentPayload = builder.simpleObject('RegisterAgentPayload', {
  fields: (t) => ({
    agent: t.field({ type: Agent }),
    token: t.string({ description: "The agent's own secret. Shown once: store it." }),
    created: t.boolean({ description: 'False when an agent with the same name, host, port and environment was re-registered.' }),
  }),
});

const DeregisterAgentPayload = builder.simpleObject('DeregisterAgentPayload', {
  fields: (t) => ({ id: t.id() }),
});

type Ctx = import('../graphql/context').GraphQLContext;

/**
 * Answers a mutation with the changed agent, read with the client's selection. An agent
 * deregistered between the change's commit and this read is NOT_FOUND, saying so: the
 * change was made, and went with the agent.
 */
const reload = <Q>(query: (opts: { where: { id: string } }) => Q, ctx: Ctx, { id }: { id: string }) =>
  ctx.services.agents.one(ctx.principal, id, (id) => query({ where: { id } })).then((row) => {
    if (!row) throw new AppError('NOT_FOUND', `agent ${id} was deregistered just after this change was made; its tags and configuration went with it`);
    return row;
  });

builder.mutationFields((t) => {
  const tagArgs = { agentId: t.arg.id({ required: true }), tags: t.arg.stringList({ required: true }) };
  const keyArgs = {
    agentId: t.arg.id({ required: true }),
    key: t.arg.string({ required: true }),
    ifRevision: t.arg.int({
      description:
        'Check-and-set: change the key only while its revision is still this one (ConfigurationEntry.revision as you read it; 0: only while the key does not exist). Otherwise CONFLICT, and nothing is changed.',
    }),
  };
  return {
    registerAgent: t.field({
      type: RegisterAgentPayload,
      description:
        'Registers an agent, or re-registers it (same id, fresh token) when name, host, port and environment match. ' +
        'An agent that is online or degraded is re-registered only with its own token or an admin token (CONFLICT for an enrollment token); ' +
        'tags an admin set are kept.',
      args: { input: t.arg({ type: RegisterAgentInput, required: true }) },
      resolve: (_root, args, ctx) => ctx.services.agents.register(ctx.principal, args.input as Record<string, unknown>),
    }),
    setAgentTags: t.drizzleField({
      type: 'agents',
      description: 'Replaces all tags of an agent.',
      args: tagArgs,
      resolve: async (query, _root, a, ctx) =>
        reload(query, ctx, await ctx.services.agents.setTags(ctx.principal, String(a.agentId), a.tags)),
    }),
    addAgentTags: t.drizzleField({
      type: 'agents',
      description: 'Adds tags; ones already present are kept once.',
      args: tagArgs,
      resolve: async (query, _root, a, ctx) =>
        reload(query, ctx, await ctx.services.agents.addTags(ctx.principal, String(a.agentId), a.tags)),
    }),
    removeAgentTags: t.drizzleField({
      type: 'agents',
      description: 'Removes tags; absent ones are ignored.',
      args: tagArgs,
      resolve: async (query, _root, a, ctx) =>
        reload(query, ctx, await ctx.services.agents.removeTags(ctx.principal, String(a.agentId), a.tags)),
    }),
    setAgentConfiguration: t.drizzleField({
      type: 'agents',
      description: 'Sets one configuration key to a JSON value; a change raises configurationRevision.',
      args: { ...keyArgs, value: t.arg({ type: 'JSON', required: true }) },
      resolve: async (query, _root, a, ctx) =>
        reload(query, ctx, await ctx.services.agents.setConfiguration(ctx.principal, String(a.agentId), a.key, a.value, a.ifRevision)),
    }),
    deleteAgentConfiguration: t.drizzleField({
      type: 'agents',
      description: 'Deletes one configuration key; a change raises configurationRevision.',
      args: keyArgs,
      resolve: async (query, _root, a, ctx) =>
        reload(query, ctx, await ctx.services.agents.deleteConfiguration(ctx.principal, String(a.agentId), a.key, a.ifRevision)),
    }),
    deregisterAgent: t.field({
      type: DeregisterAgentPayload,
      description: 'Removes an agent with its tags and configuration; its event history stays.',
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.services.agents.deregister(ctx.principal, String(args.id)),
    }),
  };
});
