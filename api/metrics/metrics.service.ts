import { parseFilter } from '../agents/agents.input';
import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Clock } from '../clock';
import type { MetricsConfig } from '../config';
import type { Database } from '../db';
import { badInput } from '../errors';
import { hasNul, isUuid } from '../validation';
import { checkName, checkRange, checkStep, NUL, parseMetricList, parseNames } from './metrics.args';
import { MetricFeed } from './metrics.feed';
import { MetricIngestor, type IngestMode, type IngestResult, type PreparedIngest } from './metrics.ingest';
import type { IncomingPoint } from './metrics.input';
import { plan, pointUnit, toPoints, type CounterMode, type MetricPoint, type Plan } from './metrics.query';
import { IngestStore } from './ingest.store';
import { MetricStore, type Level, type SeriesRef } from './metrics.store';
import { CompactionStore } from './compaction.store';
import { MetricJobs } from './metrics.jobs';
import { RollupStore } from './rollup.store';
import { SampleWriter } from './sample.writer';
import { summaryGroup, type GroupBy } from './metrics.summary';

export interface RangeArgs {
  names?: readonly string[] | null;
  from?: Date | null;
  to?: Date | null;
  step?: number | null;
  counters?: CounterMode | null;
}

export interface SeriesPoints extends SeriesRef {
  /** The unit of the points (a counter read as a rate is per second). */
  pointUnit: string;
  points: MetricPoint[];
}

export interface MetricRange {
  resolution: Level;
  stepSeconds: number;
  from: Date;
  to: Date;
  series: SeriesPoints[];
}

export interface LatestSample extends SeriesRef {
  at: Date;
  value: number;
}

/** Series one range query may return. */
export const MAX_SERIES_PER_QUERY = 200;

/** Metrics: ingest from every door, the roll-up and retention jobs, and the reads. */
export class MetricService {
  readonly store: MetricStore;
  readonly feed: MetricFeed;
  readonly jobs: MetricJobs;
  private readonly writer: SampleWriter;
  private readonly ingestor: MetricIngestor;

  constructor(private readonly deps: { database: Database; clock: Clock; config: MetricsConfig; maxInFlight: number; onError(what: string, err: unknown): void }) {
    const { database, clock, config } = deps;
    this.store = new MetricStore(database.db);
    const writes = new IngestStore(database.db, database.prepared);
    const rollups = new RollupStore(database.db);
    const compaction = new CompactionStore(database.db);
    this.jobs = new MetricJobs({ rollups, compaction, clock, config, onError: deps.onError });
    this.writer = new SampleWriter({
      flushMs: 5,
      // The embedded database inserts on the server's own thread: smaller statements, so
      // other requests get turns between them.
      maxSamples: database.pool ? 20_000 : 5_000,
      maxInFlight: deps.maxInFlight,
      insert: (b) => writes.insertSamples(b.seriesIds, b.ats, b.values),
      markLate: (minutes, series) => rollups.mark(1, minutes, series),
      markCompacted: (hours) => compaction.markHours(hours),
      compactAfterMs: config.compactAfterMs,
      ensurePartitions: () => this.jobs.maintain().then(() => undefined),
      now: () => clock.now().getTime(),
    });
    this.ingestor = new MetricIngestor({ store: writes, writer: this.writer, config, now: () => clock.now().getTime() });
    this.feed = new MetricFeed({ store: this.store, intervalMs: config.feedMs, now: () => clock.now().getTime(), onError: (err) => deps.onError('metric feed', err) });
  }

  get config(): MetricsConfig {
    return this.deps.config;
  }

  now(): number {
    return this.deps.clock.now().getTime();
  }

  /** Logs a failure a push protocol answers with a retryable 503. */
  readonly onUnexpected = (err: unknown) => this.deps.onError('metric ingest', err);

  /** Creates today's partitions before the first request, then runs the jobs. */
  async start(): Promise<void> {
    await this.jobs.maintain();
    this.jobs.start();
  }

  async stop(): Promise<void> {
    await this.feed.stop();
    await this.jobs.stop();
    await this.writer.drain();
  }

