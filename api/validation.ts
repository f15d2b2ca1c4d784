import { badInput, type FieldErrors } from './errors';

/**
 * Collects every problem with one input before failing, so a client learns all it
 * must fix from a single answer. Checks are written for values that came from JSON
 * and may be of any type.
 */
export class Validator {
  readonly errors: FieldErrors = {};

  fail(path: string, message: string): undefined {
    this.errors[path] ??= message;
    return undefined;
  }

  string(value: unknown, path: string, opts: { max: number; required?: boolean; min?: number }): string | undefined {
    if (value === undefined || value === null) {
      return opts.required ? this.fail(path, 'is required') : undefined;
    }
    if (typeof value !== 'string') return this.fail(path, 'must be a string');
    const trimmed = value.trim();
    if (opts.required && trimmed.length === 0) return this.fail(path, 'must not be empty');
    // Counted as PostgreSQL counts varchar(n): characters, not UTF-16 units.
    const length = characters(trimmed, opts.max);
    if (length < (opts.min ?? 0)) return this.fail(path, `must be at least ${opts.min} characters`);
    if (length > opts.max) return this.fail(path, `must be at most ${opts.max} characters`);
    if (hasNul(trimmed)) return this.fail(path, 'must not contain NUL characters');
    if (hasLoneSurrogate(trimmed)) return this.fail(path, LONE_SURROGATE);
    return trimmed;
  }

  integer(value: unknown, path: string, opts: { min: number; max: number; required?: boolean }): number | undefined {
    if (value === undefined || value === null) {
      return opts.required ? this.fail(path, 'is required') : undefined;
    }
    if (typeof value !== 'number' || !Number.isInteger(value)) return this.fail(path, 'must be an integer');
    if (value < opts.min || value > opts.max) return this.fail(path, `must be from ${opts.min} to ${opts.max}`);
    return value;
  }

  /** Any JSON value, at most `maxBytes` when serialized and `MAX_JSON_DEPTH` deep, with no NUL in any string or key. */
  json(value: unknown, path: string, opts: { maxBytes: number; object?: boolean }): unknown {
    if (value === undefined) return this.fail(path, 'is required');
    if (opts.object && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      return this.fail(path, 'must be a JSON object');
    }
    // Walked before JSON.stringify, whose recursion a deep enough value would overflow.
    const problem = jsonProblem(value);
    if (problem) return this.fail(problem.at ? `${path}.${problem.at}` : path, problem.message);
    const text = JSON.stringify(value);
    if (text === undefined) return this.fail(path, 'must be a JSON value');
    if (Buffer.byteLength(text) > opts.maxBytes) {
      return this.fail(path, `must be at most ${opts.maxBytes / 1024} KiB when serialized`);
    }
    return value;
  }

  done(): void {
    if (Object.keys(this.errors).length > 0) throw badInput(this.errors);
  }
}

export const hasNul = (s: string) => s.includes('\u0000');

/**
 * A UTF-16 surrogate without its pair is no character at all: PostgreSQL refuses it in
 * JSON, and UTF-8 would turn it into U+FFFD, so two different names could become one.
 * Refused, never rewritten. (With the u flag, \p{Cs} matches only unpaired surrogates.)
 */
export const hasLoneSurrogate = (s: string) => /\p{Cs}/u.test(s);
export const LONE_SURROGATE = 'must not contain a lone UTF-16 surrogate (half of a pair, \\uD800-\\uDFFF)';

/** Code points in `s`, counting no further than just past `max`. */
function characters(s: string, max: number): number {
  let n = 0;
  for (const _ of s) if (++n > max) break;
  return n;
}

/**
 * PostgreSQL parses jsonb recursively and fails with "stack depth limit exceeded" past a
 * few thousand levels (PGlite sooner); no metadata or configuration needs more than this.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * What would make a JSON value fail in jsonb: NUL or a lone surrogate in a string or key
 * (PostgreSQL refuses both) or nesting past MAX_JSON_DEPTH. Iterative, so any depth is safe to inspect.
 *
 * Also a number JSON cannot hold: JSON.parse reads 1e400 as Infinity (a GraphQL literal
 * too), which JSON.stringify would silently store as null. Its text is gone by then, so
 * the answer names where it is (`at`, "a.0.b"), followed only when a problem is found.
 */
