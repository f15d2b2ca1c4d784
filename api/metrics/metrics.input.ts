import { createHash } from 'node:crypto';
import { hasLoneSurrogate, hasNul, LONE_SURROGATE } from '../validation';
import type { MetricKind } from './metrics.table';

/** A point as every door hands it over, before it is checked. */
export interface IncomingPoint {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch. */
  at: number;
  kind?: MetricKind;
  unit?: string;
}

export const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:.]*$/;
export const LABEL_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;
export const MAX_NAME_LENGTH = 200;
export const MAX_LABELS = 30;
export const MAX_LABEL_VALUE_BYTES = 1024;
export const MAX_UNIT_LENGTH = 32;
export const MAX_FUTURE_MS = 5 * 60_000;
/**
 * Points one request may carry, on every door (413 past it). Senders batch far less
 * (Prometheus' remote write sends at most a few thousand samples a request), and each point
 * is checked on the event loop: 60 000 in one request held it for a quarter of a second.
 */
export const MAX_POINTS_PER_REQUEST = 20_000;
export const tooManyPoints = () => `more than ${MAX_POINTS_PER_REQUEST} samples in one request; send them in smaller requests`;
/**
 * The largest magnitude a value may have. Roll-ups and summaries add values up in
 * float8, which overflows (an error, for the whole statement) past 1.8e308: a series of
 * values near that failed every roll-up round for every series. Sums of a million
 * million values this large still fit.
 */
export const MAX_ABS_VALUE = 1e290;
/** The latest time a JavaScript Date holds (±100 000 000 days from the epoch); past it a time cannot even be named. */
const MAX_TIME_MS = 8.64e15;
export const KINDS: readonly MetricKind[] = ['gauge', 'counter', 'delta'];

export interface PointRules {
  now: number;
  rawRetentionDays: number;
}

/**
 * What is wrong with a point, or undefined. Only finite values are stored: NaN and ±Inf
 * have no average, sum or rate, so they are refused on every door (Prometheus' staleness
 * markers are dropped before this, by the remote-write door: they end a series, they
 * are not values); so are values past ±MAX_ABS_VALUE.
 */
export function pointProblem(p: IncomingPoint, rules: PointRules, checkLabels: (labels: unknown) => string | undefined = labelsProblem): string | undefined {
  if (typeof p.name !== 'string' || p.name.length === 0) return 'name is required';
  if (p.name.length > MAX_NAME_LENGTH) return `name must be at most ${MAX_NAME_LENGTH} characters`;
  if (!NAME_PATTERN.test(p.name)) return `name "${p.name}" must match [a-zA-Z_:][a-zA-Z0-9_:.]*`;
  const labelProblem = checkLabels(p.labels);
  if (labelProblem) return labelProblem;
  if (typeof p.value !== 'number') return 'value must be a number';
  if (!Number.isFinite(p.value)) return `value must be a finite number, got ${p.value}`;
  if (Math.abs(p.value) > MAX_ABS_VALUE) return `value must be within ±${MAX_ABS_VALUE}, got ${p.value}`;
  if (!Number.isFinite(p.at) || Math.abs(p.at) > MAX_TIME_MS) return 'at must be a valid time';
  if (p.at > rules.now + MAX_FUTURE_MS) return `at ${iso(p.at)} is more than 5 minutes ahead of the server's clock`;
  const oldest = rules.now - rules.rawRetentionDays * 86_400_000;
  if (p.at < oldest) return `at ${iso(p.at)} is older than the raw retention (${rules.rawRetentionDays} days)`;
  if (p.unit !== undefined && (typeof p.unit !== 'string' || p.unit.length > MAX_UNIT_LENGTH || hasNul(p.unit))) return `unit must be a string of at most ${MAX_UNIT_LENGTH} characters`;
  if (p.unit !== undefined && hasLoneSurrogate(p.unit)) return `unit ${LONE_SURROGATE}`;
  if (p.kind !== undefined && !KINDS.includes(p.kind)) return `kind must be one of ${KINDS.join(', ')}`;
  return undefined;
}

/**
 * An empty label set for a decoder to fill: without a prototype, so a label named
 * `__proto__` is a label like any other (as JSON.parse makes it on the JSON door)
 * instead of setting the object's prototype and vanishing.
 */
export const labelSet = (): Record<string, string> => Object.create(null) as Record<string, string>;

export function labelsProblem(labels: unknown): string | undefined {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return 'labels must be an object of strings';
  let n = 0;
  for (const [key, value] of Object.entries(labels)) {
    if (++n > MAX_LABELS) return `at most ${MAX_LABELS} labels`;
    if (key.length > MAX_NAME_LENGTH || !LABEL_PATTERN.test(key)) return `label name "${key.slice(0, 60)}" must match [a-zA-Z_][a-zA-Z0-9_.]* (at most ${MAX_NAME_LENGTH} characters)`;
    if (typeof value !== 'string') return `label ${key} must be a string`;
    if (Buffer.byteLength(value) > MAX_LABEL_VALUE_BYTES) return `label ${key} must be at most 1 KiB`;
    if (hasNul(value)) return `label ${key} must not contain NUL characters`;
    if (hasLoneSurrogate(value)) return `label ${key} ${LONE_SURROGATE}`;
  }
  return undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Labels in one order, so the same set always names the same series: the JSON of the
 * object with its keys sorted, written here key by key (every point of a push goes
 * through it; building a sorted copy to stringify cost more than the rest of its checks).
 */
export function canonicalLabels(labels: Record<string, string>): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '{}';
  keys.sort();
  let json = '{';
  for (let i = 0; i < keys.length; i++) json += `${i === 0 ? '' : ','}${JSON.stringify(keys[i])}:${JSON.stringify(labels[keys[i]])}`;
  return `${json}}`;
}

export const labelsHash = (canonical: string) => createHash('md5').update(canonical).digest('hex');

/** A unit from the name's suffix, as Prometheus and OpenTelemetry name them, when none is given. */
export function inferUnit(name: string): string {
  if (/(_percent|_pct|\.utilization)$/.test(name)) return '%';
  if (/_bytes(_total)?$/.test(name)) return 'By';
  if (/_seconds(_total|_sum)?$/.test(name)) return 's';
  if (/_ms$|_milliseconds$/.test(name)) return 'ms';
  return '';
}

/** Prometheus' naming conventions, for senders that say nothing of a series' kind. */
export const inferKind = (name: string): MetricKind => (/(_total|_count|_sum|_bucket)$/.test(name) ? 'counter' : 'gauge');
