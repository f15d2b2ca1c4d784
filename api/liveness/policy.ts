import { sql, type SQL } from 'drizzle-orm';
import type { AgentStatus } from '../agents/agents.types';

export type Health = 'healthy' | 'degraded' | 'unhealthy';

/**
 * The liveness rules, in one place: when an agent is due, what its health makes its
 * status, which heartbeats are stale, what each transition is called, and the grace
 * after the server's own outage. The SQL that the heartbeat batch and the sweeper run
 * is built from the fragments here, so code and SQL cannot drift apart.
 */
export class LivenessPolicy {
  constructor(
    /** Intervals an agent may miss before it is offline. */
    readonly missedHeartbeats: number,
    /**
     * A gap this long with no sweep anywhere means the server (every replica) or its
     * database was away: agents could not reach us, so they get a grace period.
     */
    readonly outageGapMs: number,
  ) {}

  /** How long an agent with this interval stays up without a heartbeat. */
  deadlineMs(intervalSeconds: number): number {
    return intervalSeconds * this.missedHeartbeats * 1000;
  }

  /** `now + missedHeartbeats × interval`. */
  deadline(now: Date, intervalSeconds: number): Date {
    return new Date(now.getTime() + this.deadlineMs(intervalSeconds));
  }

  deadlineSql(now: SQL | Date, intervalSeconds: SQL): SQL {
    return sql`${now}::timestamptz + make_interval(secs => ${intervalSeconds} * ${sql.raw(String(this.missedHeartbeats))})`;
  }

  /** Heartbeats arrive: the health the agent reports decides between online and degraded. */
  statusOf(health: Health): AgentStatus {
    return health === 'healthy' ? 'online' : 'degraded';
  }

  statusSql(health: SQL): SQL {
    return sql`(case when ${health} = 'healthy' then 'online'::agent_status else 'degraded'::agent_status end)`;
  }

  /**
   * A heartbeat whose sequence is below the last one seen proves the agent alive, but its
   * health is older news than what we have, so it is not applied.
   */
  isStale(sequence: number | null, lastSequence: number | null): boolean {
    return sequence !== null && lastSequence !== null && sequence < lastSequence;
  }

  staleSql(sequence: SQL, lastSequence: SQL): SQL {
    return sql`(${sequence} is not null and ${lastSequence} is not null and ${sequence} < ${lastSequence})`;
  }

  /** A newly registered (or re-registered) agent: online and healthy, with a full deadline, counting sequences afresh. */
  initial(now: Date, intervalSeconds: number) {
    return {
      status: 'online' as const,
      health: 'healthy' as const,
      healthMessage: null,
      lastSequence: null,
      offlineAt: this.deadline(now, intervalSeconds),
    };
  }

  /** Whether the time since sweeping last ran anywhere means the server was away. */
  isOutage(gapMs: number | null): boolean {
    // No sweep ever recorded: a database from before sweeps were recorded, or a new one
    // (which has no agents to spare). Either way granting grace is the safe side.
    return gapMs === null || gapMs > this.outageGapMs;
  }

  /** Why an agent went offline, over the columns of its row (the sweep writes it in SQL). */
  offlineReasonSql(row: string): SQL {
    const r = (c: string) => sql.raw(`${row}.${c}`);
    const intervals = sql`${sql.raw(String(this.missedHeartbeats))} || ' × ' || ${r('heartbeat_interval_seconds')} || ' s'`;
    return sql`(case
      when ${r('grace_until')} = ${r('offline_at')} then 'no heartbeat within the grace period after the server was unavailable (' || ${intervals} || ')'
      when ${r('last_heartbeat')} is null then 'no heartbeat for ' || ${intervals} || ' since registration'
      else 'no heartbeat for ' || ${intervals} end)`;
  }

  readonly reasons = {
    heartbeat: (previous: AgentStatus, status: AgentStatus, health: Health, message: string | null): string => {
      if (status === 'degraded') return `agent reported ${health}${message ? `: ${message}` : ''}`;
      return previous === 'offline' ? 'heartbeat received' : 'agent reported healthy';
    },
    reregistered: 'agent registered again',
  };
}
