import { setImmediate as nextTurn } from 'node:timers/promises';
import { invalidAgentToken } from '../auth/agent-tokens';
import { authorizeAgent } from '../auth/authenticator';
import type { AgentPrincipal, Principal } from '../auth/tokens';
import type { MetricsConfig } from '../config';
import { pgErrorCode } from '../db';
import { AppError, badInput } from '../errors';
import { inferKind, inferUnit, labelsHash, pointProblem, type IncomingPoint } from './metrics.input';
import { LabelSets, SeriesCache } from './ingest.lookup';
import type { IngestStore, WantedSeries } from './ingest.store';
import type { SampleWriter } from './sample.writer';

/**
 * strict: any refused point refuses the request and nothing is written (REST, GraphQL).
 * partial: refused points are counted and named, the others written (OTLP, remote write,
 * whose senders cannot resend a corrected subset).
 */
export type IngestMode = 'strict' | 'partial';

export interface IngestResult {
  accepted: number;
  rejected: number;
  /** What was wrong, one line per kind of problem, with how many points it refused. */
  problems: string[];
}

export interface PreparedIngest extends IngestResult {
  /** Writes the accepted points; resolves once they are committed. */
  write(): Promise<void>;
}

/** How long a checked agent token is trusted before its row is read again. */
const TOKEN_CHECK_MS = 1000;
// PostgreSQL's foreign_key_violation.
const FOREIGN_KEY_VIOLATION = '23503';
/** Problems named in a strict refusal. */
const MAX_FIELDS = 20;
/**
 * Points checked per turn of the event loop. A request carries up to 20 000, each checked
 * in about a microsecond (more when refused: its problem is written out and sorted by
 * kind); all in one go held every other request for 30-60 ms here, past 200 ms on a
 * loaded machine.
 */
const CHECK_SLICE = 2000;

/** Refuses a token that may not push for `agentId` (undefined: the token's own agent); the doors call it before reading a body. */
export function authorizePush(principal: Principal | undefined, agentId: string | undefined): asserts principal is AgentPrincipal {
  authorizeAgent(principal, agentId ?? (principal?.role === 'agent' ? principal.agentId : ''));
}

/** Validates pushed points, finds or creates their series, and hands them to the writer. */
export class MetricIngestor {
  private readonly series: SeriesCache;
  private readonly checkedTokens = new Map<string, { hash: string; until: number }>();

  constructor(
    private readonly deps: { store: IngestStore; writer: SampleWriter; config: MetricsConfig; now(): number },
  ) {
    this.series = new SeriesCache(deps.config.seriesCacheSize);
  }

  async prepare(principal: Principal | undefined, agentId: string | undefined, points: IncomingPoint[], mode: IngestMode): Promise<PreparedIngest> {
    authorizePush(principal, agentId);
    this.refuseWhileBehind();
    await this.checkToken(principal);
    const now = this.deps.now();
    const rules = { now, rawRetentionDays: this.deps.config.rawRetentionDays };

    const problems = new Problems();
    const fields: Record<string, string> = {};
    // The points kept, and each one's series id where this replica knows it already.
    // Consecutive points of one series (the usual order) look it up once.
    const kept: IncomingPoint[] = [];
    const ids: (number | undefined)[] = [];
    const labels = new LabelSets();
    const known = this.series.of(principal.agentId);
    let last: { name: string; canonical: string; id: number | undefined } | undefined;
    let unknown = 0;
    let named = 0;
    for (let i = 0; i < points.length; i++) {
      if (i > 0 && i % CHECK_SLICE === 0) await nextTurn();
      const point = points[i];
      const problem = pointProblem(point, rules, (l) => labels.problem(l));
      if (problem) {
        problems.add(problem);
        if (named++ < MAX_FIELDS) fields[`metrics.${i}`] = problem;
        continue;
      }
      const canonical = labels.canonical(point.labels);
      if (last?.name !== point.name || last.canonical !== canonical) last = { name: point.name, canonical, id: known?.get(canonical)?.get(point.name) };
      kept.push(point);
      ids.push(last.id);
      if (last.id === undefined) unknown++;
    }
    if (mode === 'strict' && problems.count > 0) throw badInput(fields);
    if (unknown > 0) {
      const refused = await this.resolve(principal.agentId, kept, ids, labels, mode);
      if (refused.length > 0) {
        let n = 0;
        for (const id of ids) if (id === undefined) n++;
        problems.add(`the agent may have at most ${this.deps.config.maxSeriesPerAgent} series; new series refused: ${seriesNames(refused)}`, n);
      }
    }

    const seriesIds: number[] = [];
    const ats: number[] = [];
    const values: number[] = [];
    kept.forEach((point, i) => {
      const id = ids[i];
      if (id === undefined) return;
      seriesIds.push(id);
      ats.push(point.at);
      values.push(point.value);
    });
    // Again: other pushes may have queued their samples while this one waited (its token
    // read, its points checked over several turns, its new series created).
    this.refuseWhileBehind();
    const writer = this.deps.writer;
    return {
      accepted: seriesIds.length,
      rejected: points.length - seriesIds.length,
      problems: problems.lines(),
      write: () => writer.write({ seriesIds, ats, values }),
    };
  }

