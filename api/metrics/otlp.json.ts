import { setImmediate as nextTurn } from 'node:timers/promises';
import { Gate } from '../gate';
import { jsonBodyRefusal } from '../http/http';
import { readOtlpWire, type Decoded } from './otlp.decoder';
import { checkJson } from './otlp.json-check';
import { OtlpRequest } from './proto';
import { DecodeError } from './protobuf.wire';

/**
 * Two OTLP/JSON bodies are decoded at once at most, the others waiting their turn. Each
 * step of a decode waits for a turn of the event loop, so bodies decoded side by side
 * would each hold their text, parsed tree and message at the same time (tens of MiB
 * each near the limits).
 */
const jsonDecodes = new Gate(2);

/**
 * OTLP/JSON: read by protobufjs (which knows the JSON mapping: lowerCamelCase names,
 * 64-bit integers as strings, enums by name) and written back to the wire format, so one
 * reader (readOtlpWire) gives both encodings the same meaning.
 */
export const decodeOtlpJson = (body: Buffer, now: number): Promise<Decoded> => jsonDecodes.run(() => decodeJsonInTurns(body, now));

async function decodeJsonInTurns(body: Buffer, now: number): Promise<Decoded> {
  const refused = jsonBodyRefusal(body);
  if (refused) throw refused;
  // A body near the limits (100 000 objects and arrays, 2-3 MiB, or 8 MiB of one string)
  // takes 5-30 ms at each step below, and 50-100 ms for all of them: one step per turn
  // of the event loop. The first waits too: the gunzip's last turn joined its output
  // into this body, and the checks above ran in that same turn.
  await nextTurn();
  const text = body.toString('utf8');
  await nextTurn();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DecodeError(`the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DecodeError('the body must be a JSON ExportMetricsServiceRequest object');
  await nextTurn();
  checkJson(json);
  await nextTurn();
  const notARequest = (err: unknown) => new DecodeError(`the body is not an ExportMetricsServiceRequest: ${(err as Error).message}`);
  let message: ReturnType<typeof OtlpRequest.fromObject>;
  try {
    message = OtlpRequest.fromObject(json);
  } catch (err) {
    throw notARequest(err);
  }
  await nextTurn();
  let wire: Uint8Array;
  try {
    wire = OtlpRequest.encode(message).finish();
  } catch (err) {
    throw notARequest(err);
  }
  await nextTurn();
  return readOtlpWire(wire, now);
}
