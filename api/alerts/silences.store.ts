import { and, asc, desc, eq, isNotNull, sql } from 'drizzle-orm';
import type { Db } from '../db';
import { alertSilences, type SilenceRow } from './alerts.table';

/** How many ended silences `silences({ includeExpired })` lists beside those that have not ended: the latest to end. */
export const ENDED_SILENCES_LISTED = 1000;

/** The SQL of silences and maintenance windows. */
export const silenceStore = {
  /**
   * Silences, oldest start first. With `activeAt`: every one in force then (started, not
   * ended; a window may still be outside its hours), uncapped, as a silence left out would
   * mute nothing. Otherwise every one that has not ended at `now`, and with
   * `includeExpired` the latest ENDED_SILENCES_LISTED that have.
   */
  async silences(db: Db, opts: { activeAt: Date } | { now: Date; includeExpired?: boolean }): Promise<SilenceRow[]> {
    if ('activeAt' in opts) {
      const at = opts.activeAt;
      return db
        .select()
        .from(alertSilences)
        .where(sql`${alertSilences.startsAt} <= ${at} and (${alertSilences.endsAt} is null or ${alertSilences.endsAt} > ${at})`)
        .orderBy(asc(alertSilences.startsAt), asc(alertSilences.id));
    }
    const { now } = opts;
    const open = await db
      .select()
      .from(alertSilences)
      .where(sql`(${alertSilences.endsAt} is null or ${alertSilences.endsAt} > ${now})`)
      .orderBy(asc(alertSilences.startsAt), asc(alertSilences.id));
    if (!opts.includeExpired) return open;
    const ended = await db
      .select()
      .from(alertSilences)
      .where(and(isNotNull(alertSilences.endsAt), sql`${alertSilences.endsAt} <= ${now}`))
      .orderBy(desc(alertSilences.endsAt), desc(alertSilences.id))
      .limit(ENDED_SILENCES_LISTED);
    return [...ended, ...open].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