  /**
   * Finds or creates the series of the kept points this replica did not know, once each,
   * and fills in their `ids`; returns the series refused for the per-agent limit.
   */
  private async resolve(agentId: string, kept: IncomingPoint[], ids: (number | undefined)[], labels: LabelSets, mode: IngestMode): Promise<WantedSeries[]> {
    const wanted = new Map<string, WantedSeries>();
    const keys: (string | undefined)[] = [];
    let lastKey = '';
    kept.forEach((point, i) => {
      if (ids[i] !== undefined) return;
      const canonical = labels.canonical(point.labels);
      const key = `${point.name}\u0000${canonical}`;
      keys[i] = key;
      if (key === lastKey || wanted.has(key)) return;
      lastKey = key;
      wanted.set(key, {
        name: point.name,
        labels: point.labels,
        canonical,
        hash: labelsHash(canonical),
        kind: point.kind ?? inferKind(point.name),
        unit: point.unit ?? inferUnit(point.name),
      });
    });
    const { found, refused } = await this.deps.store.resolveSeries(agentId, [...wanted.values()], this.deps.config.maxSeriesPerAgent, mode === 'strict').catch((err: unknown) => {
      // The agent was deregistered after its token was last checked (on this replica or
      // another): its series have no agent to belong to. A 401, as on every door.
      if (pgErrorCode(err) !== FOREIGN_KEY_VIOLATION) throw err;
      this.checkedTokens.delete(agentId);
      throw invalidAgentToken();
    });
    if (refused.length > 0 && mode === 'strict') {
      throw new AppError(
        'BAD_USER_INPUT',
        `the agent may have at most ${this.deps.config.maxSeriesPerAgent} series; these ${refused.length} would pass it: ${seriesNames(refused)}`,
        { metrics: `${refused.length} new series over the limit of ${this.deps.config.maxSeriesPerAgent}` },
      );
    }
    const byKey = new Map<string, number>();
    for (const [key, w] of wanted) {
      const ref = found.get(`${w.name}\u0000${w.hash}`);
      if (!ref) continue;
      byKey.set(key, ref.id);
      this.series.add(agentId, w.canonical, w.name, ref.id);
    }
    keys.forEach((key, i) => {
      if (key !== undefined) ids[i] = byKey.get(key);
    });
    return refused;
  }

  async ingest(principal: Principal | undefined, agentId: string | undefined, points: IncomingPoint[], mode: IngestMode): Promise<IngestResult> {
    const { write, ...result } = await this.prepare(principal, agentId, points, mode);
    await write();
    return result;
  }

  /** Sheds load while the writer holds more samples than it may queue. */
  private refuseWhileBehind(): void {
    if (this.deps.writer.queued >= this.deps.config.maxQueuedSamples) {
      throw new AppError('RATE_LIMITED', 'the server is writing too many samples; retry in 1 s', undefined, 1);
    }
  }

  /** The token names its agent; this checks it is the one that agent holds now (re-registration revokes). */
  private async checkToken(principal: AgentPrincipal): Promise<void> {
    const cached = this.checkedTokens.get(principal.agentId);
    const now = Date.now();
    if (cached && cached.until > now && cached.hash === principal.tokenHash) return;
    const hashes = await this.deps.store.tokenHashes([principal.agentId]);
    const stored = hashes.get(principal.agentId);
    // Revoked by a later registration, or its agent deregistered (no hash): 401, as on every door.
    if (stored !== principal.tokenHash) throw invalidAgentToken();
    if (this.checkedTokens.size > 100_000) this.checkedTokens.clear();
    this.checkedTokens.set(principal.agentId, { hash: stored, until: now + TOKEN_CHECK_MS });
  }
}

const seriesNames = (list: WantedSeries[]) =>
  list
    .slice(0, 5)
    .map((w) => `${w.name}${w.canonical === '{}' ? '' : w.canonical}`)
    .join(', ') + (list.length > 5 ? `, and ${list.length - 5} more` : '');

/** Kinds of problem named in a refusal at most; the rest are counted together. */
const MAX_KINDS = 20;

/** A problem's kind: its text without what belongs to one point (a quoted name, a time, the value it got). */
const kindOf = (problem: string) => problem.replace(/"[^"]*"|\d{4}-\d\d-\d\dT[\d:.]+Z|(?<=got ).*$/g, '…');

/** Refusals counted by kind, so a message names each once however many points it refused. */
class Problems {
  /** Per kind, the first point's problem (its details stand for the rest) and the points refused. */
  private readonly kinds = new Map<string, { problem: string; count: number }>();
  count = 0;

  add(problem: string, n = 1): void {
    if (n <= 0) return;
    const kind = kindOf(problem);
    const seen = this.kinds.get(kind);
    if (seen) seen.count += n;
    else this.kinds.set(kind, { problem, count: n });
    this.count += n;
  }

  lines(): string[] {
    const points = (n: number) => `${n} point${n === 1 ? '' : 's'}`;
    const all = [...this.kinds.values()];
    const lines = all.slice(0, MAX_KINDS).map(({ problem, count }) => `${points(count)}: ${problem}`);
    if (all.length > MAX_KINDS) lines.push(`${points(all.slice(MAX_KINDS).reduce((n, k) => n + k.count, 0))}: ${all.length - MAX_KINDS} other kinds of problem`);
    return lines;
  }
}
