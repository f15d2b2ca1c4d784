import { LABEL_PATTERN, labelSet, MAX_POINTS_PER_REQUEST, tooManyPoints, type IncomingPoint } from './metrics.input';
import type { MetricKind } from './metrics.table';
import { DecodeError, TooLargeError, WIRE_VARINT, WireReader } from './protobuf.wire';

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
/** Attribute values (arrays, key-value lists) nested deeper than this are refused. */
const MAX_VALUE_DEPTH = 16;

/**
 * An ExportMetricsServiceRequest in the protobuf wire format (opentelemetry-proto v1;
 * field numbers from collector/metrics/v1/metrics_service.proto and metrics/v1/metrics.proto),
 * read straight into points: no message objects, and the points of one series share one
 * labels object (consecutive data points with the same attribute bytes).
 *
 * Gauges are gauges. Sums: cumulative and monotonic ones are counters (read as rates),
 * other cumulative ones gauges, delta ones delta series. Histograms (explicit and
 * exponential) and summaries become `<name>_count` and `<name>_sum`, of their
 * temporality's kind; a summary's quantiles are gauges with a `quantile` label.
 * Data point attributes become labels (keys with other characters than letters, digits,
 * `_` and `.` have those replaced by `_`; keys that become the same name keep every value,
 * joined with `;`); resource and scope attributes are not kept.
 * A point without a time is taken as now.
 */
export function decodeOtlpProtobuf(body: Uint8Array, now: number): Decoded {
  try {
    return readOtlpWire(body, now);
  } catch (err) {
    if (err instanceof DecodeError) throw new DecodeError(`the body is not a protobuf ExportMetricsServiceRequest: ${err.message}`);
    throw err;
  }
}

/** The points of a request in the wire format, its DecodeErrors as they are (the JSON door's come from its own encoding). */
export function readOtlpWire(body: Uint8Array, now: number): Decoded {
  const reader = new OtlpReader(Buffer.from(body.buffer, body.byteOffset, body.byteLength), now);
  reader.request();
  return { points: reader.points, refused: [...reader.refused].map(([reason, count]) => ({ reason, count })) };
}

type DataKind = 'gauge' | 'sum' | 'histogram' | 'exponentialHistogram' | 'summary';
/** The Metric fields that hold each kind of data, and the field numbers of attributes and flags in that kind's data points. */
const DATA: Record<number, { kind: DataKind; attributes: number; flags: number }> = {
  5: { kind: 'gauge', attributes: 7, flags: 8 },
  7: { kind: 'sum', attributes: 7, flags: 8 },
  9: { kind: 'histogram', attributes: 9, flags: 10 },
  10: { kind: 'exponentialHistogram', attributes: 1, flags: 10 },
  11: { kind: 'summary', attributes: 7, flags: 8 },
};

class OtlpReader extends WireReader {
  readonly points: IncomingPoint[] = [];
  readonly refused = new Map<string, number>();
  /** The attribute fields ([start, end) pairs) of the last data point, and the labels made of them. */
  private lastAttributes: number[] = [];
  private lastLabels: Record<string, string> = {};
  private attributes: number[] = [];

  constructor(
    buf: Buffer,
    private readonly now: number,
  ) {
    super(buf);
  }

  request(): void {
    this.fields(0, this.buf.length, (field, wire, start, end) => {
      // ExportMetricsServiceRequest.resource_metrics → ResourceMetrics.scope_metrics → ScopeMetrics.metrics
      if (field === 1 && this.len(wire, field))
        this.fields(start, end, (f, w, s, e) => {
          if (f === 2 && this.len(w, f)) this.fields(s, e, (f2, w2, s2, e2) => f2 === 2 && this.len(w2, f2) && this.metric(s2, e2));
        });
    });
  }

