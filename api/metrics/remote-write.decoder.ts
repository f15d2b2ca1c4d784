import snappy from 'snappyjs';
import { labelSet, MAX_POINTS_PER_REQUEST, tooManyPoints, type IncomingPoint } from './metrics.input';
import { DecodeError, TooLargeError, WIRE_VARINT, WireReader } from './protobuf.wire';

/** Prometheus' staleness marker: a NaN with this bit pattern ends a series rather than giving it a value. */
const STALE_HIGH = 0x7ff00000;
const STALE_LOW = 0x00000002;
const bits = new DataView(new ArrayBuffer(8));
export function isStaleMarker(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  bits.setFloat64(0, v);
  return bits.getUint32(0) === STALE_HIGH && bits.getUint32(4) === STALE_LOW;
}

/**
 * A remote-write 1.0 body: snappy block format around a prompb.WriteRequest (field
 * numbers from prometheus/prompb/remote.proto and types.proto), read in place like OTLP's.
 * The name is the `__name__` label; the other labels with a value are the series' labels
 * (an empty value means no label, as in Prometheus). Staleness markers are skipped.
 */
export function decodeRemoteWrite(body: Uint8Array, maxDecodedBytes: number): { points: IncomingPoint[]; refused: { count: number; reason: string }[] } {
  let raw: Uint8Array;
  try {
    raw = snappy.uncompress(body, maxDecodedBytes);
  } catch (err) {
    const message = (err as Error).message;
    if (/too big/.test(message)) throw new TooLargeError(`the body decompresses to more than ${maxDecodedBytes} bytes`);
    throw new DecodeError(`the body is not snappy block-compressed: ${message}`);
  }
  const reader = new WriteRequestReader(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
  try {
    reader.request();
  } catch (err) {
    if (err instanceof DecodeError) throw new DecodeError(`the body is not a protobuf WriteRequest: ${err.message}`);
    throw err;
  }
  const refused = [];
  if (reader.unnamed > 0) refused.push({ count: reader.unnamed, reason: 'series without a __name__ label' });
  if (reader.repeated > 0) refused.push({ count: reader.repeated, reason: 'series with a label name given twice' });
  return { points: reader.points, refused };
}

/** `__name__` as bytes, to find the name label without decoding every label's key. */
const NAME_KEY = Buffer.from('__name__');

class WriteRequestReader extends WireReader {
  readonly points: IncomingPoint[] = [];
  /** Samples of series without a name. */
  unnamed = 0;
  /** Samples of series with a label name given twice (`__name__`, or one with a value): refused, as Prometheus does, rather than one value chosen. */
  repeated = 0;
  /**
   * The labels (besides the name) of the series read last, as byte ranges of the body, and
   * the object made of them. Series in a request mostly share them and differ only in
   * name (all of one target's metrics: job and instance): such a series reuses the object,
   * decoding nothing, and the points of both share it, which spares the ingest comparing them.
   */
  private lastRanges: number[] = [];
  private lastLabels = labelSet();
  private ranges: number[] = [];
  private nameStart = 0;
  private nameEnd = 0;
  private names = 0;

  request(): void {
    // WriteRequest.timeseries
    this.fields(0, this.buf.length, (field, wire, start, end) => field === 1 && this.len(wire, field) && this.timeseries(start, end));
  }

  private timeseries(start: number, end: number): void {
    this.nameStart = this.nameEnd = this.names = 0;
    this.ranges = [];
    const samples: number[] = [];
    // TimeSeries.labels and .samples (exemplars and native histograms are not read).
    this.fields(start, end, (field, wire, s, e) => {
      if (field === 1 && this.len(wire, field)) this.label(s, e);
      else if (field === 2 && this.len(wire, field)) samples.push(s, e);
    });
    const labels = this.names > 1 ? undefined : this.labels();
    if (!labels) {
      this.repeated += samples.length / 2;
      return;
    }
    const name = this.nameEnd > this.nameStart ? this.string(this.nameStart, this.nameEnd) : '';
    if (!name) {
      this.unnamed += samples.length / 2;
      return;
    }
    for (let i = 0; i < samples.length; i += 2) {
      let value = 0;
      let at = 0;
      // Sample.value (double), Sample.timestamp (int64, milliseconds)
      this.fields(samples[i], samples[i + 1], (f, w, s) => {
        if (f === 1 && this.i64(w, f)) value = this.buf.readDoubleLE(s);
        else if (f === 2 && w === WIRE_VARINT) at = this.lastInt64;
      });
      if (isStaleMarker(value)) continue;
      if (this.points.length >= MAX_POINTS_PER_REQUEST) throw new TooLargeError(tooManyPoints());
      this.points.push({ name, labels, value, at });
    }
  }

  /** Label.name and .value: the name label's value is kept aside, any other label with a value is added to `ranges`. */
  private label(start: number, end: number): void {
    let ks = 0;
    let ke = 0;
    let vs = 0;
    let ve = 0;
    this.fields(start, end, (f, w, s, e) => {
      if (f === 1 && this.len(w, f)) (ks = s), (ke = e);
      else if (f === 2 && this.len(w, f)) (vs = s), (ve = e);
    });
    if (this.isNameKey(ks, ke)) (this.nameStart = vs), (this.nameEnd = ve), this.names++;
    // An empty value means no label, as in Prometheus; a label without a name is no label either.
    else if (ke > ks && ve > vs) this.ranges.push(ks, ke, vs, ve);
  }

  /** Whether the bytes in [start, end) are `__name__`: compared here, as a native compare per label cost more than the comparison. */
  private isNameKey(start: number, end: number): boolean {
    if (end - start !== NAME_KEY.length) return false;
    for (let i = 0; i < NAME_KEY.length; i++) if (this.buf[start + i] !== NAME_KEY[i]) return false;
    return true;
  }

  /** The series' labels: the last series' object when they are the same bytes; undefined when a name is given twice. */
  private labels(): Record<string, string> | undefined {
    const { ranges, lastRanges } = this;
    let same = ranges.length === lastRanges.length;
    for (let i = 0; same && i < ranges.length; i += 2) same = this.sameBytes(ranges[i], ranges[i + 1], lastRanges[i], lastRanges[i + 1]);
    if (same) return this.lastLabels;
    const labels = labelSet();
    for (let i = 0; i < ranges.length; i += 4) {
      const key = this.string(ranges[i], ranges[i + 1]);
      if (key in labels) return undefined;
      labels[key] = this.string(ranges[i + 2], ranges[i + 3]);
    }
    this.lastRanges = ranges;
    this.lastLabels = labels;
    return labels;
  }
}
