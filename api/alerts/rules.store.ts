import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { toRule } from './alerts.store';
import { alertRules } from './alerts.table';
import type { Rule, RuleKind } from './alerts.types';
import type { RuleInput } from './rules.input';

/** The SQL of alert rules and of their evaluation rounds. */
export const ruleStore = {
  async rules(db: Db, opts: { kinds?: RuleKind[]; enabledOnly?: boolean } = {}): Promise<Rule[]> {
    const where = and(opts.kinds ? inArray(alertRules.kind, opts.kinds) : undefined, opts.enabledOnly ? eq(alertRules.enabled, true) : undefined);
    return (await db.select().from(alertRules).where(where).orderBy(asc(alertRules.name))).map(toRule);
  },

  async rule(db: Db, id: string): Promise<Rule | undefined> {
    const [row] = await db.select().from(alertRules).where(eq(alertRules.id, id));
    return row && toRule(row);
  },

  async rulesByIds(db: Db, ids: string[]): Promise<Map<string, Rule>> {
    if (ids.length === 0) return new Map();
    return new Map((await db.select().from(alertRules).where(inArray(alertRules.id, ids))).map((r) => [r.id, toRule(r)]));
  },

  async nameTaken(db: Db, name: string, exceptId?: string): Promise<boolean> {
    const [row] = await db.select({ id: alertRules.id }).from(alertRules).where(and(eq(alertRules.name, name), exceptId ? ne(alertRules.id, exceptId) : undefined));
    return row !== undefined;
  },

  /** Inserts a rule; undefined when its name (or builtin key) is taken. */
  async insertRule(tx: Db, id: string, input: RuleInput, now: Date, builtin?: string): Promise<Rule | undefined> {
    const [row] = await tx
      .insert(alertRules)
      .values({ id, ...input, builtin, createdAt: now, updatedAt: now, nextEvalAt: now })
      .onConflictDoNothing()
      .returning();
    return row && toRule(row);
  },

  async updateRule(tx: Db, id: string, input: RuleInput, now: Date): Promise<Rule | undefined> {
    const [row] = await tx.update(alertRules).set({ ...input, updatedAt: now, nextEvalAt: now }).where(eq(alertRules.id, id)).returning();
    return row && toRule(row);
  },

  async deleteRule(tx: Db, id: string): Promise<boolean> {
    return (await tx.delete(alertRules).where(eq(alertRules.id, id)).returning({ id: alertRules.id })).length > 0;
  },

  async builtinExists(db: Db, key: string): Promise<boolean> {
    return (await db.select({ id: alertRules.id }).from(alertRules).where(eq(alertRules.builtin, key))).length > 0;
  },

  /** Metric rules whose evaluation is due. */
  async dueRuleIds(db: Db, now: Date, kinds: RuleKind[]): Promise<string[]> {
    const rows = await db
      .select({ id: alertRules.id })
      .from(alertRules)
      .where(and(eq(alertRules.enabled, true), inArray(alertRules.kind, kinds), sql`${alertRules.nextEvalAt} <= ${now}`))
      .orderBy(asc(alertRules.nextEvalAt))
      .limit(100);
    return rows.map((r) => r.id);
  },

  /**
   * Claims one rule's evaluation for this transaction: a try-lock (taken without writing,
   * so the caller can still lock alert subjects), then a re-read that it is still due.
   */
  async claimEvaluation(tx: Db, ruleId: string, now: Date): Promise<Rule | undefined> {
    const [{ ok }] = rowsOf<{ ok: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(hashtextextended('alert-rule-eval:' || ${ruleId}, 0)) as ok`));
    if (!ok) return undefined;
    const [row] = await tx.select().from(alertRules).where(and(eq(alertRules.id, ruleId), eq(alertRules.enabled, true), sql`${alertRules.nextEvalAt} <= ${now}`));
    return row && toRule(row);
  },

  async scheduleEvaluation(tx: Db, ruleId: string, next: Date): Promise<void> {
    await tx.update(alertRules).set({ nextEvalAt: next }).where(eq(alertRules.id, ruleId));
  },

  /** A try-lock for a cluster-wide job round, taken without writing. */
  async tryJobLock(tx: Db, job: string): Promise<boolean> {
    const [{ ok }] = rowsOf<{ ok: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(hashtextextended('alert-job:' || ${job}, 0)) as ok`));
    return ok;
  },
};
