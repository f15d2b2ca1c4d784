import { and, asc, desc, eq, inArray, ne, sql, type SQL } from 'drizzle-orm';
import { rowsOf, type Db } from '../db';
import { alerts, type AlertRow, type AlertRuleRow } from './alerts.table';
import type { AgentRef, Alert, AlertFilter, Rule } from './alerts.types';

export const toRule = (r: AlertRuleRow): Rule => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  scope: r.scope,
  condition: r.condition,
  forSeconds: r.forSeconds,
  consecutive: r.consecutive,
  keepFiringForSeconds: r.keepFiringForSeconds,
  severity: r.severity,
  labels: r.labels,
  summary: r.summary,
  description: r.description,
  enabled: r.enabled,
  builtin: r.builtin,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

export const toAlert = (r: AlertRow): Alert => ({
  id: r.id,
  ruleId: r.ruleId,
  ruleName: r.ruleName,
  ruleKind: r.ruleKind,
  agentId: r.agentId,
  agent: r.agent,
  state: r.state,
  severity: r.severity,
  labels: r.labels,
  summary: r.summary,
  description: r.description,
  value: r.value,
  startedAt: r.startedAt,
  firedAt: r.firedAt,
  resolvedAt: r.resolvedAt,
  clearingSince: r.clearingSince,
  resolveReason: r.resolveReason,
  acknowledgement: r.acknowledgedAt ? { by: r.acknowledgedBy ?? '', at: r.acknowledgedAt, comment: r.acknowledgeComment } : null,
  silencedBy: r.silencedBy,
  flapping: r.flapping,
  updatedAt: r.updatedAt,
});

/** An alert with what only the evaluators keep: the streak and the next reminder. */
export interface StoredAlert extends Alert {
  streak: number;
  nextReminderAt: Date | null;
}

const toStored = (r: AlertRow): StoredAlert => ({ ...toAlert(r), streak: r.streak, nextReminderAt: r.nextReminderAt });

const STATE_RANK = sql`(case ${alerts.state} when 'firing' then 0 when 'pending' then 1 else 2 end)`;
const SEVERITY_RANK = sql`(case ${alerts.severity} when 'critical' then 0 when 'warning' then 1 else 2 end)`;

export function alertFilterSql(f: AlertFilter): SQL {
  const parts: SQL[] = [sql`true`];
  if (f.state?.length) parts.push(inArray(alerts.state, f.state)!);
  if (f.severity?.length) parts.push(inArray(alerts.severity, f.severity)!);
  if (f.ruleId) parts.push(eq(alerts.ruleId, f.ruleId));
  if (f.agentId) parts.push(eq(alerts.agentId, f.agentId));
  if (f.acknowledged !== undefined) parts.push(f.acknowledged ? sql`${alerts.acknowledgedAt} is not null` : sql`${alerts.acknowledgedAt} is null`);
  if (f.silenced !== undefined) parts.push(f.silenced ? sql`cardinality(${alerts.silencedBy}) > 0` : sql`cardinality(${alerts.silencedBy}) = 0`);
  return sql.join(parts, sql` and `);
}

/** The connection's order: firing first, then pending, then resolved; by severity; newest first. */
export interface AlertCursor {
  s: number;
  v: number;
  t: string;
  id: string;
}

