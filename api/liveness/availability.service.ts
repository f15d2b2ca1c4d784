import type { AgentStatus } from '../agents/agents.types';
import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { Db } from '../db';
import { badInput } from '../errors';
import { availabilityStore } from './availability.store';

export interface AvailabilityPoint {
  /** The end of the step: the counts are those at this instant. */
  at: Date;
  online: number;
  degraded: number;
  offline: number;
}

const DAY = 86_400_000;
/** Most points one answer holds. */
export const MAX_POINTS = 2_000;
/** How far back a range may start. */
export const MAX_RANGE_DAYS = 400;

/** The fleet's status counts over time, from the roll-up the availability consumer keeps. */
export class AvailabilityService {
  constructor(private readonly deps: { db: Db; clock: Clock }) {}

  async history(principal: Principal | undefined, args: { from?: Date | null; to?: Date | null; stepSeconds?: number | null }) {
    authorize(principal, 'read');
    const now = this.deps.clock.now();
    const to = args.to ?? now;
    const from = args.from ?? new Date(to.getTime() - DAY);
    const span = to.getTime() - from.getTime();
    const fields: Record<string, string> = {};
    if (span <= 0) fields.from = 'must be before `to`';
    if (now.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY) fields.from = `must be within the last ${MAX_RANGE_DAYS} days`;
    // By default about 300 points, in whole minutes.
    const stepSeconds = args.stepSeconds ?? Math.max(60, Math.ceil(span / 300 / 60_000) * 60);
    if (stepSeconds < 60 || stepSeconds % 60 !== 0) fields.stepSeconds = 'must be a whole number of minutes (60, 120, …)';
    else if (span / (stepSeconds * 1000) > MAX_POINTS) fields.stepSeconds = `gives more than ${MAX_POINTS} points for this range; use a larger step`;
    if (Object.keys(fields).length > 0) throw badInput(fields);

    const { base, steps } = await availabilityStore.range(this.deps.db, from, to, stepSeconds);
    const counts: Record<AgentStatus, number> = { online: 0, degraded: 0, offline: 0 };
    for (const r of base) counts[r.status] = r.n;
    const n = Math.ceil(span / (stepSeconds * 1000));
    const changes = Array.from({ length: n }, () => ({ online: 0, degraded: 0, offline: 0 }));
    for (const r of steps) if (r.step >= 0 && r.step < n) changes[r.step][r.status] += r.n;
    const points: AvailabilityPoint[] = changes.map((change, i) => {
      for (const status of ['online', 'degraded', 'offline'] as const) counts[status] += change[status];
      return { at: new Date(Math.min(from.getTime() + (i + 1) * stepSeconds * 1000, to.getTime())), ...counts };
    });
    return { from, to, stepSeconds, points };
  }
}