  private refuse(reason: string, n = 1): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + n);
  }

  private metric(start: number, end: number): void {
    let name = '';
    let unit = '';
    let data: { field: number; start: number; end: number } | undefined;
    this.fields(start, end, (field, wire, s, e) => {
      if (field === 1 && this.len(wire, field)) name = this.string(s, e);
      else if (field === 3 && this.len(wire, field)) unit = this.string(s, e);
      // A oneof: the last one on the wire wins.
      else if (DATA[field] && this.len(wire, field)) data = { field, start: s, end: e };
    });
    if (!data) return this.refuse(`metric ${name || '(unnamed)'} has no data`);
    const { kind, attributes, flags } = DATA[data.field];
    // Gauge, Sum, Histogram, ExponentialHistogram, Summary: data_points = 1; Sum and the histograms: aggregation_temporality = 2; Sum: is_monotonic = 3.
    let temporality = 0;
    let monotonic = false;
    let count = 0;
    this.fields(data.start, data.end, (field, wire) => {
      if (field === 1) count++;
      else if (field === 2 && wire === WIRE_VARINT && kind !== 'gauge' && kind !== 'summary') temporality = this.lastVarint;
      else if (field === 3 && wire === WIRE_VARINT && kind === 'sum') monotonic = this.lastVarint !== 0;
    });
    let pointKind: MetricKind | undefined = 'gauge';
    if (kind === 'sum') pointKind = temporality === DELTA ? 'delta' : temporality === CUMULATIVE ? (monotonic ? 'counter' : 'gauge') : undefined;
    else if (kind === 'histogram' || kind === 'exponentialHistogram') pointKind = temporality === DELTA ? 'delta' : temporality === CUMULATIVE ? 'counter' : undefined;
    else if (kind === 'summary') pointKind = 'counter';
    if (!pointKind) return this.refuse(`${kind === 'sum' ? 'sum' : 'histogram'} ${name} has no aggregation temporality`, count);
    const metricUnit = unit || undefined;
    this.fields(data.start, data.end, (field, wire, s, e) => {
      if (field === 1 && this.len(wire, field)) this.dataPoint(s, e, kind, attributes, flags, name, pointKind, metricUnit);
    });
  }

  private dataPoint(start: number, end: number, kind: DataKind, attributesField: number, flagsField: number, name: string, pointKind: MetricKind, unit: string | undefined): void {
    let at = 0;
    let value = NaN;
    let total = 0;
    let sum: number | undefined;
    let flags = 0;
    let quantiles: number[] | undefined;
    const attributes = this.attributes;
    attributes.length = 0;
    this.fields(start, end, (field, wire, s, e) => {
      if (field === attributesField && this.len(wire, field)) attributes.push(s, e);
      else if (field === flagsField && wire === WIRE_VARINT) flags = this.lastVarint;
      else if (field === 3 && this.i64(wire, field)) at = this.nanosToMillis(s);
      else if (kind === 'gauge' || kind === 'sum') {
        // NumberDataPoint: as_double = 4, as_int = 6 (sfixed64)
        if (field === 4 && this.i64(wire, field)) value = this.buf.readDoubleLE(s);
        else if (field === 6 && this.i64(wire, field)) value = this.buf.readInt32LE(s + 4) * 2 ** 32 + this.buf.readUInt32LE(s);
      } else if (field === 4 && this.i64(wire, field)) total = this.buf.readUInt32LE(s + 4) * 2 ** 32 + this.buf.readUInt32LE(s);
      else if (field === 5 && this.i64(wire, field)) sum = this.buf.readDoubleLE(s);
      else if (kind === 'summary' && field === 6 && this.len(wire, field)) {
        // ValueAtQuantile: quantile = 1, value = 2
        let q = 0;
        let v = 0;
        this.fields(s, e, (f, w, s2) => {
          if (f === 1 && this.i64(w, f)) q = this.buf.readDoubleLE(s2);
          else if (f === 2 && this.i64(w, f)) v = this.buf.readDoubleLE(s2);
        });
        (quantiles ??= []).push(q, v);
      }
    });
    if ((flags & NO_RECORDED_VALUE) !== 0) return;
    const labels = this.labels(attributes);
    const time = at > 0 ? at : this.now;
    const add = (suffix: string, v: number, pointLabels = labels) => {
      if (this.points.length >= MAX_POINTS_PER_REQUEST) throw new TooLargeError(tooManyPoints());
      this.points.push({ name: name + suffix, labels: pointLabels, value: v, at: time, kind: suffix === '' && kind === 'summary' ? 'gauge' : pointKind, unit: suffix === '_count' ? undefined : unit });
    };
    if (kind === 'gauge' || kind === 'sum') return void add('', value);
    add('_count', total);
    // A histogram's sum is optional (absent when observations may be negative); a summary's is not.
    if (sum !== undefined || kind === 'summary') add('_sum', sum ?? 0);
    for (let i = 0; quantiles && i < quantiles.length; i += 2) add('', quantiles[i + 1], { ...labels, quantile: String(quantiles[i]) });
  }

  /** The labels of a data point's attribute fields: the previous point's object when the bytes are the same. */
  private labels(attributes: number[]): Record<string, string> {
    const last = this.lastAttributes;
    let same = attributes.length === last.length;
    for (let i = 0; same && i < attributes.length; i += 2) same = this.sameBytes(attributes[i], attributes[i + 1], last[i], last[i + 1]);
    if (same) return this.lastLabels;
    const labels = labelSet();
    // Keys that had to be made label-safe, as [label, key, value]: only they can collide.
    let renamed: [string, string, string][] | undefined;
    for (let i = 0; i < attributes.length; i += 2) {
      let key = '';
      let value = '';
      this.fields(attributes[i], attributes[i + 1], (f, w, s, e) => {
        if (f === 1 && this.len(w, f)) key = this.string(s, e);
        else if (f === 2 && this.len(w, f)) value = this.anyValue(s, e, 0);
      });
      if (LABEL_PATTERN.test(key)) labels[key] = value;
      else (renamed ??= []).push([key.replace(/[^a-zA-Z0-9_.]/g, '_').replace(/^(?=[0-9.]|$)/, '_'), key, value]);
    }
    if (renamed) mergeRenamed(labels, renamed);
    this.lastAttributes = attributes.slice();
    this.lastLabels = labels;
    return labels;
  }

  /** An AnyValue as a label value: strings as they are, numbers and booleans as text, bytes in base64, arrays and lists as JSON. */
  private anyValue(start: number, end: number, depth: number): string {
    if (depth > MAX_VALUE_DEPTH) throw new DecodeError(`an attribute value is nested deeper than ${MAX_VALUE_DEPTH} levels`);
    let text = '';
    this.fields(start, end, (field, wire, s, e) => {
      if (field === 1 && this.len(wire, field)) text = this.string(s, e);
      else if (field === 2 && wire === WIRE_VARINT) text = String(this.lastVarint !== 0);
      else if (field === 3 && wire === WIRE_VARINT) text = String(this.lastInt64);
      else if (field === 4 && this.i64(wire, field)) text = String(this.buf.readDoubleLE(s));
      else if (field === 5 && this.len(wire, field)) {
        const values: string[] = [];
        this.fields(s, e, (f, w, s2, e2) => f === 1 && this.len(w, f) && values.push(this.anyValue(s2, e2, depth + 1)));
        text = JSON.stringify(values);
      } else if (field === 6 && this.len(wire, field)) {
        const list = labelSet();
        this.fields(s, e, (f, w, s2, e2) => {
          if (f !== 1 || !this.len(w, f)) return;
          let key = '';
          let value = '';
          this.fields(s2, e2, (f3, w3, s3, e3) => {
            if (f3 === 1 && this.len(w3, f3)) key = this.string(s3, e3);
            else if (f3 === 2 && this.len(w3, f3)) value = this.anyValue(s3, e3, depth + 1);
          });
          list[key] = value;
        });
        text = JSON.stringify(list);
      } else if (field === 7 && this.len(wire, field)) text = this.buf.toString('base64', s, e);
    });
    return text;
  }

  /**
   * Nanoseconds since the epoch (fixed64) as whole milliseconds, divided as integers:
   * 2^32 ns = 4294 ms + 967296 ns, so ms = hi × 4294 + ⌊(hi × 967296 + lo) / 10^6⌋, every
   * term exact in a double (today's nanosecond times are past 2^53).
   */
  private nanosToMillis(at: number): number {
    const lo = this.buf.readUInt32LE(at);
    const hi = this.buf.readUInt32LE(at + 4);
    return hi * 4294 + Math.floor((hi * 967296 + lo) / 1e6);
  }
}

/**
 * Adds attributes whose keys were made label-safe. Keys that become one label name
 * (`a-b`, `a/b` and `a_b`) keep every value, joined with `;` in the order of the keys'
 * own text, as Prometheus' OTLP translation does, rather than one of them silently.
 */
function mergeRenamed(labels: Record<string, string>, renamed: [string, string, string][]): void {
  const byLabel = new Map<string, [string, string][]>();
  for (const [label, key, value] of renamed) {
    let group = byLabel.get(label);
    if (!group) byLabel.set(label, (group = label in labels ? [[label, labels[label]]] : []));
    group.push([key, value]);
  }
  for (const [label, group] of byLabel) {
    if (group.length > 1) group.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    labels[label] = group.map((g) => g[1]).join(';');
  }
}
