import { builder } from '../graphql/builder';
import { MAX_BULK_AGENTS } from './agents.bulk';
import { Agent, AgentFilterInput } from './agents.schema';

const SELECTION = `The agents to act on: explicit ones (\`filter: { ids: [...] }\`) or all that the filter selects (at most ${MAX_BULK_AGENTS}; \`{}\` is the whole fleet).`;

const AgentSelectionPreview = builder.simpleObject('AgentSelectionPreview', {
  description: 'What a bulk action would act on now.',
  fields: (t) => ({
    count: t.int({ description: 'Agents the selection holds.' }),
    agents: t.field({ type: [Agent], description: 'The first of them (`first`), in natural name order.' }),
  }),
});

const BulkAgentsPayload = builder.simpleObject('BulkAgentsPayload', {
  fields: (t) => ({
    selected: t.int({ description: 'Agents the selection held when the action ran.' }),
    changed: t.int({ description: 'Agents it changed, each with one event (an agent that already had the tag, or lacked it, is not changed).' }),
    changedIds: t.idList({ description: 'Their ids.' }),
  }),
});

const toPayload = (r: { selected: number; changed: string[] }) => ({ selected: r.selected, changed: r.changed.length, changedIds: r.changed });

builder.queryFields((t) => ({
  agentSelectionPreview: t.field({
    type: AgentSelectionPreview,
    description: `Admins: how many agents a bulk action would act on, and the first of them. ${SELECTION}`,
    args: {
      filter: t.arg({ type: AgentFilterInput, required: true }),
      first: t.arg.int({ defaultValue: 10, description: '0 to 100.' }),
    },
    resolve: (_root, args, ctx) => ctx.services.agentBulk.preview(ctx.principal, args.filter as Record<string, unknown>, args.first ?? 10),
  }),
}));

builder.mutationFields((t) => ({
  bulkAddAgentTags: t.field({
    type: BulkAgentsPayload,
    description: `Adds tags to many agents in one transaction. ${SELECTION}`,
    args: { filter: t.arg({ type: AgentFilterInput, required: true }), tags: t.arg.stringList({ required: true }) },
    resolve: async (_root, args, ctx) => toPayload(await ctx.services.agentBulk.addTags(ctx.principal, args.filter as Record<string, unknown>, args.tags)),
  }),
  bulkRemoveAgentTags: t.field({
    type: BulkAgentsPayload,
    description: `Removes tags from many agents in one transaction. ${SELECTION}`,
    args: { filter: t.arg({ type: AgentFilterInput, required: true }), tags: t.arg.stringList({ required: true }) },
    resolve: async (_root, args, ctx) => toPayload(await ctx.services.agentBulk.removeTags(ctx.principal, args.filter as Record<string, unknown>, args.tags)),
  }),
  bulkDeregisterAgents: t.field({
    type: BulkAgentsPayload,
    description: `Deregisters many agents in one transaction; their histories stay. ${SELECTION}`,
    args: { filter: t.arg({ type: AgentFilterInput, required: true }) },
    resolve: async (_root, args, ctx) => toPayload(await ctx.services.agentBulk.deregister(ctx.principal, args.filter as Record<string, unknown>)),
  }),
}));
