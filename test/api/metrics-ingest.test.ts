import { describe, expect, it } from 'vitest';
import type { AgentPrincipal } from '../../api/auth/tokens';
import { loadConfig } from '../../api/config';
import { AppError } from '../../api/errors';
import type { IngestStore } from '../../api/metrics/ingest.store';
import { MetricIngestor } from '../../api/metrics/metrics.ingest';
import { MAX_POINTS_PER_REQUEST, type IncomingPoint } from '../../api/metrics/metrics.input';
import type { SampleWriter } from '../../api/metrics/sample.writer';
import { countingTurns } from '../helpers/turns';

const principal = { role: 'agent', agentId: 'agent-1', tokenHash: 'h' } as AgentPrincipal;

/** An ingestor over a store that knows one agent and gives every new series the next id, and a writer that keeps what it is given. */
function ingestor(queued: () => number = () => 0) {
  const written: number[] = [];
  let nextId = 1;
  const store = {
    tokenHashes: async (ids: string[]) => new Map(ids.map((id) => [id, 'h'])),
    resolveSeries: async (_agentId: string, wanted: { name: string; hash: string }[]) => ({
      found: new Map(wanted.map((w) => [`${w.name}\u0000${w.hash}`, { id: nextId++ }])),
      refused: [],
    }),
  } as unknown as IngestStore;
  const writer = { get queued() { return queued(); }, write: async (batch: { values: number[] }) => void written.push(...batch.values) } as unknown as SampleWriter;
  const config = loadConfig({ ADMIN_TOKEN: 'a'.repeat(32), VIEWER_TOKEN: 'v'.repeat(32), ENROLLMENT_TOKEN: 'e'.repeat(32) }).metrics;
  return { ingest: new MetricIngestor({ store, writer, config, now: () => Date.now() }), written, config };
}

describe('metric ingest', () => {
  const at = Date.now() - 60_000;

  it('checks the most points a request may carry in slices, letting other work run between them', async () => {
    const { ingest, written } = ingestor();
    // Every value refused, each differently: the costliest points to check.
    const points: IncomingPoint[] = Array.from({ length: MAX_POINTS_PER_REQUEST }, (_, i) => ({ name: 'huge', labels: {}, value: 1e300 * (1 + i / 1e5), at: at - i }));
    const { result, turns } = await countingTurns(() => ingest.ingest(principal, undefined, points, 'partial'));

    expect(result).toEqual({ accepted: 0, rejected: MAX_POINTS_PER_REQUEST, problems: [`${MAX_POINTS_PER_REQUEST} points: value must be within ±1e+290, got 1e+300`] });
    expect(written).toEqual([]);
    // 20 000 points in slices of 2 000: nine turns between them. All at once would be none.
    expect(turns).toBeGreaterThanOrEqual(9);
  });

  it('writes the points it keeps, in order, whatever slice they were checked in', async () => {
    const { ingest, written } = ingestor();
    const points: IncomingPoint[] = Array.from({ length: 5000 }, (_, i) => ({ name: `m${i % 3}`, labels: { n: String(i % 7) }, value: i % 1000 === 999 ? Infinity : i, at: at - i }));
    const result = await ingest.ingest(principal, undefined, points, 'partial');

    expect(result).toEqual({ accepted: 4995, rejected: 5, problems: ['5 points: value must be a finite number, got Infinity'] });
    expect(written).toEqual(points.filter((p) => Number.isFinite(p.value)).map((p) => p.value));
  });

  it('refuses a strict push whole, naming its first 20 refused points across slices', async () => {
    const { ingest, written } = ingestor();
    const refusedAt = [3, ...Array.from({ length: 24 }, (_, k) => 4976 + k)];
    const points: IncomingPoint[] = Array.from({ length: 5000 }, (_, i) => ({ name: 'm', labels: {}, value: refusedAt.includes(i) ? NaN : i, at }));
    const refusal = await ingest.ingest(principal, undefined, points, 'strict').then(
      () => expect.unreachable('a push with refused points was accepted'),
      (err: AppError) => err,
    );

    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal.code).toBe('BAD_USER_INPUT');
    expect(Object.keys(refusal.fields!)).toEqual(refusedAt.slice(0, 20).map((i) => `metrics.${i}`));
    expect(written).toEqual([]);
  });

  it('sheds a push checked over several turns when the writer filled up meanwhile', async () => {
    // Room when the push arrives; full by the time its points have been checked (other pushes queued theirs).
    let reads = 0;
    const { ingest, written, config } = ingestor(() => (reads++ === 0 ? 0 : config.maxQueuedSamples));
    const points: IncomingPoint[] = Array.from({ length: 5000 }, (_, i) => ({ name: 'm', labels: {}, value: i, at: at - i }));
    const refusal = await ingest.ingest(principal, undefined, points, 'partial').then(
      () => expect.unreachable('a push was queued past the writer\'s limit'),
      (err: AppError) => err,
    );

    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal.code).toBe('RATE_LIMITED');
    expect(reads).toBe(2);
    expect(written).toEqual([]);
  });
});
