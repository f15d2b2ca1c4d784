import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Db } from '../db';
import type { EventLog } from '../events/events.log';
import { ALERT_KIND, alertEvent, type AlertChange, type AlertEventType } from './alerts.events';
import { alertStore, type StoredAlert } from './alerts.store';
import type { AgentRef, Alert, Matcher, Rule } from './alerts.types';
import { sameIds, silencesOf } from './silences';
import { render } from './template';

/** What the notifications domain offers the alerts: enqueueing, in the transaction of the transition. */
export interface Notifier {
  /**
   * Routes notifications, one per channel that the routing policies pick (resolutions go
   * to the channels that were told the alert fired). Returns, for each alert notified
   * as firing or reminded of, when its next reminder is due (null: none), and `enqueue`,
   * which writes them: each referring to the event that carries its transition where
   * `eventIds` names one (by item), else holding its alert (a reminder has no event).
   */
  route(
    tx: Db,
    items: { alert: Alert; event: 'firing' | 'resolved' | 'reminder' }[],
    now: Date,
  ): Promise<{ reminders: Map<string, Date | null>; enqueue(eventIds?: readonly bigint[]): Promise<void> }>;
}

/**
 * When an alert's agent counts as flapping: at least `changes` status changes within
 * `windowSeconds` (0 changes: never). Nagios-like, the flag sits beside the state.
 */
export interface FlapSettings {
  changes: number;
  windowSeconds: number;
}

/** One evaluation of a rule for one agent: whether its condition holds, and the value it saw. */
export interface Evaluation {
  holds: boolean;
  value: number | null;
  agent: AgentRef;
  metric?: string;
}

const ms = (s: number) => s * 1000;

function text(rule: Rule, e: Evaluation) {
  const ctx = { agent: e.agent, rule: { name: rule.name, severity: rule.severity }, value: e.value, metric: e.metric, labels: rule.labels };
  return { summary: render(rule.summary, ctx), description: render(rule.description, ctx) };
}

/** Whether the rule's name, severity or labels differ from those its open alert carries. */
const ruleEdited = (a: StoredAlert, rule: Rule) => a.ruleName !== rule.name || a.severity !== rule.severity || !isDeepStrictEqual({ ...a.labels }, { ...rule.labels });

/** Whether two views of an agent agree on everything an alert keeps of it (tags in order, metadata whatever its key order). */
const sameAgent = (a: AgentRef, b: AgentRef) =>
  a === b ||
  (a.id === b.id && a.name === b.name && a.type === b.type && a.host === b.host && a.port === b.port && a.environment === b.environment && a.status === b.status &&
    sameIds(a.tags, b.tags) && isDeepStrictEqual({ ...a.metadata }, { ...b.metadata }));

/**
 * The transitions of one (rule, agent) episode, as a collector: evaluators call `step`
 * with what they saw, operators' actions call `change`, and `commit` writes the rows,
 * appends the events and enqueues the notifications, all in the caller's transaction.
 * Alerts it changes must have been locked by the caller (EventLog.lockSubjects) before
 * the transaction's first write; those it creates are new subjects.
 */
export class AlertBatch {
  private readonly current = new Map<string, StoredAlert>();
  private readonly created = new Set<string>();
  private readonly changes: AlertChange[] = [];
  /** Open alerts whose flapping flag is looked at again on commit, though nothing else changed. */
  private readonly rechecks = new Map<string, StoredAlert>();

  constructor(
    private readonly deps: { events: EventLog; notifier: Notifier; flap?: FlapSettings },
    readonly now: Date,
    /** Silences active now, read under the batch's alert locks; new alerts are born silenced by those that match. */
    readonly silences: { id: string; matchers: Matcher[] }[],
  ) {}

  get size(): number {
    return this.changes.length;
  }

  /** Has `commit` look at an open alert's flapping flag again (its agent's status changed, or time passed). */
  recheck(alert: StoredAlert): void {
    if (alert.state !== 'resolved') this.rechecks.set(alert.id, alert);
  }

