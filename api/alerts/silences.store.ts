import { asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../db';
import { alertSilences, type SilenceRow } from './alerts.table';

/** The SQL of silences and maintenance windows. */
export const silenceStore = {
  async silences(db: Db, opts: { activeAt?: Date; includeExpired?: boolean; now?: Date } = {}): Promise<SilenceRow[]> {
    const where = opts.activeAt
      ? sql`${alertSilences.startsAt} <= ${opts.activeAt} and (${alertSilences.endsAt} is null or ${alertSilences.endsAt} > ${opts.activeAt})`
      : opts.includeExpired || !opts.now
        ? undefined
        : sql`(${alertSilences.endsAt} is null or ${alertSilences.endsAt} > ${opts.now})`;
    return db.select().from(alertSilences).where(where).orderBy(asc(alertSilences.startsAt)).limit(1000);
  },

  async silence(db: Db, id: string): Promise<SilenceRow | undefined> {
    const [row] = await db.select().from(alertSilences).where(eq(alertSilences.id, id));
    return row;
  },

  async insertSilence(tx: Db, values: typeof alertSilences.$inferInsert): Promise<SilenceRow> {
    const [row] = await tx.insert(alertSilences).values(values).returning();
    return row;
  },

  async updateSilence(tx: Db, id: string, values: Partial<typeof alertSilences.$inferInsert>): Promise<SilenceRow | undefined> {
    const [row] = await tx.update(alertSilences).set(values).where(eq(alertSilences.id, id)).returning();
    return row;
  },

  async deleteSilence(tx: Db, id: string): Promise<boolean> {
    return (await tx.delete(alertSilences).where(eq(alertSilences.id, id)).returning({ id: alertSilences.id })).length > 0;
  },
};
