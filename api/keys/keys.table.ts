import { sql } from 'drizzle-orm';
import { index, pgEnum, pgTable, timestamp, uniqueIndex, uuid, varchar } from 'drizzle-orm/pg-core';

export const apiKeyRole = pgEnum('api_key_role', ['admin', 'viewer', 'enrollment']);

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * Operator API keys: named, with a role, an optional expiry, and for enrollment keys the
 * tags and environment the agents they register get. Only the sha256 of a secret is
 * stored; a revoked key stays, for the record, and its hash keeps a start from adding
 * the same token again.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: varchar('name', { length: 100 }).notNull(),
    role: apiKeyRole('role').notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull(),
    /** The secret's first characters, so an operator can tell keys apart (`am_admin_Xy3…`). */
    prefix: varchar('prefix', { length: 24 }).notNull(),
    expiresAt: at('expires_at'),
    defaultTags: varchar('default_tags', { length: 64 }).array().notNull().default(sql`'{}'`),
    defaultEnvironment: varchar('default_environment', { length: 64 }),
    createdAt: at('created_at').notNull().defaultNow(),
    /** The name of the key that created it; null for keys made at start (environment or first start). */
    createdBy: varchar('created_by', { length: 100 }),
    /** Written at most once a minute per key and replica. */
    lastUsedAt: at('last_used_at'),
    revokedAt: at('revoked_at'),
    revokedBy: varchar('revoked_by', { length: 100 }),
  },
  (t) => [
    uniqueIndex('api_keys_token_hash_key').on(t.tokenHash),
    // Names identify keys in the event log: unique among keys in force.
    uniqueIndex('api_keys_active_name_key').on(t.name).where(sql`${t.revokedAt} is null`),
    index('api_keys_created_at_idx').on(t.createdAt),
  ],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type ApiKeyRole = (typeof apiKeyRole.enumValues)[number];
