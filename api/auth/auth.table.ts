import { pgEnum, pgTable, timestamp, varchar } from 'drizzle-orm/pg-core';

export const operatorTokenKind = pgEnum('operator_token_kind', ['admin', 'viewer', 'enrollment']);

/** Hashes of the generated operator tokens (sha256 hex); the tokens themselves are never stored here. */
export const operatorTokens = pgTable('operator_tokens', {
  kind: operatorTokenKind('kind').primaryKey(),
  tokenHash: varchar('token_hash', { length: 64 }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});
