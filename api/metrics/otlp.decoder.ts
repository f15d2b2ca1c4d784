import type { IncomingPoint } from './metrics.input';
import { LABEL_PATTERN } from './metrics.input';
import { nanosToMillis, OtlpRequest, toNumber } from './proto';
import type { MetricKind } from './metrics.table';

export class DecodeError extends Error {}

/** The points of an OTLP export request, and those refused while reading it (with why). */
export interface Decoded {
  points: IncomingPoint[];
  refused: { count: number; reason: string }[];
}

// AggregationTemporality
const DELTA = 1;
const CUMULATIVE = 2;
// DataPointFlags.FLAG_NO_RECORDED_VALUE: the point stands for a gap, not a value.
const NO_RECORDED_VALUE = 1;

type Msg = Record<string, any>;

export function decodeOtlpProtobuf(body: Uint8Array, now: number): Decoded {
  let message: Msg;
  try {
    message = OtlpRequest.decode(body) as unknown as Msg;
  } catch (err) {
    throw new DecodeError(`the body is not a protobuf ExportMetricsServiceRequest: ${(err as Error).message}`);
  }
  return walk(message, now);
}

export function decodeOtlpJson(body: Buffer, now: number): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new DecodeError(`the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DecodeError('the body must be a JSON ExportMetricsServiceRequest object');
  let message: Msg;
  try {
    message = OtlpRequest.fromObject(json) as unknown as Msg;
  } catch (err) {
    throw new DecodeError(`the body is not an ExportMetricsServiceRequest: ${(err as Error).message}`);
  }
  return walk(message, now);
}

/**
 * Gauges are gauges. Sums: cumulative and monotonic ones are counters (read as rates),
 * other cumulative ones gauges, delta ones delta series. Histograms (explicit and
 * exponential) and summaries become `<name>_count` and `<name>_sum`, of their
 * temporality's kind; a summary's quantiles are gauges with a `quantile` label.
 * Data point attributes become labels (keys with other characters than letters, digits,
 * `_` and `.` have those replaced by `_`); resource and scope attributes are not kept.
 */
function walk(message: Msg, now: number): Decoded {
  const points: IncomingPoint[] = [];
  const refused = new Map<string, number>();
  const refuse = (reason: string, n = 1) => refused.set(reason, (refused.get(reason) ?? 0) + n);
  for (const rm of message.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const metric of sm.metrics ?? []) {
        const name: string = metric.name ?? '';
        const unit: string | undefined = metric.unit || undefined;
        const add = (suffix: string, kind: MetricKind, dp: Msg, value: number, extra?: Record<string, string>) =>
          points.push({ name: name + suffix, labels: extra ? { ...labelsOf(dp.attributes), ...extra } : labelsOf(dp.attributes), value, at: timeOf(dp, now), kind, unit: suffix === '_count' ? undefined : unit });
        switch (metric.data) {
          case 'gauge':
            for (const dp of metric.gauge.dataPoints ?? []) if (recorded(dp)) add('', 'gauge', dp, numberValue(dp));
            break;
          case 'sum': {
            const t = metric.sum.aggregationTemporality;
            const kind = t === DELTA ? 'delta' : t === CUMULATIVE ? (metric.sum.isMonotonic ? 'counter' : 'gauge') : undefined;
            const dps = metric.sum.dataPoints ?? [];
            if (!kind) refuse(`sum ${name} has no aggregation temporality`, dps.length);
            else for (const dp of dps) if (recorded(dp)) add('', kind, dp, numberValue(dp));
            break;
          }
          case 'histogram':
          case 'exponentialHistogram': {
            const h = metric[metric.data];
            const t = h.aggregationTemporality;
            const dps = h.dataPoints ?? [];
            if (t !== DELTA && t !== CUMULATIVE) {
              refuse(`histogram ${name} has no aggregation temporality`, dps.length);
              break;
            }
            const kind = t === DELTA ? 'delta' : 'counter';
            for (const dp of dps) {
              if (!recorded(dp)) continue;
              add('_count', kind, dp, toNumber(dp.count));
              // sum is optional (absent when observations may be negative).
              if (Object.prototype.hasOwnProperty.call(dp, 'sum')) add('_sum', kind, dp, dp.sum);
            }
            break;
          }
          case 'summary':
            for (const dp of metric.summary.dataPoints ?? []) {
              if (!recorded(dp)) continue;
              add('_count', 'counter', dp, toNumber(dp.count));
              add('_sum', 'counter', dp, dp.sum ?? 0);
              for (const q of dp.quantileValues ?? []) add('', 'gauge', dp, q.value ?? 0, { quantile: String(q.quantile ?? 0) });
            }
            break;
          default:
            refuse(`metric ${name || '(unnamed)'} has no data`);
        }
      }
    }
  }
  return { points, refused: [...refused].map(([reason, count]) => ({ reason, count })) };
}

const recorded = (dp: Msg) => ((dp.flags ?? 0) & NO_RECORDED_VALUE) === 0;

function numberValue(dp: Msg): number {
  if (dp.value === 'asInt') return toNumber(dp.asInt);
  if (dp.value === 'asDouble') return dp.asDouble;
  return NaN;
}

/** Milliseconds; a point without a time is taken as now. */
function timeOf(dp: Msg, now: number): number {
  const ms = nanosToMillis(dp.timeUnixNano ?? 0);
  return ms > 0 ? ms : now;
}

function labelsOf(attributes: Msg[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!attributes) return labels;
  for (const kv of attributes) {
    let key: string = kv.key ?? '';
    if (!LABEL_PATTERN.test(key)) key = key.replace(/[^a-zA-Z0-9_.]/g, '_').replace(/^(?=[0-9.]|$)/, '_');
    labels[key] = anyValue(kv.value);
  }
  return labels;
}

function anyValue(v: Msg | undefined): string {
  if (!v || !v.value) return '';
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'intValue':
      return String(toNumber(v.intValue));
    case 'bytesValue':
      return Buffer.from(v.bytesValue).toString('base64');
    case 'arrayValue':
      return JSON.stringify((v.arrayValue.values ?? []).map(anyValue));
    case 'kvlistValue':
      return JSON.stringify(Object.fromEntries((v.kvlistValue.values ?? []).map((kv: Msg) => [kv.key, anyValue(kv.value)])));
    default:
      return String(v[v.value]);
  }
}
