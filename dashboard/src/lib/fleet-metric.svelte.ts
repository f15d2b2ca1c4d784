import type { Client } from '@urql/core';
import { FleetMetricQuery, MetricNamesQuery, type FleetMetricEntry } from './metric-documents';
import { byImportance } from './metric-format';

/** Ids per fleetMetric request: the server's limits with and without sparklines. */
const SPARKLINE_BATCH = 200;
const LATEST_BATCH = 2000;
/** How often the visible rows' readings are refreshed. */
export const FLEET_METRIC_REFRESH_MS = 30_000;
/** The column shown unless another is asked for (or the first metric there is, without it). */
const DEFAULT_METRIC = 'cpu_percent';

/**
 * The fleet table's metric column: the chosen metric's latest value and last hour for the
 * rows on screen, refreshed every FLEET_METRIC_REFRESH_MS. Sorting by it reads the latest
 * value of every loaded row (no sparkline), so the hottest agents come first.
 */
export class FleetMetric {
  name = $state(DEFAULT_METRIC);
  names = $state.raw<{ name: string; unit: string }[]>([]);
  values = $state.raw(new Map<string, FleetMetricEntry>());
  /** null: the table keeps the server's order. */
  sort = $state<'DESC' | 'ASC' | null>(null);

  #client: Client;
  #visible: string[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #generation = 0;
  #shown = 0;

  constructor(client: Client) {
    this.#client = client;
  }

  async loadNames() {
    const r = await this.#client.query(MetricNamesQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    const names = (r.data?.metricNames ?? []).slice().sort(byImportance);
    this.names = names;
    if (names.length > 0 && !names.some((n) => n.name === this.name)) this.name = names[0].name;
  }

  /**
   * The column and order a view asks for: `wanted` ('': the default metric), the rows in
   * the order of its latest value (`sort`) once every loaded row's (`ids`) has been read.
   */
  async show(wanted: string, sort: 'DESC' | 'ASC' | null, ids: string[]) {
    const fallback = this.names.length > 0 && !this.names.some((n) => n.name === DEFAULT_METRIC) ? this.names[0].name : DEFAULT_METRIC;
    const name = wanted || fallback;
    if (name !== this.name) this.choose(name);
    const shown = ++this.#shown;
    if (sort) await this.readAll(ids);
    if (shown === this.#shown) this.sort = sort;
  }

  choose(name: string) {
    this.name = name;
    this.values = new Map();
    void this.refresh();
  }

  setVisible(ids: string[]) {
    // Values are kept by agent id: rows that only changed places (worst first moves a row
    // whose status changed) need no new read.
    const had = new Set(this.#visible);
    const same = ids.length === this.#visible.length && ids.every((id) => had.has(id));
    this.#visible = ids;
    if (!same) void this.refresh();
    this.#timer ??= setInterval(() => void this.refresh(), FLEET_METRIC_REFRESH_MS);
  }

  /** The visible rows, with sparklines (the ones already read keep theirs while this runs). */
  async refresh() {
    const generation = this.#generation;
    const ids = this.#visible.slice(0, SPARKLINE_BATCH);
    if (ids.length === 0) return;
    const r = await this.#client.query(FleetMetricQuery, { agentIds: ids, name: this.name, sparkline: true }, { requestPolicy: 'network-only' }).toPromise();
    if (generation !== this.#generation || !r.data) return;
    const next = new Map(this.values);
    for (const e of r.data.fleetMetric) next.set(e.agentId, e);
    this.values = next;
  }

  /** Reads the latest value of every given row, for sorting by it. */
  async readAll(ids: string[]) {
    const generation = this.#generation;
    const next = new Map(this.values);
    for (let i = 0; i < ids.length; i += LATEST_BATCH) {
      const r = await this.#client.query(FleetMetricQuery, { agentIds: ids.slice(i, i + LATEST_BATCH), name: this.name, sparkline: false }, { requestPolicy: 'network-only' }).toPromise();
      if (generation !== this.#generation || !r.data) return;
      for (const e of r.data.fleetMetric) next.set(e.agentId, { ...e, sparkline: this.values.get(e.agentId)?.sparkline ?? e.sparkline });
    }
    this.values = next;
  }

  /** Rows in the metric's order (highest first when DESC); rows without a value last. */
  order<T extends { id: string }>(rows: readonly T[]): readonly T[] {
    if (!this.sort) return rows;
    const sign = this.sort === 'DESC' ? -1 : 1;
    const v = (id: string) => this.values.get(id)?.latest ?? null;
    return rows.slice().sort((a, b) => {
      const x = v(a.id);
      const y = v(b.id);
      if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1;
      return sign * (x - y);
    });
  }

  stop() {
    this.#generation++;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