/** The SQL of alerts (rules: rules.store.ts; silences: silences.store.ts). */
export const alertStore = {
  /** Open (pending or firing) alerts of some agents, optionally of some rules only. */
  async openForAgents(db: Db, agentIds: string[], ruleIds?: string[]): Promise<StoredAlert[]> {
    if (agentIds.length === 0 || ruleIds?.length === 0) return [];
    const rows = await db
      .select()
      .from(alerts)
      .where(and(ne(alerts.state, 'resolved'), inArray(alerts.agentId, agentIds), ruleIds ? inArray(alerts.ruleId, ruleIds) : undefined));
    return rows.map(toStored);
  },

  async openForRules(db: Db, ruleIds: string[]): Promise<StoredAlert[]> {
    if (ruleIds.length === 0) return [];
    return (await db.select().from(alerts).where(and(ne(alerts.state, 'resolved'), inArray(alerts.ruleId, ruleIds)))).map(toStored);
  },

  async byIds(db: Db, ids: string[]): Promise<StoredAlert[]> {
    if (ids.length === 0) return [];
    return (await db.select().from(alerts).where(inArray(alerts.id, ids))).map(toStored);
  },

  /** Open alerts, filtered by a condition on the table (the ticker's selections). */
  async open(db: Db, where: SQL, limit = 10_000): Promise<StoredAlert[]> {
    return (await db.select().from(alerts).where(and(ne(alerts.state, 'resolved'), where)).limit(limit)).map(toStored);
  },

  /**
   * Open alerts of status and flapping rules with a wait that is over: pending ones past
   * their rule's `for`, firing ones whose condition cleared longer ago than
   * keep_firing_for; and every open flapping alert (its count can drop with time alone).
   */
  async dueWaits(db: Db, now: Date, limit = 5_000): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await db.execute(sql`
        select a.id from alerts a join alert_rules r on r.id = a.rule_id
        where a.state <> 'resolved' and a.rule_kind in ('agent_status', 'flapping') and (
          (a.state = 'pending' and a.started_at + make_interval(secs => r.for_seconds) <= ${now})
          or (a.clearing_since is not null and a.clearing_since + make_interval(secs => r.keep_firing_for_seconds) <= ${now})
          or a.rule_kind = 'flapping')
        limit ${limit}`),
    );
    return rows.map((r) => r.id);
  },

  /** Open alerts flagged flapping (the flag may clear with time alone). */
  async flappingIds(db: Db, limit = 5_000): Promise<string[]> {
    const rows = await db.select({ id: alerts.id }).from(alerts).where(and(ne(alerts.state, 'resolved'), eq(alerts.flapping, true))).limit(limit);
    return rows.map((r) => r.id);
  },

  /** Firing alerts, unacknowledged and unsilenced, whose reminder is due. */
  async dueReminders(db: Db, now: Date, limit = 1_000): Promise<string[]> {
    const rows = await db
      .select({ id: alerts.id })
      .from(alerts)
      .where(and(eq(alerts.state, 'firing'), sql`${alerts.nextReminderAt} <= ${now}`, sql`${alerts.acknowledgedAt} is null`, sql`cardinality(${alerts.silencedBy}) = 0`))
      .limit(limit);
    return rows.map((r) => r.id);
  },

  /** Writes alerts as they now are, new or changed, in one statement. */
  async save(tx: Db, list: StoredAlert[]): Promise<void> {
    if (list.length === 0) return;
    const json = list.map((a) => ({
      id: a.id,
      rule_id: a.ruleId,
      rule_name: a.ruleName,
      rule_kind: a.ruleKind,
      agent_id: a.agentId,
      agent: a.agent,
      state: a.state,
      severity: a.severity,
      labels: a.labels,
      summary: a.summary,
      description: a.description,
      value: a.value,
      started_at: a.startedAt,
      fired_at: a.firedAt,
      resolved_at: a.resolvedAt,
      clearing_since: a.clearingSince,
      resolve_reason: a.resolveReason,
      streak: a.streak,
      acknowledged_at: a.acknowledgement?.at ?? null,
      acknowledged_by: a.acknowledgement?.by ?? null,
      acknowledge_comment: a.acknowledgement?.comment ?? null,
      silenced_by: a.silencedBy,
      flapping: a.flapping,
      next_reminder_at: a.nextReminderAt,
      updated_at: a.updatedAt,
    }));
    await tx.execute(sql`
      insert into alerts (id, rule_id, rule_name, rule_kind, agent_id, agent, state, severity, labels, summary, description, value, started_at, fired_at,
                          resolved_at, clearing_since, resolve_reason, streak, acknowledged_at, acknowledged_by, acknowledge_comment, silenced_by, flapping,
                          next_reminder_at, updated_at)
      select id, rule_id, rule_name, rule_kind, agent_id, agent, state, severity, labels, summary, description, value, started_at, fired_at,
             resolved_at, clearing_since, resolve_reason, streak, acknowledged_at, acknowledged_by, acknowledge_comment, silenced_by, flapping,
             next_reminder_at, updated_at
      from jsonb_to_recordset(${JSON.stringify(json)}::jsonb) as r(
        id uuid, rule_id uuid, rule_name varchar, rule_kind alert_rule_kind, agent_id uuid, agent jsonb, state alert_state, severity alert_severity,
        labels jsonb, summary text, description text, value float8, started_at timestamptz, fired_at timestamptz, resolved_at timestamptz,
        clearing_since timestamptz, resolve_reason text, streak int, acknowledged_at timestamptz, acknowledged_by varchar, acknowledge_comment text,
        silenced_by uuid[], flapping boolean, next_reminder_at timestamptz, updated_at timestamptz)
      on conflict (id) do update set
        state = excluded.state, severity = excluded.severity, labels = excluded.labels, summary = excluded.summary, description = excluded.description,
        value = excluded.value, agent = excluded.agent, rule_name = excluded.rule_name, fired_at = excluded.fired_at, resolved_at = excluded.resolved_at,
        clearing_since = excluded.clearing_since, resolve_reason = excluded.resolve_reason, streak = excluded.streak,
        acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by, acknowledge_comment = excluded.acknowledge_comment,
        silenced_by = excluded.silenced_by, flapping = excluded.flapping, next_reminder_at = excluded.next_reminder_at, updated_at = excluded.updated_at
    `);
  },

  async get(db: Db, id: string): Promise<Alert | undefined> {
    const [row] = await db.select().from(alerts).where(eq(alerts.id, id));
    return row && toAlert(row);
  },

  /** One page of the connection, after a cursor, in the connection's order. */
  async page(db: Db, filter: AlertFilter, after: AlertCursor | undefined, limit: number): Promise<{ alert: Alert; cursor: AlertCursor }[]> {
    const key = sql`(${STATE_RANK}, ${SEVERITY_RANK}, -extract(epoch from ${alerts.startedAt}), ${alerts.id})`;
    const where = and(alertFilterSql(filter), after ? sql`${key} > (${after.s}, ${after.v}, ${-Date.parse(after.t) / 1000}::float8, ${after.id}::uuid)` : undefined);
    const rows = await db
      .select()
      .from(alerts)
      .where(where)
      .orderBy(STATE_RANK, SEVERITY_RANK, desc(alerts.startedAt), asc(alerts.id))
      .limit(limit);
    return rows.map((r) => ({
      alert: toAlert(r),
      cursor: { s: r.state === 'firing' ? 0 : r.state === 'pending' ? 1 : 2, v: r.severity === 'critical' ? 0 : r.severity === 'warning' ? 1 : 2, t: r.startedAt.toISOString(), id: r.id },
    }));
  },

  count(db: Db, filter: AlertFilter): Promise<number> {
    return db.$count(alerts, alertFilterSql(filter));
  },

  /** Open alerts by state and severity, and how many of them are acknowledged or silenced. */
  async counts(db: Db) {
    const rows = rowsOf<{ state: string; severity: string; muted: boolean; acked: boolean; n: number }>(
      await db.execute(sql`
        select state, severity, cardinality(silenced_by) > 0 as muted, acknowledged_at is not null as acked, count(*)::int as n
        from alerts where state <> 'resolved' group by 1, 2, 3, 4`),
    );
    return rows;
  },

  /** The alerts of some agents, newest first, up to `limit` each (Agent.alerts). */
  async forAgents(db: Db, agentIds: string[], openOnly: boolean, limit: number): Promise<Map<string, Alert[]>> {
    const result = new Map<string, Alert[]>(agentIds.map((id) => [id, []]));
    if (agentIds.length === 0) return result;
    const rows = rowsOf<{ id: string }>(
      await db.execute(sql`
        select x.id from unnest(${sql.param(agentIds)}::uuid[]) as a(id)
        cross join lateral (select id from alerts where agent_id = a.id ${openOnly ? sql`and state <> 'resolved'` : sql``}
                            order by started_at desc limit ${limit}) x`),
    );
    const full = await alertStore.byIds(db, rows.map((r) => r.id));
    const order = new Map(rows.map((r, i) => [r.id, i]));
    for (const a of full.sort((x, y) => order.get(x.id)! - order.get(y.id)!)) result.get(a.agentId)?.push(a);
    return result;
  },

  /** Agents as alerts keep them: all of them, or some. */
  async agentRefs(db: Db, ids?: string[]): Promise<AgentRef[]> {
    if (ids && ids.length === 0) return [];
    return rowsOf<AgentRef>(
      await db.execute(sql`
        select a.id, a.name, a.type, a.host, a.port, a.environment, a.status, a.metadata,
               coalesce(array(select t.tag from agent_tags t where t.agent_id = a.id order by t.tag), '{}') as tags
        from agents a ${ids ? sql`where a.id = any(${sql.param(ids)}::uuid[])` : sql``}`),
    );
  },

  /** Status changes per agent since `since` (flapping rules count them from the log). */
  async statusChanges(db: Db, agentIds: string[], since: Date): Promise<Map<string, number>> {
    if (agentIds.length === 0) return new Map();
    const rows = rowsOf<{ id: string; n: number }>(
      await db.execute(sql`
        select subject_id as id, count(*)::int as n from events
        where subject_kind = 'agent' and type = 'status_changed' and subject_id = any(${sql.param(agentIds)}::text[]) and at > ${since}
        group by 1`),
    );
    return new Map(rows.map((r) => [r.id, r.n]));
  },
};
