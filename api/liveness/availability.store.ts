import { sql } from 'drizzle-orm';
import type { AgentStatus } from '../agents/agents.types';
import { rowsOf, type Db } from '../db';

export interface StatusDelta {
  minute: Date;
  status: AgentStatus;
  delta: number;
}

/** The SQL of the fleet availability roll-up. */
export const availabilityStore = {
  /** Adds deltas to their minutes. */
  async add(tx: Db, deltas: StatusDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    await tx.execute(sql`
      insert into agent_status_minutes (minute, status, delta)
      select * from unnest(${sql.param(deltas.map((d) => d.minute.toISOString()))}::timestamptz[],
                           ${sql.param(deltas.map((d) => d.status))}::text[]::agent_status[],
                           ${sql.param(deltas.map((d) => d.delta))}::int[])
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
