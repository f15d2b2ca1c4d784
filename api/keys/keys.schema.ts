import { builder } from '../graphql/builder';
import type { ApiKeyEvent, PublicApiKey } from './keys.service';

const ApiKeyRoleEnum = builder.enumType('ApiKeyRole', {
  values: {
    ADMIN: { value: 'admin', description: 'Everything: read, register, tag, configure, deregister, manage keys.' },
    VIEWER: { value: 'viewer', description: 'Read the fleet and subscribe.' },
    ENROLLMENT: { value: 'enrollment', description: 'Register agents, nothing else.' },
  } as const,
});

const ApiKeyStateEnum = builder.enumType('ApiKeyState', {
  values: { ACTIVE: { value: 'active' }, EXPIRED: { value: 'expired' }, REVOKED: { value: 'revoked' } } as const,
});

type KeyFields = Omit<PublicApiKey, 'state' | 'lastUsedAt'> & Partial<Pick<PublicApiKey, 'state' | 'lastUsedAt'>>;

const ApiKeyRef = builder.objectRef<PublicApiKey>('ApiKey').implement({
  description: 'A named operator key. Its secret is shown only when it is created or rotated; the server keeps its sha256.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name', { description: 'Unique among keys in force; the event log names the key that acted by it.' }),
    role: t.field({ type: ApiKeyRoleEnum, resolve: (k) => k.role }),
    state: t.field({ type: ApiKeyStateEnum, resolve: (k) => k.state }),
    prefix: t.exposeString('prefix', { description: 'The start of the secret, to tell keys apart.' }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.expiresAt }),
    defaultTags: t.exposeStringList('defaultTags', { description: 'Enrollment keys: tags every agent registered with the key gets (as an admin’s: a registration cannot remove them).' }),
    defaultEnvironment: t.exposeString('defaultEnvironment', {
      nullable: true,
      description: 'Enrollment keys: the environment of agents registered with the key (the only one they may name).',
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    createdBy: t.exposeString('createdBy', { nullable: true, description: 'The key that created it; null for keys the server added at start.' }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, description: 'Recorded at most once a minute per replica.', resolve: (k) => k.lastUsedAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
    revokedBy: t.exposeString('revokedBy', { nullable: true }),
  }),
});

const ApiKeySnapshotRef = builder.objectRef<KeyFields>('ApiKeySnapshot').implement({
  description: 'A key as it was right after an event.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    role: t.field({ type: ApiKeyRoleEnum, resolve: (k) => k.role }),
    prefix: t.exposeString('prefix'),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.expiresAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.revokedAt }),
  }),
});

const ApiKeyWithSecret = builder.simpleObject('ApiKeyWithSecret', {
  fields: (t) => ({
    key: t.field({ type: ApiKeyRef }),
    secret: t.string({ description: 'Shown this once: send it as `Authorization: Bearer <secret>`.' }),
  }),
});

const ApiKeyEventTypeEnum = builder.enumType('ApiKeyEventType', {
  values: {
    CREATED: { value: 'created', description: '`data.rotatedFrom` names the key a rotation replaced; `data.atStart` marks keys the server added at start.' },
    ROTATED: { value: 'rotated', description: 'Replaced by a new key (`data.replacedBy`) and revoked.' },
    REVOKED: { value: 'revoked' },
  } as const,
});

const ApiKeyEventRef = builder.objectRef<ApiKeyEvent>('ApiKeyEvent').implement({
  description: 'A change of an API key, from the event log.',
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    type: t.field({ type: ApiKeyEventTypeEnum, resolve: (e) => e.type }),
    keyId: t.exposeID('keyId'),
    key: t.field({ type: ApiKeySnapshotRef, resolve: (e) => e.key }),
    actor: t.exposeString('actor', { description: 'The name of the key that made the change.' }),
    data: t.field({ type: 'JSON', resolve: (e) => e.data }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'At most 100 characters; unique among keys in force.' }),
    role: t.field({ type: ApiKeyRoleEnum, required: true }),
    expiresAt: t.field({ type: 'DateTime', description: 'In the future; none: the key does not expire.' }),
    defaultTags: t.stringList({ description: 'Enrollment keys only.' }),
    defaultEnvironment: t.string({ description: 'Enrollment keys only.' }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    type: [ApiKeyRef],
    description: 'API keys, newest first (admin only). Revoked keys only with `includeRevoked`.',
    args: { includeRevoked: t.arg.boolean({ defaultValue: false }) },
    resolve: (_r, args, ctx) => ctx.services.keys.list(ctx.principal, { includeRevoked: args.includeRevoked }),
  }),
  apiKeyEventLog: t.field({
    type: [ApiKeyEventRef],
    description: 'Key changes, oldest first: the `last` ones before `before` (default: the newest). Admin only.',
    args: { before: t.arg.string(), last: t.arg.int({ defaultValue: 50 }) },
    resolve: (_r, args, ctx) => ctx.services.keys.history(ctx.principal, { before: args.before, last: args.last ?? 50 }),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: ApiKeyWithSecret,
    description: 'Creates a key (admin only). The secret is in this answer and nowhere else.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: (_r, args, ctx) => ctx.services.keys.create(ctx.principal, { ...args.input } as Record<string, unknown>),
  }),
  rotateApiKey: t.field({
    type: ApiKeyWithSecret,
    description: 'A new secret for a key: a new key with the same name, role, expiry (or `expiresAt`) and defaults; the old one is revoked.',
    args: { id: t.arg.id({ required: true }), expiresAt: t.arg({ type: 'DateTime' }) },
    resolve: (_r, args, ctx) => ctx.services.keys.rotate(ctx.principal, String(args.id), args.expiresAt),
  }),
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description: 'Revokes a key: at once on this replica, within API_KEY_REFRESH_MS on every other. The last admin key in force cannot be revoked.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) => ctx.services.keys.revoke(ctx.principal, String(args.id)),
  }),
}));
