import { builder } from './builder';

const RoleEnum = builder.enumType('Role', {
  values: { ADMIN: { value: 'admin' }, VIEWER: { value: 'viewer' }, ENROLLMENT: { value: 'enrollment' }, AGENT: { value: 'agent' } } as const,
});

const Viewer = builder.simpleObject('Viewer', {
  description: 'Who the token in use belongs to, so a client can show what it may do.',
  fields: (t) => ({ role: t.field({ type: RoleEnum }), agentId: t.id({ nullable: true }) }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    resolve: (_root, _args, ctx) => ({
      role: ctx.principal!.role,
      agentId: ctx.principal?.role === 'agent' ? ctx.principal.agentId : null,
    }),
  }),
);
