import { badInput } from '../errors';
import { hasNul } from '../validation';
import { MAX_POINTS_PER_REQUEST, type IncomingPoint } from './metrics.input';

/** What the metric doors and queries take as arguments, checked before anything reads them. */

const MAX_NAMES = 100;

/**
 * Ranges start no earlier than 1970: a range's start moves back by up to two steps (to a
 * whole step, and one more for a counter's first rate), which near year 1 would leave
 * the years a timestamp can hold; and no metric is older than the epoch.
 */
const EARLIEST = new Date(0);

export function checkRange(from: Date, to: Date, maxDays: number): void {
  if (from < EARLIEST) throw badInput({ from: 'must be on or after 1970-01-01T00:00:00Z' });
  if (!(from < to)) throw badInput({ from: 'must be before to' });
  if (to.getTime() - from.getTime() > maxDays * 86_400_000) throw badInput({ from: `the range may span at most ${maxDays} days (the hour roll-ups' retention)` });
}

export function checkStep(step: number | null | undefined): void {
  if (step !== undefined && step !== null && (!Number.isInteger(step) || step < 1 || step > 86_400 * 31)) {
    throw badInput({ step: 'must be a whole number of seconds from 1 to 2678400' });
  }
}

export const NUL = 'must not contain NUL characters';

/**
 * Metric names asked for. A NUL is refused here, not by the database: PostgreSQL text
 * cannot hold one, so the query failed (a 500) whether it came in a variable or inline.
 * (checkVariables looks only for what a GraphQL literal cannot carry.)
 */
export function parseNames(names: readonly string[] | null | undefined): string[] | undefined {
  if (!names || names.length === 0) return undefined;
  if (names.length > MAX_NAMES) throw badInput({ names: `at most ${MAX_NAMES} names` });
  const withNul = names.findIndex(hasNul);
  if (withNul >= 0) throw badInput({ [`names.${withNul}`]: NUL });
  return [...new Set(names)];
}

/** One metric name (metricSummary, fleetMetric), checked as parseNames checks each. */
export function checkName(name: string): string {
  if (hasNul(name)) throw badInput({ name: NUL });
  return name;
}

/**
 * The REST and heartbeat shape: `[{"name","value","labels"?,"at"?,"unit"?,"kind"?}]`.
 * `at` is an ISO-8601 time and defaults to the server's clock. Shape errors name the
 * entry; the rules on values are checked with the other doors' (pointProblem).
 */
export function parseMetricList(raw: unknown, now: number): IncomingPoint[] {
  if (!Array.isArray(raw)) throw badInput({ metrics: 'must be an array of {"name","value","labels","at"}' });
  if (raw.length > MAX_POINTS_PER_REQUEST) throw badInput({ metrics: `at most ${MAX_POINTS_PER_REQUEST} metrics per request` });
  const fields: Record<string, string> = {};
  const points = raw.map((m, i): IncomingPoint => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      fields[`metrics.${i}`] = 'must be an object like {"name":"cpu_percent","value":12.5}';
      return undefined as never;
    }
    const { name, value, labels, at, unit, kind } = m as Record<string, unknown>;
    let time = now;
    if (at !== undefined && at !== null) {
      time = typeof at === 'string' ? Date.parse(at) : NaN;
      if (!Number.isFinite(time)) fields[`metrics.${i}.at`] = 'must be an ISO-8601 time';
    }
    if (typeof value !== 'number') fields[`metrics.${i}.value`] = 'must be a number';
    if (labels !== undefined && labels !== null && (typeof labels !== 'object' || Array.isArray(labels))) fields[`metrics.${i}.labels`] = 'must be an object of strings';
    return {
      name: name as string,
      value: value as number,
      labels: (labels ?? {}) as Record<string, string>,
      at: time,
      unit: unit === undefined || unit === null ? undefined : (unit as string),
      kind: kind === undefined || kind === null ? undefined : (String(kind).toLowerCase() as IncomingPoint['kind']),
    };
  });
  if (Object.keys(fields).length > 0) throw badInput(fields);
  return points;
}