  /** Points from any door; `agentId` undefined means the token's own agent. */
  ingest(principal: Principal | undefined, agentId: string | undefined, points: IncomingPoint[], mode: IngestMode): Promise<IngestResult> {
    return this.ingestor.ingest(principal, agentId, points, mode);
  }

  /**
   * A heartbeat that carries metrics. `heartbeat` checks itself, then runs the hook it is
   * given before it is written: there the metrics are checked (and their series found),
   * so a refused heartbeat writes no series and a refused metric fails the request before
   * the heartbeat is written. The samples are written after it.
   */
  async alongHeartbeat<T>(principal: Principal | undefined, agentId: string, metrics: unknown, heartbeat: (before?: () => Promise<void>) => Promise<T>): Promise<T> {
    if (metrics === undefined || metrics === null) return heartbeat();
    let prepared: PreparedIngest | undefined;
    const answer = await heartbeat(async () => {
      prepared = await this.ingestor.prepare(principal, agentId, parseMetricList(metrics, this.deps.clock.now().getTime()), 'strict');
    });
    await prepared?.write();
    return answer;
  }

  /** Series of one agent over a range, at the resolution the range needs. */
  async range(principal: Principal | undefined, agentId: string, args: RangeArgs): Promise<MetricRange> {
    return (await this.ranges(principal, [agentId], args)).get(agentId)!;
  }

  /** The same for several agents at once (a fleet page's sparklines), in two statements. */
  async ranges(principal: Principal | undefined, agentIds: string[], args: RangeArgs): Promise<Map<string, MetricRange>> {
    authorize(principal, 'read');
    const names = parseNames(args.names);
    const p = this.plan(args);
    const ids = agentIds.filter(isUuid);
    const series = ids.length > 0 ? await this.store.seriesOf(ids, names) : [];
    const perAgent = new Map<string, SeriesRef[]>(agentIds.map((id) => [id, []]));
    for (const s of series) perAgent.get(s.agentId)?.push(s);
    for (const [id, list] of perAgent) {
      if (list.length > MAX_SERIES_PER_QUERY) throw badInput({ names: `agent ${id} has ${list.length} series; ask for at most ${MAX_SERIES_PER_QUERY} by naming them` });
    }
    const mode = args.counters ?? 'rate';
    // One step before `from`, so a counter's first point has a predecessor.
    const readFrom = new Date(p.from.getTime() - p.stepSeconds * 1000);
    const rows = await this.store.buckets(series.map((s) => s.id), p.level, readFrom, p.to, p.stepSeconds);
    const rowsBySeries = new Map<number, typeof rows>();
    for (const r of rows) {
      const list = rowsBySeries.get(r.seriesId);
      if (list) list.push(r);
      else rowsBySeries.set(r.seriesId, [r]);
    }
    const result = new Map<string, MetricRange>();
    for (const [id, list] of perAgent) {
      result.set(id, {
        resolution: p.level,
        stepSeconds: p.stepSeconds,
        from: p.from,
        to: p.to,
        series: list.map((s) => ({ ...s, pointUnit: pointUnit(s, mode), points: toPoints(s, rowsBySeries.get(s.id) ?? [], p.from, p.stepSeconds, mode) })),
      });
    }
    return result;
  }

  /** The last sample of each of an agent's series (within raw retention). */
  async latest(principal: Principal | undefined, agentIds: string[], rawNames: readonly string[] | null | undefined): Promise<Map<string, LatestSample[]>> {
    authorize(principal, 'read');
    const names = parseNames(rawNames);
    const ids = agentIds.filter(isUuid);
    const series = ids.length > 0 ? await this.store.seriesOf(ids, names) : [];
    const since = new Date(this.deps.clock.now().getTime() - this.deps.config.rawRetentionDays * 86_400_000);
    const values = await this.store.latest(series.map((s) => s.id), since);
    const result = new Map<string, LatestSample[]>(agentIds.map((id) => [id, []]));
    for (const s of series) {
      const v = values.get(s.id);
      if (v) result.get(s.agentId)?.push({ ...s, ...v });
    }
    return result;
  }

  /**
   * agentMetrics, its names checked as the queries check them: a NUL, which no metric name
   * holds, would also give two lists one key in the feed, which shares a batch among
   * subscribers by key (["a\u0000b"] and ["a", "b"]).
   */
  subscribe(principal: Principal | undefined, agentId: string, names: readonly string[] | null | undefined) {
    authorize(principal, 'read');
    parseNames(names);
    return this.feed.subscribe(principal, agentId, names);
  }

