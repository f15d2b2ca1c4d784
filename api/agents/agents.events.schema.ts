import { builder } from '../graphql/builder';
import type { AgentEvent } from './agents.events';
import { Agent, AgentFilterInput, AgentStatusEnum } from './agents.schema';

const AgentEventTypeEnum = builder.enumType('AgentEventType', {
  values: {
    REGISTERED: { value: 'registered' },
    UPDATED: {
      value: 'updated',
      description: 'Registered again: same id, fresh token, updated fields (`data.changed` names those of type and metadata that changed).',
    },
    DEREGISTERED: { value: 'deregistered' },
    STATUS_CHANGED: { value: 'status_changed' },
    TAGS_CHANGED: { value: 'tags_changed', description: '`data.added` and `data.removed`; `data.reregistered` when a registration changed them.' },
    CONFIGURATION_CHANGED: { value: 'configuration_changed' },
    INTERVAL_CHANGED: {
      value: 'interval_changed',
      description: 'A registration changed the heartbeat interval: `data.previous` and `data.interval`, in seconds.',
    },
  } as const,
});

const AgentEventRef = builder.objectRef<AgentEvent>('AgentEvent').implement({
  description: 'One agent entry of the append-only event log.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Opaque. Pass as `after` to resume right after this event, or as `before` to page back.' }),
    type: t.field({ type: AgentEventTypeEnum, resolve: (e) => e.type }),
    agentId: t.exposeID('agentId'),
    agent: t.field({ type: Agent, description: 'The agent as it was right after this event.', resolve: (e) => e.agent }),
    previousStatus: t.field({ type: AgentStatusEnum, nullable: true, resolve: (e) => e.previousStatus }),
    status: t.field({ type: AgentStatusEnum, nullable: true, resolve: (e) => e.status }),
    reason: t.exposeString('reason', { nullable: true }),
    data: t.field({ type: 'JSON', resolve: (e) => e.data }),
    actor: t.string({
      nullable: true,
      description:
        'Who made the change: the name of the API key (admin edits, deregistrations, registrations), or "agent <id>" for an agent re-registering itself; null for changes the server made (status).',
      resolve: (e) => (typeof e.data.actor === 'string' ? e.data.actor : null),
    }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

const AgentStatusChange = builder.objectRef<AgentEvent>('AgentStatusChange').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    agent: t.field({ type: Agent, resolve: (e) => e.agent }),
    previousStatus: t.field({ type: AgentStatusEnum, resolve: (e) => e.previousStatus ?? e.agent.status }),
    status: t.field({ type: AgentStatusEnum, resolve: (e) => e.status ?? e.agent.status }),
    reason: t.string({ resolve: (e) => e.reason ?? '' }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

builder.queryField('agentEventLog', (t) =>
  t.field({
    type: [AgentEventRef],
    description: 'Past events, oldest first: the `last` ones before `before` (default: the newest), optionally of one agent.',
    args: { agentId: t.arg.id(), before: t.arg.string(), last: t.arg.int({ defaultValue: 50 }) },
    resolve: (_root, args, ctx) =>
      ctx.services.agentEvents.history(ctx.principal, {
        agentId: args.agentId === null || args.agentId === undefined ? undefined : String(args.agentId),
        before: args.before,
        last: args.last ?? 50,
      }),
  }),
);

builder.subscriptionFields((t) => ({
  agentStatusChanged: t.field({
    type: AgentStatusChange,
    description: 'Status transitions of agents that match the filter before or after the change.',
    args: { filter: t.arg({ type: AgentFilterInput }) },
    subscribe: (_root, args, ctx) => ctx.services.agentEvents.statusChanges(ctx.principal, args.filter),
    resolve: (event) => event,
  }),
  agentEvents: t.field({
    type: AgentEventRef,
    description:
      'Every event of matching agents. With `after` (a cursor), first replays each later event from the log, then continues live, with no gap and no duplicate.',
    args: { after: t.arg.string(), filter: t.arg({ type: AgentFilterInput }) },
    subscribe: (_root, args, ctx) => ctx.services.agentEvents.events(ctx.principal, { after: args.after, filter: args.filter }),
    resolve: (event) => event,
  }),
}));
