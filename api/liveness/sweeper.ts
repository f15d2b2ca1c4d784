import { AGENT_KIND } from '../agents/agents.types';
import type { Clock } from '../clock';
import type { EventLog } from '../events/events.log';
import type { LivenessStore } from './liveness.store';
import type { LivenessPolicy } from './policy';
import { withRetry } from './retry';

const BATCH = 5000;

export interface SweeperDeps {
  events: EventLog;
  store: LivenessStore;
  policy: LivenessPolicy;
  clock: Clock;
  intervalMs: number;
  onError(err: unknown): void;
  /** Told when a sweep finds the server was away and grants agents a grace period. */
  onOutage?(info: { gapMs: number | null; agents: number }): void;
}

/**
 * Marks agents offline once their deadline (`offline_at`) has passed. Every replica
 * runs one: due agents are claimed by their subject locks, skipping those another
 * transaction holds, and re-checked under the row lock, so each transition is made,
 * and recorded, by exactly one of them.
 *
 * Each sweep first records, cluster-wide, that it runs. When it finds that no sweep ran
 * anywhere for longer than the policy's outage gap, every replica (or the database)
 * was away, and agents could not have reached us: before marking anyone offline it
 * gives every agent that is not offline a full deadline from now, in the same
 * transaction. An agent that heartbeats within it never goes offline; one that does
 * not goes offline when it ends, with a reason that says so.
 */
export class OfflineSweeper {
  private timer?: NodeJS.Timeout;
  private early?: NodeJS.Timeout;
  private running?: Promise<number>;
  /** The earliest deadline before the next tick, as the last sweep found it. */
  private nextDeadline: Date | null = null;
  private aimed = 0;

  constructor(private readonly deps: SweeperDeps) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** A sweep, from the interval or (`woken`) from the timer aimed at a deadline. */
  private tick(woken = false): void {
    // A regular tick clears the timer aimed at a deadline, so its sweep may aim at it again.
    if (!woken) this.aimed = 0;
    if (this.running) return;
    clearTimeout(this.early);
    this.running = this.sweep()
      .catch((err) => (this.deps.onError(err), 0))
      .finally(() => {
        this.running = undefined;
        this.aimAt(this.nextDeadline);
      });
  }

  /**
   * Sweeps again the moment a deadline that falls before the next tick passes, so agents
   * go offline on their deadline rather than up to one interval after it. Heartbeats only
   * move deadlines later, so waking early is never too late; a deadline set meanwhile
   * that is earlier still is caught by the regular tick, as without this.
   */
  private aimAt(deadline: Date | null): void {
    // Found again by the sweep woken for it: the clock has not reached it (a test's clock
    // stands still), and aiming again would only wake for nothing; the regular tick sweeps it.
    if (!deadline || !this.timer || deadline.getTime() === this.aimed) return;
    this.aimed = deadline.getTime();
    const ms = Math.min(this.deps.intervalMs, Math.max(0, deadline.getTime() - this.deps.clock.now().getTime() + 1));
    this.early = setTimeout(() => this.tick(true), ms);
    this.early.unref();
  }

  /** The sweep in progress, if one is. */
  get sweeping(): Promise<number> | undefined {
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.early);
    await this.running;
  }

  /** Sweeps until nothing is due; returns how many agents went offline. */
  async sweep(): Promise<number> {
    let total = 0;
    this.nextDeadline = null;
    for (;;) {
      const { offline, claimed, outage } = await this.sweepBatch();
      if (outage) this.deps.onOutage?.(outage);
      total += offline;
      if (claimed < BATCH) return total;
    }
  }

  private async sweepBatch(): Promise<{ offline: number; claimed: number; outage?: { gapMs: number | null; agents: number } }> {
    const { events, store, policy, clock } = this.deps;
    return withRetry(() =>
      events.transaction(async (tx) => {
        const now = clock.now();
        const due = await store.due(tx, now, new Date(now.getTime() + this.deps.intervalMs), BATCH);
        // Subject locks before the first write (EventLog.lockSubjects).
        const claimed = await events.lockSubjects(tx, AGENT_KIND, due.ids, { skipLocked: true });
        const { gapMs } = await store.markSweep(tx);
        const outage = policy.isOutage(gapMs) ? { gapMs, agents: await store.grantGrace(tx, now) } : undefined;
        const subjects = claimed.map((id) => ({ kind: AGENT_KIND, subjectId: id }));
        const offline = await events.appendWith(tx, subjects, (at) => store.markOffline(tx, claimed, now, at));
        if (claimed.length < BATCH) this.nextDeadline = due.next;
        return { offline, claimed: claimed.length, outage };
      }),
    );
  }
}
