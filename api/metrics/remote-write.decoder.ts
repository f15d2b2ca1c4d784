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
  return { points: reader.points, refused: reader.unnamed > 0 ? [{ count: reader.unnamed, reason: 'series without a __name__ label' }] : [] };
}

class WriteRequestReader extends WireReader {
  readonly points: IncomingPoint[] = [];
  /** Samples of series without a name. */
  unnamed = 0;

  request(): void {
    // WriteRequest.timeseries
    this.fields(0, this.buf.length, (field, wire, start, end) => field === 1 && this.len(wire, field) && this.timeseries(start, end));
  }

  private timeseries(start: number, end: number): void {
    let name = '';
    const labels = labelSet();
    const samples: number[] = [];
    // TimeSeries.labels and .samples (exemplars and native histograms are not read).
    this.fields(start, end, (field, wire, s, e) => {
      if (field === 1 && this.len(wire, field)) {
        let key = '';
        let value = '';
        this.fields(s, e, (f, w, s2, e2) => {
          if (f === 1 && this.len(w, f)) key = this.string(s2, e2);
          else if (f === 2 && this.len(w, f)) value = this.string(s2, e2);
        });
        if (key === '__name__') name = value;
        else if (key && value) labels[key] = value;
      } else if (field === 2 && this.len(wire, field)) samples.push(s, e);
    });
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
}
