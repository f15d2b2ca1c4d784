import { Agent, AgentFilterInput, AgentStatusEnum } from '../agents/agents.schema';
import type { AgentRow } from '../agents/agents.table';
import { builder } from '../graphql/builder';
import { parseCursor } from './events.stream';
import type { AgentEventMessage } from './events.types';

const AgentEventTypeEnum = builder.enumType('AgentEventType', {
  values: {
    REGISTERED: { value: 'registered' },
    UPDATED: { value: 'updated', description: 'Registered again: same id, fresh token, updated fields.' },
    DEREGISTERED: { value: 'deregistered' },
    STATUS_CHANGED: { value: 'status_changed' },
    TAGS_CHANGED: { value: 'tags_changed' },
    CONFIGURATION_CHANGED: { value: 'configuration_changed' },
  } as const,
});

/** A snapshot carries every column an Agent field reads, so it resolves without a query. */
const snapshotAgent = (e: AgentEventMessage) => e.agent as unknown as AgentRow;

const AgentEvent = builder.objectRef<AgentEventMessage>('AgentEvent').implement({
  description: 'One entry of the append-only agent event log.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Pass as `after` to resume right after this event.' }),
    type: t.field({ type: AgentEventTypeEnum, resolve: (e) => e.type }),
    agentId: t.exposeID('agentId'),
    agent: t.field({ type: Agent, description: 'The agent as it was right after this event.', resolve: snapshotAgent }),
    previousStatus: t.field({ type: AgentStatusEnum, nullable: true, resolve: (e) => e.previousStatus }),
    status: t.field({ type: AgentStatusEnum, nullable: true, resolve: (e) => e.status }),
    reason: t.exposeString('reason', { nullable: true }),
    data: t.field({ type: 'JSON', resolve: (e) => e.data }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

const AgentStatusChange = builder.objectRef<AgentEventMessage>('AgentStatusChange').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    agent: t.field({ type: Agent, resolve: snapshotAgent }),
    previousStatus: t.field({ type: AgentStatusEnum, resolve: (e) => e.previousStatus! }),
    status: t.field({ type: AgentStatusEnum, resolve: (e) => e.status! }),
    reason: t.string({ resolve: (e) => e.reason ?? '' }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

builder.queryField('agentEventLog', (t) =>
  t.field({
    type: [AgentEvent],
    description: 'Past events, oldest first: the `last` ones before `before` (default: the newest), optionally of one agent.',
    args: { agentId: t.arg.id(), before: t.arg.string(), last: t.arg.int({ defaultValue: 50 }) },
    resolve: (_root, args, ctx) =>
      ctx.services.stream.history(ctx.principal, {
        agentId: args.agentId === null || args.agentId === undefined ? undefined : String(args.agentId),
        before: parseCursor(args.before, 'before'),
        last: args.last ?? 50,
      }),
  }),
);

builder.subscriptionFields((t) => ({
  agentStatusChanged: t.field({
    type: AgentStatusChange,
    description: 'Status transitions of agents that match the filter before or after the change.',
    args: { filter: t.arg({ type: AgentFilterInput }) },
    subscribe: (_root, args, ctx) => ctx.services.stream.statusChanges(ctx.principal, args.filter),
    resolve: (event) => event,
  }),
  agentEvents: t.field({
    type: AgentEvent,
    description:
      'Every event of matching agents. With `after` (a cursor), first replays each later event from the log, then continues live, with no gap and no duplicate.',
    args: { after: t.arg.string(), filter: t.arg({ type: AgentFilterInput }) },
    subscribe: (_root, args, ctx) => ctx.services.stream.events(ctx.principal, { after: args.after, filter: args.filter }),
    resolve: (event) => event,
  }),
}));
