import type { Client } from '@urql/core';
import { describeError } from './errors';
import type { ResultOf } from './graphql';
import { AgentMetricsQuery, AgentMetricsSubscription } from './metric-documents';
import { byImportance } from './metric-format';
import type { Point, RangeKey } from './metric-series';
import { RANGES } from './metric-series';
import { Resubscriber } from './resubscribe';

export interface ChartSeries {
  key: string;
  name: string;
  labels: Record<string, string>;
  kind: 'GAUGE' | 'COUNTER' | 'DELTA';
  unit: string;
  points: Point[];
}

const seriesKey = (name: string, labels: unknown) => `${name}${JSON.stringify(labels ?? {})}`;

/**
 * An agent's charts: the range query, and while the range ends now, a live tail from the
 * agentMetrics subscription. A pushed gauge sample is a point; a pushed counter sample
 * becomes a rate against the one before it, as the server computes rates.
 */
export class AgentMetrics {
  range = $state<RangeKey>('1h');
  customFrom = $state<number | null>(null);
  customTo = $state<number | null>(null);
  series = $state.raw<ChartSeries[]>([]);
  resolution = $state('');
  stepSeconds = $state(1);
  from = $state(0);
  to = $state(0);
  loading = $state(true);
  error = $state<string | null>(null);

  #client: Client;
  #id: string;
  #loadId = 0;
  #live: Resubscriber<{ data?: ResultOf<typeof AgentMetricsSubscription>; error?: unknown }> | undefined;
  /** The last raw sample of each counter seen live, to take the next one's rate against. */
  #lastRaw = new Map<string, { at: number; value: number }>();

  constructor(client: Client, id: string) {
    this.#client = client;
    this.#id = id;
  }

  get live(): boolean {
    return this.range !== 'custom';
  }

  setRange(range: RangeKey, custom?: { from: number; to: number }) {
    this.range = range;
    if (custom) {
      this.customFrom = custom.from;
      this.customTo = custom.to;
    }
    void this.load();
  }

  async load() {
    const id = ++this.#loadId;
    this.#stopLive();
    const now = Date.now();
    const span = RANGES.find((r) => r.key === this.range)?.ms ?? 3_600_000;
    const from = this.range === 'custom' && this.customFrom !== null ? this.customFrom : now - span;
    const to = this.range === 'custom' && this.customTo !== null ? this.customTo : now;
    this.loading = this.series.length === 0;
    const result = await this.#client
      .query(AgentMetricsQuery, { id: this.#id, from: new Date(from).toISOString(), to: new Date(to).toISOString() }, { requestPolicy: 'network-only' })
      .toPromise();
    if (id !== this.#loadId) return;
    this.loading = false;
    if (result.error) {
      this.error = describeError(result.error).message;
      return;
    }
    this.error = null;
    const range = result.data?.agent?.metrics;
    if (!range) return;
    this.resolution = range.resolution;
    this.stepSeconds = range.stepSeconds;
    this.from = from;
    this.to = to;
    this.series = range.series
      .map((s) => ({ key: seriesKey(s.name, s.labels), name: s.name, labels: (s.labels ?? {}) as Record<string, string>, kind: s.kind, unit: s.pointUnit, points: s.points }))
      .sort((a, b) => byImportance(a, b) || a.key.localeCompare(b.key));
    this.#lastRaw.clear();
    if (this.live) this.#startLive(span);
  }

  #startLive(span: number) {
    const live = new Resubscriber<{ data?: ResultOf<typeof AgentMetricsSubscription>; error?: unknown }>((result) => {
      const samples = result.data?.agentMetrics.samples;
      if (samples) this.#append(samples, span);
    });
    live.open((onResult) => this.#client.subscription(AgentMetricsSubscription, { id: this.#id }).subscribe(onResult));
    this.#live = live;
  }

  #append(samples: ResultOf<typeof AgentMetricsSubscription>['agentMetrics']['samples'], span: number) {
    const now = Date.now();
    const byKey = new Map(this.series.map((s) => [s.key, { ...s, points: s.points.slice() }]));
    let fresh = false;
    for (const sample of samples) {
      const key = seriesKey(sample.name, sample.labels);
      const at = Date.parse(sample.at);
      let series = byKey.get(key);
      if (!series) {
        // A series the agent just started pushing: a reload brings its unit and history.
        fresh = true;
        continue;
      }
      let value = sample.value;
      if (sample.kind !== 'GAUGE') {
        const previous = this.#lastRaw.get(key);
        this.#lastRaw.set(key, { at, value: sample.value });
        if (!previous || at <= previous.at) continue;
        const increase = sample.kind === 'DELTA' ? sample.value : sample.value >= previous.value ? sample.value - previous.value : sample.value;
        value = increase / ((at - previous.at) / 1000);
      }
      const last = series.points[series.points.length - 1];
      if (last && Date.parse(String(last.at)) >= at) continue;
      series.points.push({ at: sample.at, value });
      series = { ...series, points: series.points.filter((p) => Date.parse(String(p.at)) >= now - span) };
      byKey.set(key, series);
    }
    this.to = now;
    this.from = now - span;
    this.series = [...byKey.values()].sort((a, b) => byImportance(a, b) || a.key.localeCompare(b.key));
    if (fresh) void this.load();
  }

  #stopLive() {
    this.#live?.close();
    this.#live = undefined;
  }

  stop() {
    this.#loadId++;
    this.#stopLive();
  }
}
