import { builder } from './builder';

const RoleEnum = builder.enumType('Role', {
  values: { ADMIN: { value: 'admin' }, VIEWER: { value: 'viewer' }, ENROLLMENT: { value: 'enrollment' }, AGENT: { value: 'agent' } } as const,
});

const Viewer = builder.simpleObject('Viewer', {
  description: 'Who the token in use belongs to, so a client can show what it may do.',
  fields: (t) => ({
    role: t.field({ type: RoleEnum }),
    agentId: t.id({ nullable: true }),
    keyName: t.string({ nullable: true, description: 'The name of the API key in use (operators).' }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    resolve: (_root, _args, ctx) => ({
      role: ctx.principal!.role,
      agentId: ctx.principal?.role === 'agent' ? ctx.principal.agentId : null,
      keyName: ctx.principal?.role !== 'agent' ? (ctx.principal?.key?.name ?? null) : null,
    }),
  }),
);
