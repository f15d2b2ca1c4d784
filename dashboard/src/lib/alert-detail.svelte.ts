import type { Client } from '@urql/core';
import {
  AlertDeliveriesQuery,
  AlertDetailChanged,
  AlertDetailQuery,
  type AlertDetailRow,
  type AlertRow,
  type AlertTimelineEntry,
} from './alert-documents';
import type { Delivery } from './notification-documents';
import { appendEvents } from './alert-timeline';
import { describeError } from './errors';
import { Resubscriber } from './resubscribe';

/** After a change, how long to wait before reading the deliveries again: a group wait (0.5 s by default) lies between. */
export const DELIVERIES_AFTER_MS = 1500;
/** A change younger than this may still have its notification on the way. */
const RECENT_CHANGE_MS = 10_000;
/** The longest wait between reads while a delivery is pending. */
const PENDING_READ_MAX_MS = 60_000;

type Change = AlertTimelineEntry & { alert: AlertDetailRow };

/**
 * One alert with its timeline and deliveries: read once, then kept current by
 * alertChanged resumed from the timeline's last cursor, so no step between the read and
 * the subscription is lost and none is shown twice.
 */
export class AlertDetail {
  alert = $state<AlertDetailRow | null>(null);
  timeline = $state<AlertTimelineEntry[]>([]);
  deliveries = $state<Delivery[]>([]);
  loading = $state(true);
  notFound = $state(false);
  error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #live = new Resubscriber<{ data?: { alertChanged: Change } }>((r) => r.data && this.#apply(r.data.alertChanged));

  constructor(
    private readonly client: Client,
    readonly id: string,
  ) {}

  async load() {
    const result = await this.client.query(AlertDetailQuery, { id: this.id }).toPromise();
    this.loading = false;
    if (result.error) {
      this.error = describeError(result.error).message;
      return;
    }
    const found = result.data?.alert;
    if (!found) {
      this.notFound = true;
      return;
    }
    const { timeline, deliveries, ...alert } = found;
    this.error = null;
    this.notFound = false;
    this.alert = alert;
    this.timeline = timeline;
    this.deliveries = deliveries;
    this.#followDeliveries();
    const after = timeline[timeline.length - 1]?.cursor ?? null;
    const filter = { agentId: alert.agent.id, ...(alert.ruleId ? { ruleId: alert.ruleId } : {}) };
    this.#live.open((onResult) => this.client.subscription(AlertDetailChanged, { filter, after }).subscribe(onResult));
  }

  #apply(change: Change) {
    if (change.alert.id !== this.id) return;
    const { alert, ...entry } = change;
    const before = this.timeline.length;
    this.timeline = appendEvents(this.timeline, [entry]);
    if (this.timeline.length === before) return;
    this.alert = alert;
    this.#deliveriesSoon();
  }

  /** The alert as a mutation returned it (fewer fields than the page reads). */
  update(alert: AlertRow) {
    if (this.alert && alert.id === this.id) this.alert = { ...this.alert, ...alert, agent: { ...this.alert.agent, ...alert.agent } };
  }

  #deliveriesSoon() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refreshDeliveries(), DELIVERIES_AFTER_MS);
  }

  async refreshDeliveries() {
    const result = await this.client.query(AlertDeliveriesQuery, { id: this.id }).toPromise();
    if (!result.data?.alert) return;
    this.deliveries = result.data.alert.deliveries;
    this.#followDeliveries();
  }

  /**
   * Reads the deliveries again while they may still change with no alert event to say
   * so: the last change is recent enough that its notification may not be queued yet,
   * or a delivery is pending (read again just after its next attempt).
   */
  #followDeliveries() {
    const now = Date.now();
    const last = this.timeline[this.timeline.length - 1];
    const pending = this.deliveries
      .filter((d) => d.status === 'PENDING')
      .map((d) => (d.nextAttemptAt ? Date.parse(d.nextAttemptAt) - now + 500 : DELIVERIES_AFTER_MS));
    if (last && now - Date.parse(last.at) < RECENT_CHANGE_MS) pending.push(DELIVERIES_AFTER_MS);
    if (pending.length === 0) return;
    const wait = Math.min(Math.max(Math.min(...pending), DELIVERIES_AFTER_MS), PENDING_READ_MAX_MS);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.refreshDeliveries(), wait);
  }

  stop() {
    clearTimeout(this.#timer);
    this.#live.close();
  }
}
