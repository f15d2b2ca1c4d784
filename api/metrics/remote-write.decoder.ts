import snappy from 'snappyjs';
import type { IncomingPoint } from './metrics.input';
import { DecodeError } from './protobuf.wire';
import { toNumber, WriteRequest } from './proto';

export class TooLargeError extends Error {}

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
 * A remote-write 1.0 body: snappy block format around a prompb.WriteRequest. The name is
 * the `__name__` label; the other labels with a value are the series' labels (an empty
 * value means no label, as in Prometheus). Staleness markers are skipped.
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
  let request: { timeseries?: { labels?: { name?: string; value?: string }[]; samples?: { value?: number; timestamp?: unknown }[] }[] };
  try {
    request = WriteRequest.decode(raw) as never;
  } catch (err) {
    throw new DecodeError(`the body is not a protobuf WriteRequest: ${(err as Error).message}`);
  }
  const points: IncomingPoint[] = [];
  let unnamed = 0;
  for (const ts of request.timeseries ?? []) {
    let name = '';
    const labels: Record<string, string> = {};
    for (const l of ts.labels ?? []) {
      if (l.name === '__name__') name = l.value ?? '';
      else if (l.name && l.value) labels[l.name] = l.value;
    }
    const samples = ts.samples ?? [];
    if (!name) {
      unnamed += samples.length;
      continue;
    }
    for (const s of samples) {
      const value = s.value ?? 0;
      if (isStaleMarker(value)) continue;
      points.push({ name, labels, value, at: toNumber(s.timestamp ?? 0) });
    }
  }
  return { points, refused: unnamed > 0 ? [{ count: unnamed, reason: 'series without a __name__ label' }] : [] };
}