function jsonProblem(value: unknown): { message: string; at?: string } | undefined {
  type Item = { v: unknown; depth: number; parent?: Item; key?: string };
  const pathOf = (item: Item) => {
    const keys: string[] = [];
    for (let i: Item | undefined = item; i?.parent; i = i.parent) keys.push(i.key!);
    return keys.reverse().join('.');
  };
  const pending: Item[] = [{ v: value, depth: 0 }];
  while (pending.length > 0) {
    const item = pending.pop()!;
    const { v, depth } = item;
    if (typeof v === 'string') {
      if (hasNul(v)) return { message: 'must not contain NUL characters' };
      if (hasLoneSurrogate(v)) return { message: LONE_SURROGATE };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { message: 'must be a finite number', at: pathOf(item) || undefined };
    } else if (typeof v === 'object' && v !== null) {
      if (depth >= MAX_JSON_DEPTH) return { message: `must not nest deeper than ${MAX_JSON_DEPTH} levels` };
      for (const [key, child] of Object.entries(v)) {
        if (!Array.isArray(v) && hasNul(key)) return { message: 'must not contain NUL characters' };
        if (!Array.isArray(v) && hasLoneSurrogate(key)) return { message: LONE_SURROGATE };
        pending.push({ v: child, depth: depth + 1, parent: item, key });
      }
    }
  }
  return undefined;
}

/**
 * Times a client may give: years 0001 to 9999. JavaScript reaches +275760, but a later
 * year is written to the database in ISO-8601's expanded form (+010000-01-01T…), which
 * PostgreSQL misreads ("time zone displacement out of range"): a 500 after the checks.
 */
const EARLIEST_TIME = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_TIME = Date.parse('9999-12-31T23:59:59.999Z');
export const isStorableTime = (d: Date) => d.getTime() >= EARLIEST_TIME && d.getTime() <= LATEST_TIME;
export const TIME_OUT_OF_RANGE = 'must be from year 0001 to 9999 (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z)';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);

/** Deeper than any input the API takes: metadata and configuration values stop at MAX_JSON_DEPTH. */
export const MAX_VARIABLES_DEPTH = MAX_JSON_DEPTH + 16;

/**
 * Checks a GraphQL request's variables before anything else reads them: nesting (walked
 * iteratively, so a 20 000-deep list is refused, not a stack overflow further on) and
 * lone surrogates in any string or key, each reported at its path ("input.name").
 *
 * Only containers are queued, and a path is spelled out only for a problem found: a
 * list of 200 000 numbers costs a few milliseconds, not a string and an entry per value.
 */
export function checkVariables(variables: unknown): void {
  if (typeof variables !== 'object' || variables === null) return;
  type Container = { value: object; depth: number; parent?: Container; key?: string | number };
  const pathOf = (container: Container, key: string | number): string => {
    const segments: string[] = [];
    for (let c: Container | undefined = container, k: string | number | undefined = key; c; k = c.key, c = c.parent) {
      segments.push(!c.parent ? String(k) : typeof k === 'number' ? `[${k}]` : `.${k}`);
    }
    return segments.reverse().join('');
  };
  const v = new Validator();
  let problems = 0;
  const fail = (path: string, message: string) => {
    v.fail(path, message);
    problems++;
  };
  const look = (container: Container, key: string | number, item: unknown) => {
    if (typeof item === 'string') {
      if (hasLoneSurrogate(item)) fail(pathOf(container, key), LONE_SURROGATE);
    } else if (typeof item === 'object' && item !== null) {
      const child = { value: item, depth: container.depth + 1, parent: container, key };
      if (child.depth > MAX_VARIABLES_DEPTH) fail(pathOf(container, key), `must not nest deeper than ${MAX_VARIABLES_DEPTH} levels`);
      else pending.push(child);
    }
  };
  const root: Container = { value: variables, depth: 0 };
  const pending: Container[] = [];
  for (const key of Object.keys(variables)) look(root, key, (variables as Record<string, unknown>)[key]);
  while (pending.length > 0 && problems < 10) {
    const container = pending.pop()!;
    const { value } = container;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) look(container, i, value[i]);
      continue;
    }
    // Parsed JSON: own keys only (the prototype has no enumerable ones).
    for (const key in value) {
      if (hasLoneSurrogate(key)) fail(pathOf(container.parent!, container.key!), `keys ${LONE_SURROGATE}`);
      else look(container, key, (value as Record<string, unknown>)[key]);
    }
  }
  v.done();
}
