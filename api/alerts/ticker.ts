import { sql } from 'drizzle-orm';
import type { Db } from '../db';
import { ALERT_KIND } from './alerts.events';
import { alertStore, type StoredAlert } from './alerts.store';
import { AlertBatch } from './lifecycle';
import { evaluateMetricRule, METRIC_KINDS } from './metric.evaluator';
import { sameIds, silencesOf } from './silences';
import { activeSilences, evaluateFlapping, statusHolds, type EvaluatorDeps } from './status.consumer';
import { ruleStore } from './rules.store';

export interface TickerDeps extends EvaluatorDeps {
  db: Db;
  tickMs: number;
  evalIntervalMs: number;
  rawRetentionDays: number;
  onError(what: string, err: unknown): void;
  /** The status consumer, nudged each round in case a wake-up signal was lost with its connection. */
  consumer?: { active: boolean; wake(): void };
}

/**
 * The time-driven half of evaluation, on every replica: each kind of work runs on one
 * replica per round (a try-lock taken without writing, so the alerts it changes can
 * still be locked first, EventLog.lockSubjects), re-reads what it changes under those
 * locks, and writes it in one transaction with the events and notifications. Metric
 * rules are claimed one by one the same way.
 */
export class AlertTicker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** The silences active at this replica's last look; a change makes it apply them again. */
  private lastActive?: string;

  constructor(private readonly deps: TickerDeps) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.tick().finally(() => (this.running = undefined));
    }, this.deps.tickMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async tick(): Promise<void> {
    if (this.deps.consumer?.active) this.deps.consumer.wake();
    const steps: [string, () => Promise<unknown>][] = [
      ['metric rules', () => this.metricRules()],
      ['alert waits', () => this.waits()],
      ['silences', () => this.silences()],
      ['reminders', () => this.reminders()],
      ['flapping flags', () => this.flapping()],
    ];
    for (const [what, run] of steps) await run().catch((err) => this.deps.onError(what, err));
  }

  async metricRules(): Promise<void> {
    const due = await ruleStore.dueRuleIds(this.deps.db, this.deps.clock.now(), [...METRIC_KINDS]);
    for (const id of due) await evaluateMetricRule({ ...this.deps, intervalMs: this.deps.evalIntervalMs }, id);
  }

  /** Runs `work` on the alerts `select` picks, once across replicas, with those alerts locked and read again. */
  private job(name: string, select: (tx: Db, now: Date) => Promise<string[]>, work: (tx: Db, batch: AlertBatch, alerts: StoredAlert[]) => Promise<void>): Promise<void> {
    const { events, clock } = this.deps;
    return events.transaction(async (tx) => {
      if (!(await ruleStore.tryJobLock(tx, name))) return;
      const now = clock.now();
      const ids = await select(tx, now);
      if (ids.length === 0) return;
      const locked = await events.lockSubjects(tx, ALERT_KIND, ids);
      const alerts = (await alertStore.byIds(tx, locked)).filter((a) => a.state !== 'resolved');
      const batch = new AlertBatch(this.deps, now, await activeSilences(tx, now));
      await work(tx, batch, alerts);
      await batch.commit(tx);
    });
  }

  /** Pending alerts whose `for` is over, cleared ones whose keep_firing_for is over, flapping counts. */
  waits(): Promise<void> {
    return this.job('waits', (tx, now) => alertStore.dueWaits(tx, now), async (tx, batch, list) => {
      const rules = await ruleStore.rulesByIds(tx, [...new Set(list.map((a) => a.ruleId!))]);
      const agents = new Map((await alertStore.agentRefs(tx, [...new Set(list.map((a) => a.agentId))])).map((a) => [a.id, a]));
      const flapping = new Map<string, StoredAlert>();
      for (const alert of list) {
        const rule = rules.get(alert.ruleId!);
        const agent = agents.get(alert.agentId);
        if (!rule || !agent) continue;
        if (rule.kind === 'flapping') flapping.set(`${rule.id}:${agent.id}`, alert);
        else batch.step(rule, alert, { holds: rule.enabled && statusHolds(rule, agent), value: null, agent });
      }
      const flapRules = [...rules.values()].filter((r) => r.kind === 'flapping');
      const flapAgents = [...new Set(list.filter((a) => a.ruleKind === 'flapping').map((a) => a.agentId))].map((id) => agents.get(id)).filter((a) => a !== undefined);
      await evaluateFlapping(tx, batch, flapRules, flapAgents, flapping, batch.now);
    });
  }

  /** Applies silences that began or ended (or whose window opened or closed) since this replica last looked. */
  async silences(): Promise<void> {
    const active = await activeSilences(this.deps.db, this.deps.clock.now());
    const signature = active.map((s) => s.id).sort().join(',');
    if (signature === this.lastActive) return;
    await this.job('silences', async (tx) => (await alertStore.open(tx, sql`true`, 100_000)).filter((a) => !sameIds(a.silencedBy, silencesOf(a, active))).map((a) => a.id), async (_tx, batch, list) => {
      // The silences as read under the alerts' locks, not `active`: a silence changed since
      // (updateSilence) has been applied by its own transaction, which this one waited for.
      for (const a of list) batch.applySilences(a, silencesOf(a, batch.silences));
    });
    this.lastActive = signature;
  }

  /** Alerts flagged flapping whose agent's status changes may have aged out of the window. */
  flapping(): Promise<void> {
    if (!this.deps.flap?.changes) return Promise.resolve();
    return this.job('flapping', (tx) => alertStore.flappingIds(tx), async (_tx, batch, list) => {
      for (const a of list) batch.recheck(a);
    });
  }

  /** Reminders of alerts still firing, unacknowledged and unsilenced. */
  reminders(): Promise<void> {
    return this.job('reminders', (tx, now) => alertStore.dueReminders(tx, now), async (tx, batch, list) => {
      const due = list.filter((a) => a.state === 'firing' && a.acknowledgement === null && a.silencedBy.length === 0 && a.nextReminderAt && a.nextReminderAt <= batch.now);
      const routed = await this.deps.notifier.route(tx, due.map((alert) => ({ alert, event: 'reminder' as const })), batch.now);
      await routed.enqueue();
      for (const a of due) batch.touch({ ...a, nextReminderAt: routed.reminders.get(a.id) ?? null });
    });
  }
}