  /** Records a change of an alert and its event; `alert` is the alert as it is after it. */
  change(alert: StoredAlert, type: AlertEventType, extra: { by?: string | null; comment?: string | null; reason?: string | null } = {}): void {
    const next = { ...alert, updatedAt: this.now };
    this.current.set(alert.id, next);
    this.changes.push({ type, alert: next, ...extra });
  }

  /** Keeps a changed field (a value, a streak) without an event. */
  touch(alert: StoredAlert): void {
    this.current.set(alert.id, { ...alert, updatedAt: this.now });
  }

  /** Records a change of the silences muting an alert: an event when it becomes muted or unmuted. */
  applySilences(a: StoredAlert, ids: string[], by?: string): void {
    if (sameIds(a.silencedBy, ids)) return;
    const next = { ...a, silencedBy: ids };
    if (a.silencedBy.length === 0) this.change(next, 'silenced', { by, reason: `silenced by ${ids.join(', ')}` });
    else if (ids.length === 0) this.change(next, 'unsilenced', { by, reason: 'no silence matches any more' });
    else this.touch(next);
  }

  /**
   * Keeps an open alert's agent as it is now: its tags and metadata are what silences
   * match, so an agent tagged into (or out of) a silence's selection mutes (or unmutes)
   * the alerts it already has, not only those it gets next. `alert` is the alert as it
   * was stored; the silences are matched again only when its agent (or, with
   * `ruleEdited`, its rule's labels) changed. Returns the alert as it now stands.
   */
  refreshAgent(alert: StoredAlert, agent: AgentRef, ruleEdited = false): StoredAlert {
    const current = this.current.get(alert.id) ?? alert;
    const moved = !sameAgent(alert.agent, agent);
    if (current.state === 'resolved' || (!moved && !ruleEdited)) return current;
    const next = { ...current, agent };
    const ids = silencesOf(next, this.silences);
    if (!sameIds(current.silencedBy, ids)) this.applySilences(next, ids);
    else if (!sameAgent(current.agent, agent)) this.touch(next);
    return this.current.get(alert.id) ?? current;
  }

  /**
   * Moves the episode of `rule` for an agent one step, given whether its condition holds
   * now: opens it (pending, or firing at once when it needs no wait), fires a pending
   * one whose wait is over, resolves one whose condition cleared (after
   * keep_firing_for), or leaves it. Returns the alert as it now stands, if open.
   */
  step(rule: Rule, open: StoredAlert | undefined, e: Evaluation, at: Date = this.now): StoredAlert | undefined {
    const now = this.now;
    if (e.holds) {
      if (!open) {
        const immediate = rule.consecutive !== null ? rule.consecutive <= 1 : rule.forSeconds === 0;
        const base = {
          id: randomUUID(),
          ruleId: rule.id,
          ruleName: rule.name,
          ruleKind: rule.kind,
          agentId: e.agent.id,
          agent: e.agent,
          severity: rule.severity,
          labels: rule.labels,
          value: e.value,
          startedAt: at,
          firedAt: immediate ? at : null,
          resolvedAt: null,
          clearingSince: null,
          resolveReason: null,
          streak: 1,
          acknowledgement: null,
          silencedBy: [] as string[],
          flapping: false,
          nextReminderAt: null,
          updatedAt: now,
          state: immediate ? ('firing' as const) : ('pending' as const),
          ...text(rule, e),
        };
        const alert: StoredAlert = { ...base, silencedBy: silencesOf(base, this.silences) };
        this.created.add(alert.id);
        this.change(alert, alert.state);
        return this.current.get(alert.id);
      }
      // The rule as it is now: an edit of its name, severity or labels reaches the alerts it has open.
      const edited = ruleEdited(open, rule);
      const seen = { ...open, ruleName: rule.name, severity: rule.severity, labels: rule.labels, value: e.value, agent: e.agent, ...text(rule, e) };
      if (open.state === 'pending') {
        const streak = open.streak + 1;
        const due = rule.consecutive !== null ? streak >= rule.consecutive : now.getTime() - open.startedAt.getTime() >= ms(rule.forSeconds);
        if (due) this.change({ ...seen, streak, state: 'firing', firedAt: now }, 'firing');
        else this.touch({ ...seen, streak });
      } else if (open.clearingSince) {
        this.change({ ...seen, clearingSince: null }, 'firing', { reason: 'the condition holds again' });
      } else if (seen.value !== open.value || seen.summary !== open.summary || seen.description !== open.description || edited) {
        this.touch(seen);
      }
      return this.refreshAgent(open, e.agent, edited);
    }
    if (!open) return undefined;
    if (open.state === 'pending') {
      this.resolve(open, 'the condition cleared before the alert fired');
      return undefined;
    }
    const keep = ms(rule.keepFiringForSeconds);
    if (keep > 0) {
      if (!open.clearingSince) {
        this.change({ ...open, clearingSince: now, value: e.value ?? open.value }, 'clearing', { reason: `the condition cleared; it keeps firing for ${rule.keepFiringForSeconds} s` });
        return this.current.get(open.id);
      }
      if (now.getTime() - open.clearingSince.getTime() < keep) return open;
    }
    this.resolve(open, 'the condition cleared');
    return undefined;
  }

