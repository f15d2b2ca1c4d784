import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db';
import { apiKeys, type ApiKeyRow } from './keys.table';

export type NewApiKey = Pick<ApiKeyRow, 'name' | 'role' | 'tokenHash' | 'prefix' | 'expiresAt' | 'defaultTags' | 'defaultEnvironment' | 'createdBy'>;

/** The SQL of API keys. */
export const keyStore = {
  /** Every key, newest first (the key ring holds them all: a handful, or a few hundred). */
  all(db: Db): Promise<ApiKeyRow[]> {
    return db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
  },

  /** Inserts a key; undefined when its name is taken by a key in force (or its hash exists). */
  async insert(tx: Db, key: NewApiKey): Promise<ApiKeyRow | undefined> {
    const [row] = await tx.insert(apiKeys).values(key).onConflictDoNothing().returning();
    return row;
  },

  /** A key, unlocked. */
  async get(db: Db, id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id));
    return row;
  },

  /** Locks a key for the rest of `tx`. */
  async lock(tx: Db, id: string): Promise<ApiKeyRow | undefined> {
    const [row] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
    return row;
  },

  async revoke(tx: Db, id: string, at: Date, by: string | null): Promise<ApiKeyRow> {
    const [row] = await tx.update(apiKeys).set({ revokedAt: at, revokedBy: by }).where(eq(apiKeys.id, id)).returning();
    return row;
  },

  /**
   * Admin keys in force (not revoked, not expired at `now`), locked in id order, so two
   * revocations cannot remove the last two at once, and, each locking in the same order,
   * wait for each other instead of deadlocking.
   */
  async lockActiveAdmins(tx: Db, now: Date): Promise<Pick<ApiKeyRow, 'id' | 'name' | 'expiresAt'>[]> {
    return tx
      .select({ id: apiKeys.id, name: apiKeys.name, expiresAt: apiKeys.expiresAt })
      .from(apiKeys)
      .where(and(eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt), sql`(${apiKeys.expiresAt} is null or ${apiKeys.expiresAt} > ${now})`))
      .orderBy(asc(apiKeys.id))
      .for('update');
  },

  /**
   * Records when keys were last used; never moves a time back. The rows are locked in id
   * order first, the order revocations lock admin keys in, so the two never deadlock.
   */
  async touch(db: Db, used: Map<string, Date>): Promise<void> {
    if (used.size === 0) return;
    const ids = [...used.keys()];
    const times = ids.map((id) => used.get(id)!.toISOString());
    await db.execute(sql`
      with locked as (select id from api_keys where id = any(${sql.param(ids)}::uuid[]) order by id for update)
      update api_keys k set last_used_at = u.at
      from unnest(${sql.param(ids)}::uuid[], ${sql.param(times)}::timestamptz[]) as u(id, at)
      where k.id = u.id and k.id in (select id from locked) and (k.last_used_at is null or k.last_used_at < u.at)
    `);
  },
};
