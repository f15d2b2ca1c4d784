import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import { badInput } from '../errors';
import type { Channel } from '../events/channel';
import { PolledFeed, type PolledSubscriber } from '../events/polled-feed';
import { isUuid } from '../validation';
import type { MetricStore, SeriesRef } from './metrics.store';

/** How far back each read looks for samples committed late (by any replica), and what a new subscription first receives. */
export const FEED_LOOKBACK_MS = 30_000;
/** Undelivered batches a subscriber may fall behind by before its stream is ended. */
export const MAX_METRIC_BACKLOG = 100;
const PER_SERIES_READ = 1000;
const MAX_NAMES = 100;

export interface LiveSample {
  series: SeriesRef;
  at: Date;
  value: number;
}

export interface AgentMetricBatch {
  agentId: string;
  samples: LiveSample[];
}

interface Subscriber extends PolledSubscriber<AgentMetricBatch> {
  agentId: string;
  names?: Set<string>;
  /** agent id and names: subscribers alike share batches. */
  key: string;
}

/**
 * This replica's reader for the agentMetrics subscription, in the manner of the
 * heartbeat feed: while anyone subscribes it reads, every `intervalMs`, the samples of
 * the watched agents' series in one statement, so samples ingested by any replica reach
 * subscribers on all of them and the write path pays nothing.
 *
 * Each series is read from a little before the newest sample it has delivered
 * (FEED_LOOKBACK_MS), so a sample committed late by a slow writer still arrives; the
 * samples already delivered are remembered over that window and not sent twice. A new
 * subscription first receives its series' samples of the last FEED_LOOKBACK_MS, which
 * the client may already have from its query: so none taken between the two is missed.
 */
export class MetricFeed extends PolledFeed<AgentMetricBatch, Subscriber> {
  /** Per series: delivered sample times within the window, and the newest. */
  private readonly delivered = new Map<number, { newest: number; times: Set<number> }>();

  constructor(private readonly deps: { store: MetricStore; intervalMs: number; now(): number; onError(err: unknown): void }) {
    super({ what: 'metric', intervalMs: deps.intervalMs, maxBacklog: MAX_METRIC_BACKLOG, onError: deps.onError });
  }

  subscribe(principal: Principal | undefined, agentId: string, names: readonly string[] | null | undefined): Channel<AgentMetricBatch> {
    this.assertRunning();
    authorize(principal, 'read');
    if (!isUuid(agentId)) throw badInput({ agentId: 'must be an agent UUID' });
    if (names && names.length > MAX_NAMES) throw badInput({ names: `at most ${MAX_NAMES} names` });
    const id = agentId.toLowerCase();
    const nameSet = names && names.length > 0 ? new Set(names) : undefined;
    return this.join({ agentId: id, names: nameSet, key: `${id}\u0000${nameSet ? [...nameSet].sort().join('\u0000') : '*'}` });
  }

  protected forget(): void {
    this.delivered.clear();
  }

  protected async read(): Promise<boolean> {
    const subscribers = [...this.subscribers];
    const agentIds = [...new Set(subscribers.map((s) => s.agentId))];
    // Series are read each time: an agent may start pushing a new one at any moment.
    const series = await this.deps.store.seriesOf(agentIds);
    const now = this.deps.now();
    const fresh = now - FEED_LOOKBACK_MS;
    const unprimedAgents = new Set(subscribers.filter((s) => !s.primed).map((s) => s.agentId));
    const afters = series.map((s) => {
      const d = this.delivered.get(s.id);
      const from = d ? d.newest - FEED_LOOKBACK_MS : fresh;
      return unprimedAgents.has(s.agentId) ? Math.min(from, fresh) : from;
    });
    const rows = await this.deps.store.samplesAfter(series.map((s) => s.id), afters, PER_SERIES_READ);
    if (this.stopped || this.subscribers.size === 0) return false;

    const byId = new Map(series.map((s) => [s.id, s]));
    // Per agent: every sample read in the window (for new subscribers), and those not yet delivered.
    const all = new Map<string, LiveSample[]>();
    const unseen = new Map<string, LiveSample[]>();
    for (const r of rows) {
      const s = byId.get(r.seriesId)!;
      const sample = { series: s, at: new Date(r.at), value: r.value };
      let d = this.delivered.get(s.id);
      if (!d) this.delivered.set(s.id, (d = { newest: r.at, times: new Set() }));
      if (r.at >= fresh) push(all, s.agentId, sample);
      if (!d.times.has(r.at)) {
        d.times.add(r.at);
        if (r.at > d.newest) d.newest = r.at;
        push(unseen, s.agentId, sample);
      }
    }
    for (const d of this.delivered.values()) for (const t of d.times) if (t < d.newest - 2 * FEED_LOOKBACK_MS) d.times.delete(t);

    const batches = new Map<string, AgentMetricBatch | null>();
    for (const s of subscribers) {
      if (!this.subscribers.has(s)) continue;
      const key = `${s.primed}\u0000${s.key}`;
      let batch = batches.get(key);
      if (batch === undefined) {
        const samples = ((s.primed ? unseen : all).get(s.agentId) ?? []).filter((x) => !s.names || s.names.has(x.series.name));
        samples.sort((a, b) => a.at.getTime() - b.at.getTime());
        batch = samples.length > 0 ? { agentId: s.agentId, samples } : null;
        batches.set(key, batch);
      }
      s.primed = true;
      if (batch) s.channel.push(batch);
    }
    return true;
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
