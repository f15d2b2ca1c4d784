import { DecodeError } from './protobuf.wire';

/** The 64-bit integer fields of the OTLP metrics messages, by JSON name: signed or not. */
const INT64_FIELDS: Record<string, 'signed' | 'unsigned'> = {
  asInt: 'signed',
  intValue: 'signed',
  timeUnixNano: 'unsigned',
  startTimeUnixNano: 'unsigned',
  count: 'unsigned',
  zeroCount: 'unsigned',
  bucketCounts: 'unsigned',
};
const INT64_RANGE = { signed: [-(2n ** 63n), 2n ** 63n - 1n], unsigned: [0n, 2n ** 64n - 1n] } as const;

/** Longer strings and attribute lists are refused before protobufjs copies them (a label holds at most 1 KiB anyway). */
const MAX_JSON_STRING = 64 * 1024;
const MAX_JSON_VALUES = 1024;

/**
 * What protobufjs would take wrongly or slowly, refused before it reads the body: a
 * 64-bit integer field holding anything but an integer in its range, as a decimal string
 * or a number (protobufjs would read "abc" as 0, a time of "now", and wrap one too large
 * around to another value); a string over MAX_JSON_STRING, and an attribute array or
 * key-value list (`values`) of more than MAX_JSON_VALUES entries (a 16 KB gzip body
 * inflating to one 16 MiB string held the event loop for 0.8 s on its way through
 * protobufjs). Walks without recursion (the body may nest up to MAX_JSON_CONTAINERS deep).
 */
export function checkJson(json: object): void {
  const stack: unknown[] = [json];
  while (stack.length > 0) {
    const node = stack.pop() as object;
    if (Array.isArray(node)) {
      for (const item of node) {
        if (typeof item === 'object' && item !== null) stack.push(item);
        else if (typeof item === 'string' && item.length > MAX_JSON_STRING) throw new DecodeError(`strings must be at most ${MAX_JSON_STRING} characters`);
      }
      continue;
    }
    for (const [key, value] of Object.entries(node)) {
      const sign = Object.hasOwn(INT64_FIELDS, key) ? INT64_FIELDS[key] : undefined;
      if (!sign) {
        if (typeof value === 'string' && value.length > MAX_JSON_STRING) throw new DecodeError(`${key} must be at most ${MAX_JSON_STRING} characters`);
        if (key === 'values' && Array.isArray(value) && value.length > MAX_JSON_VALUES) {
          throw new DecodeError(`an attribute array or key-value list holds at most ${MAX_JSON_VALUES} values (its label would pass 1 KiB)`);
        }
        if (typeof value === 'object' && value !== null) stack.push(value);
        continue;
      }
      for (const v of Array.isArray(value) ? value : [value]) {
        if (v === null || v === undefined || isInt64(v, sign)) continue;
        throw new DecodeError(`${key} must be ${sign === 'signed' ? 'a' : 'an unsigned'} 64-bit integer (a decimal string or a whole number), got ${JSON.stringify(v).slice(0, 40)}`);
      }
    }
  }
}

function isInt64(v: unknown, sign: 'signed' | 'unsigned'): boolean {
  let n: bigint;
  if (typeof v === 'number' && Number.isInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) n = BigInt(v);
  else return false;
  const [min, max] = INT64_RANGE[sign];
  return n >= min && n <= max;
}