  /** One metric across a fleet table's rows: each agent's series with the fewest labels. */
  async fleetMetric(principal: Principal | undefined, agentIds: string[], name: string, sparkline: boolean) {
    authorize(principal, 'read');
    const max = sparkline ? 200 : 2000;
    if (agentIds.length > max) throw badInput({ agentIds: `at most ${max} agents${sparkline ? ' with sparklines' : ''}` });
    const latest = await this.latest(principal, agentIds, [checkName(name)]);
    const now = this.deps.clock.now();
    const lines = sparkline ? await this.ranges(principal, agentIds, { names: [name], from: new Date(now.getTime() - 3_600_000), to: now, step: 60 }) : undefined;
    const fewestLabels = <T extends SeriesRef>(list: T[]) => list.slice().sort((a, b) => Object.keys(a.labels).length - Object.keys(b.labels).length)[0];
    return agentIds.map((agentId) => {
      const sample = fewestLabels(latest.get(agentId) ?? []);
      const line = lines?.get(agentId)?.series.find((s) => sample && s.id === sample.id) ?? fewestLabels(lines?.get(agentId)?.series ?? []);
      return { agentId, labels: sample?.labels ?? null, unit: sample?.unit ?? null, latest: sample?.value ?? null, at: sample?.at ?? null, sparkline: line?.points ?? [] };
    });
  }

  async names(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined, search?: string | null) {
    authorize(principal, 'read');
    if (search && search.length > 200) throw badInput({ search: 'must be at most 200 characters' });
    if (search && hasNul(search)) throw badInput({ search: NUL });
    return this.store.names(parseFilter(rawFilter), search ?? undefined);
  }

  async summary(principal: Principal | undefined, args: { name: string; filter?: Record<string, unknown> | null; groupBy?: GroupBy | null } & Omit<RangeArgs, 'names' | 'counters'>) {
    authorize(principal, 'read');
    const [name] = parseNames([checkName(args.name)])!;
    const filter = parseFilter(args.filter);
    const now = this.deps.clock.now();
    const to = args.to ?? now;
    const from = args.from ?? new Date(to.getTime() - 3_600_000);
    checkRange(from, to, this.deps.config.hourRetentionDays);
    checkStep(args.step);
    const range = (to.getTime() - from.getTime()) / 1000;
    // Without a step: about sixty points, from hour roll-ups once the range spans 6 hours,
    // so a summary over a large fleet reads a few rows per agent rather than hundreds.
    const step = args.step ?? (range >= 6 * 3600 ? Math.max(3600, range / 60) : range / 60);
    const p = plan(from, to, step, now, this.deps.config, { minStep: 60 });
    const groupBy = args.groupBy ?? 'none';
    const rows = await this.store.summary({ name, filter, ...summaryGroup(groupBy), level: p.level, from: p.from, to: p.to, stepSeconds: p.stepSeconds });
    const groups = new Map<string, { key: string | null; series: number; avg: number | null; max: number | null; p95: number | null; points: { at: Date; avg: number | null; max: number | null; p95: number | null; series: number }[] }>();
    for (const r of rows) {
      const key = r.grp ?? '\u0000';
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { key: r.grp, series: 0, avg: null, max: null, p95: null, points: [] }));
      if (r.bucket) g.points.push({ at: r.bucket, avg: r.avg, max: r.max, p95: r.p95, series: r.series });
      else Object.assign(g, { series: r.series, avg: r.avg, max: r.max, p95: r.p95 });
    }
    return { name, groupBy, resolution: p.level, stepSeconds: p.stepSeconds, from: p.from, to: p.to, groups: [...groups.values()] };
  }

  private plan(args: RangeArgs): Plan {
    const now = this.deps.clock.now();
    const to = args.to ?? now;
    const from = args.from ?? new Date(to.getTime() - 3_600_000);
    checkRange(from, to, this.deps.config.hourRetentionDays);
    checkStep(args.step);
    return plan(from, to, args.step ?? undefined, now, this.deps.config);
  }
}