  resolve(open: StoredAlert, reason: string): void {
    this.change({ ...open, state: 'resolved', resolvedAt: this.now, clearingSince: null, resolveReason: reason, nextReminderAt: null }, 'resolved', { reason });
  }

  /**
   * Sets the flapping flag of the open alerts this batch touched or was asked to recheck,
   * from their agents' status changes in the log: a new alert is born with it, an
   * existing one whose flag turns gets a `flapping` or `stable` event.
   */
  private async flag(tx: Db): Promise<void> {
    const flap = this.deps.flap;
    if (!flap || flap.changes <= 0) return;
    const open = new Map(this.rechecks);
    for (const a of this.current.values()) {
      if (a.state === 'resolved') open.delete(a.id);
      else open.set(a.id, a);
    }
    if (open.size === 0) return;
    const since = new Date(this.now.getTime() - flap.windowSeconds * 1000);
    const counts = await alertStore.statusChanges(tx, [...new Set([...open.values()].map((a) => a.agentId))], since);
    for (const a of open.values()) {
      const n = counts.get(a.agentId) ?? 0;
      const flapping = n >= flap.changes;
      if (a.flapping === flapping) continue;
      if (this.created.has(a.id)) {
        // Born flapping: every snapshot of it says so, with no event of its own.
        a.flapping = flapping;
        for (const c of this.changes) if (c.alert.id === a.id) c.alert.flapping = flapping;
      } else {
        const reason = `${n} status changes of the agent in the last ${flap.windowSeconds} s`;
        this.change({ ...a, flapping }, flapping ? 'flapping' : 'stable', { reason });
      }
    }
  }

  /** Writes everything recorded, appends the events in order and enqueues the notifications. */
  async commit(tx: Db): Promise<Alert[]> {
    await this.flag(tx);
    if (this.current.size === 0) return [];
    const { events, notifier } = this.deps;
    for (const id of this.created) events.created(tx, ALERT_KIND, id);
    // Each notification is told by the event of its change (`change`: its index).
    const items: { alert: Alert; event: 'firing' | 'resolved'; change: number }[] = [];
    this.changes.forEach((c, change) => {
      const a = this.current.get(c.alert.id)!;
      if (c.type === 'firing' && a.state === 'firing' && !c.alert.clearingSince && c.reason === undefined && a.silencedBy.length === 0) items.push({ alert: c.alert, event: 'firing', change });
      else if (c.type === 'unsilenced' && c.alert.state === 'firing') items.push({ alert: c.alert, event: 'firing', change });
      else if (c.type === 'resolved' && c.alert.firedAt) items.push({ alert: c.alert, event: 'resolved', change });
    });
    // Routed before anything is written: the reminders it schedules are saved with the alerts.
    const routed = items.length > 0 ? await notifier.route(tx, items, this.now) : undefined;
    for (const [id, at] of routed?.reminders ?? []) {
      const a = this.current.get(id);
      if (a && a.state === 'firing') a.nextReminderAt = at;
    }
    await alertStore.save(tx, [...this.current.values()]);
    // Events carry the alert as it stood after each change, in the order they happened.
    const ids = await events.append(tx, this.changes.map((c) => alertEvent(c)));
    await routed?.enqueue(items.map((i) => ids[i.change]));
    return [...this.current.values()];
  }
}
