import type { Client } from '@urql/core';
import { AlertChangedSubscription, AlertCountsQuery, AlertsQuery, type AlertCounts, type AlertRow } from './alert-documents';
import { applyChange, type AlertView } from './alert-list';
import { describeError } from './errors';
import { Resubscriber } from './resubscribe';

const PAGE = 500;

/**
 * The Alerts page's list: loaded for a view, then kept current by alertChanged (every
 * change, matched here against the view, so alerts enter and leave the list as they
 * change state). The subscription is opened before the list is read, so a change made
 * in between is applied on top of it rather than lost.
 */
export class AlertList {
  alerts = $state<AlertRow[]>([]);
  total = $state(0);
  loading = $state(true);
  error = $state<string | null>(null);
  #view: AlertView = { state: ['FIRING', 'PENDING'], severity: [] };
  #pending: AlertRow[] | null = null;
  #live = new Resubscriber<{ data?: { alertChanged: { alert: AlertRow } } }>((r) => r.data && this.#apply(r.data.alertChanged.alert));

  /** `scope.agentId`: one agent's alerts only; `scope.first`: at most this many, the first in the list's order. */
  constructor(
    private readonly client: Client,
    private readonly scope: { agentId?: string; first?: number } = {},
  ) {}

  #apply(alert: AlertRow) {
    if (this.#pending) this.#pending.push(alert);
    else this.alerts = this.#trim(applyChange(this.alerts, alert, this.#view));
  }

  #trim(list: AlertRow[]) {
    return this.scope.first === undefined ? list : list.slice(0, this.scope.first);
  }

  get #filter() {
    return this.scope.agentId ? { agentId: this.scope.agentId } : {};
  }

  async load(view: AlertView) {
    this.#view = view;
    this.loading = true;
    this.#pending = [];
    this.#live.open((onResult) => this.client.subscription(AlertChangedSubscription, { filter: this.#filter }).subscribe(onResult));
    const filter = { ...this.#filter, state: view.state, severity: view.severity.length ? view.severity : null };
    const result = await this.client.query(AlertsQuery, { filter, first: this.scope.first ?? PAGE }).toPromise();
    const arrived = this.#pending;
    this.#pending = null;
    if (result.error) this.error = describeError(result.error).message;
    else if (result.data) {
      this.error = null;
      let list = result.data.alerts.nodes;
      for (const a of arrived) list = applyChange(list, a, view);
      this.alerts = this.#trim(list);
      this.total = result.data.alerts.totalCount;
    }
    this.loading = false;
  }

  /** An alert as a mutation returned it. */
  update(alert: AlertRow) {
    this.alerts = this.#trim(applyChange(this.alerts, alert, this.#view));
  }

  stop() {
    this.#live.close();
  }
}

/** The header's firing counts: read once, then again (coalesced) whenever an alert changes. */
export class AlertBadgeState {
  counts = $state<AlertCounts | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #live = new Resubscriber<{ data?: unknown }>(() => this.#soon());

  constructor(private readonly client: Client) {}

  start() {
    this.#live.open((onResult) => this.client.subscription(AlertChangedSubscription, {}).subscribe(onResult));
    void this.refresh();
  }

  #soon() {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.refresh();
    }, 250);
  }

  async refresh() {
    const result = await this.client.query(AlertCountsQuery, {}).toPromise();
    if (result.data) this.counts = result.data.alertCounts;
  }

  stop() {
    clearTimeout(this.#timer);
    this.#live.close();
  }
}
