import { sql } from 'drizzle-orm';
import type { AgentStatus } from '../agents/agents.types';
import { agentEventStatusesSql } from '../agents/agents.events.sql';
import { rowsOf, type Db } from '../db';

/** The SQL of the fleet availability roll-up. */
export const availabilityStore = {
  /**
   * Adds to their minutes what these agent events (by id) did to the fleet's counts: a
   * registration adds its agent's status, a transition moves one from the status before
   * to the one after, a deregistration takes the status before away.
   */
  async addEvents(tx: Db, ids: bigint[]): Promise<void> {
    if (ids.length === 0) return;
    const s = agentEventStatusesSql('e');
    await tx.execute(sql`
      insert into agent_status_minutes (minute, status, delta)
      select date_bin(interval '1 minute', e.at, timestamptz 'epoch'), c.status::agent_status, sum(c.delta)::int
      from events e cross join lateral (values
        (case e.type when 'registered' then ${s.agent} when 'status_changed' then ${s.status} end, 1),
        (case e.type when 'status_changed' then ${s.previous} when 'deregistered' then coalesce(${s.previous}, ${s.agent}) end, -1)
      ) as c(status, delta)
      where e.id = any(${sql.param(ids.map(String))}::bigint[]) and c.status is not null
      group by 1, 2 having sum(c.delta) <> 0
      on conflict (minute, status) do update set delta = agent_status_minutes.delta + excluded.delta
    `);
  },

  /**
   * The counts before `from`, and the net change in each `stepSeconds` step from there up
   * to `to` (step index, status, change).
   */
  async range(db: Db, from: Date, to: Date, stepSeconds: number) {
    const base = await db.execute(sql`
      select status, sum(delta)::int as n from agent_status_minutes where minute < ${from.toISOString()}::timestamptz group by status
    `);
    const steps = await db.execute(sql`
      select floor(extract(epoch from minute - ${from.toISOString()}::timestamptz) / ${stepSeconds})::int as step, status, sum(delta)::int as n
      from agent_status_minutes
      where minute >= ${from.toISOString()}::timestamptz and minute < ${to.toISOString()}::timestamptz
      group by 1, 2
    `);
    type Row = { status: AgentStatus; n: number };
    return {
      base: rowsOf<Row>(base),
      steps: rowsOf<Row & { step: number }>(steps),
    };
  },

  /** The number of agents in each status as the roll-up has it: every delta so far, summed. */
  async totals(db: Db): Promise<Record<AgentStatus, number>> {
    const result = await db.execute(sql`select status, sum(delta)::int as n from agent_status_minutes group by status`);
    const totals = { online: 0, degraded: 0, offline: 0 };
    for (const r of rowsOf<{ status: AgentStatus; n: number }>(result)) totals[r.status] = r.n;
    return totals;
  },
};
