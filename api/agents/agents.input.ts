import type { Config } from '../config';
import { AppError, badInput } from '../errors';
import { isUuid, Validator } from '../validation';
import { AGENT_STATUSES, type AgentFilter, type AgentGroupBy, type AgentStatus, type MetadataMatcher } from './agents.types';

export interface Registration {
  name: string;
  type: string;
  host: string;
  port: number;
  environment: string;
  metadata: Record<string, unknown>;
  heartbeatIntervalSeconds: number;
  tags?: string[];
}

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:/=@+-]*$/;
const CONFIG_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/;
/** Tags one agent holds at most, whoever set them (registration, an enrollment key, an admin, a bulk action). */
export const MAX_TAGS = 64;
export const MAX_METADATA_BYTES = 16 * 1024;
export const MAX_CONFIG_VALUE_BYTES = 64 * 1024;

/** `keyEnvironment`: the environment of the enrollment key in use, the only one its agents may name. */
export function parseRegistration(raw: Record<string, unknown>, config: Config, keyEnvironment?: string | null): Registration {
  const v = new Validator();
  const name = v.string(raw.name, 'name', { max: 255, required: true });
  const type = v.string(raw.type, 'type', { max: 64, required: true });
  const host = v.string(raw.host, 'host', { max: 255, required: true });
  const port = v.integer(raw.port, 'port', { min: 1, max: 65535, required: true });
  const environment = v.string(raw.environment, 'environment', { max: 64 }) || keyEnvironment || 'default';
  if (keyEnvironment && environment !== keyEnvironment) {
    v.fail('environment', `this enrollment key registers agents in environment "${keyEnvironment}" only: send that, or none`);
  }
  const metadata = raw.metadata === undefined || raw.metadata === null
    ? {}
    : v.json(raw.metadata, 'metadata', { maxBytes: MAX_METADATA_BYTES, object: true });
  // The seed's snake_case and GraphQL's camelCase spelling of the interval, each checked.
  const camel = v.integer(raw.heartbeatIntervalSeconds, 'heartbeatIntervalSeconds', { min: 1, max: 3600 });
  const snake = v.integer(raw.heartbeat_interval_seconds, 'heartbeat_interval_seconds', { min: 1, max: 3600 });
  if (camel !== undefined && snake !== undefined && camel !== snake) {
    v.fail('heartbeat_interval_seconds', `differs from heartbeatIntervalSeconds (${camel}); send one spelling`);
  }
  const interval = camel ?? snake ?? config.defaultHeartbeatIntervalSeconds;
  const tags = raw.tags === undefined || raw.tags === null ? undefined : tagList(v, raw.tags, 'tags');
  v.done();
  return {
    name: name!,
    type: type!,
    host: host!,
    port: port!,
    environment,
    metadata: metadata as Record<string, unknown>,
    heartbeatIntervalSeconds: interval,
    tags,
  };
}

export function tagList(v: Validator, raw: unknown, path: string): string[] {
  if (!Array.isArray(raw)) return v.fail(path, 'must be a list of strings') ?? [];
  if (raw.length > MAX_TAGS) return v.fail(path, `must hold at most ${MAX_TAGS} tags`) ?? [];
  const tags = new Set<string>();
  raw.forEach((item, i) => {
    const tag = v.string(item, `${path}.${i}`, { max: 64, required: true });
    if (tag === undefined) return;
    if (!TAG.test(tag)) v.fail(`${path}.${i}`, 'may hold letters, digits and _ . : / = @ + - and must start with a letter or digit');
    else tags.add(tag);
  });
  return [...tags].sort();
}

/**
 * The refusal of a change that would leave an agent with more than MAX_TAGS tags:
 * `has` tags now, `would` after the change.
 */
export function tooManyTags(agent: { id: string; name: string }, has: number, would: number, what = 'tags'): AppError {
  return badInput({
    [what]: `agent "${agent.name}" (${agent.id}) has ${has} tag${has === 1 ? '' : 's'}; this would give it ${would}, over the limit of ${MAX_TAGS} per agent. Nothing was changed: remove some of its tags first, or add fewer`,
  });
}

export function parseTags(raw: unknown): string[] {
  const v = new Validator();
  const tags = tagList(v, raw, 'tags');
  v.done();
  return tags;
}

export function parseConfigKey(raw: unknown): string {
  const v = new Validator();
  const key = v.string(raw, 'key', { max: 255, required: true });
  if (key !== undefined && !CONFIG_KEY.test(key)) v.fail('key', 'may hold letters, digits and _ . : / - and must not start with punctuation other than _');
  v.done();
  return key!;
}

/** A check-and-set that found the key changed since the revision its caller read. */
export function configurationConflict(key: string, expected: number, current: number): AppError {
  const now = current === 0 ? 'does not exist (it was deleted, or never set)' : expected === 0 ? `exists already (revision ${current})` : `is at revision ${current}`;
  const asked = expected === 0 ? 'ifRevision 0 writes only a key that does not exist' : `you asked for revision ${expected}`;
  return new AppError('CONFLICT', `configuration key "${key}" ${now}; ${asked}. Nothing was changed: read the key again, then decide`);
}

/** A check-and-set's revision: undefined when none was given. */
export function parseIfRevision(raw: unknown): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const v = new Validator();
  const revision = v.integer(raw, 'ifRevision', { min: 0, max: 2 ** 31 - 1 });
  v.done();
  return revision;
}

export function parseConfigValue(raw: unknown): unknown {
  const v = new Validator();
  const value = v.json(raw, 'value', { maxBytes: MAX_CONFIG_VALUE_BYTES });
  v.done();
  return value;
}

export function parseFilter(raw: Record<string, unknown> | null | undefined): AgentFilter {
  if (!raw) return {};
  const v = new Validator();
  const filter: AgentFilter = {};
  if (raw.status !== undefined && raw.status !== null) {
    const list = Array.isArray(raw.status) ? raw.status : [raw.status];
    const bad = list.find((s) => !AGENT_STATUSES.includes(s as AgentStatus));
    if (bad !== undefined) v.fail('filter.status', `must be one of ${AGENT_STATUSES.join(', ')}`);
    // Each status once: a list of 65 536 (one SQL parameter each) was more than a statement may bind.
    else if (list.length > 0) filter.status = [...new Set(list as AgentStatus[])];
  }
  if (raw.ids !== undefined && raw.ids !== null) {
    const ids = Array.isArray(raw.ids) ? raw.ids : [raw.ids];
    if (ids.length === 0 || ids.length > MAX_FILTER_IDS) v.fail('filter.ids', `must hold 1 to ${MAX_FILTER_IDS} agent ids; to select by the other fields alone, leave ids out`);
    else if (!ids.every((id) => typeof id === 'string' && isUuid(id))) v.fail('filter.ids', 'must hold agent ids (UUIDs)');
    else filter.ids = [...new Set((ids as string[]).map((id) => id.toLowerCase()))];
  }
  filter.type = v.string(raw.type, 'filter.type', { max: 64 }) || undefined;
  filter.environment = v.string(raw.environment, 'filter.environment', { max: 64 }) || undefined;
  filter.search = v.string(raw.search, 'filter.search', { max: 255 }) || undefined;
  if (raw.tags !== undefined && raw.tags !== null) {
    const tags = tagList(v, Array.isArray(raw.tags) ? raw.tags : [raw.tags], 'filter.tags');
    if (tags.length > 0) filter.tags = tags;
  }
  if (raw.inactive !== undefined && raw.inactive !== null) {
    if (typeof raw.inactive === 'boolean') filter.inactive = raw.inactive;
    else if (raw.inactive === 'true' || raw.inactive === 'false') filter.inactive = raw.inactive === 'true';
    else v.fail('filter.inactive', 'must be true or false');
  }
  if (raw.group !== undefined && raw.group !== null) filter.group = groupMember(v, raw.group);
  if (raw.metadata !== undefined && raw.metadata !== null) {
    const metadata = metadataMatchers(v, Array.isArray(raw.metadata) ? raw.metadata : [raw.metadata]);
    if (metadata.length > 0) filter.metadata = metadata;
  }
  v.done();
  return filter;
}

export const MAX_METADATA_MATCHERS = 20;
export const MAX_FILTER_IDS = 10_000;

const GROUP_FIELDS = ['environment', 'type', 'tag'] as const;

/** What agentGroups groups by: exactly one of a field and a metadata key. */
export function parseGroupBy(raw: Record<string, unknown> | null | undefined): AgentGroupBy {
  const v = new Validator();
  const by = groupBy(v, raw, 'by');
  v.done();
  return by!;
}

function groupBy(v: Validator, raw: Record<string, unknown> | null | undefined, path: string): AgentGroupBy | undefined {
  const field = raw?.field ?? undefined;
  const metadataKey = v.string(raw?.metadataKey ?? undefined, `${path}.metadataKey`, { max: 255 }) || undefined;
  if ((field === undefined) === (metadataKey === undefined)) return v.fail(path, 'must name exactly one of field and metadataKey');
  if (field !== undefined && !GROUP_FIELDS.includes(field as never)) return v.fail(`${path}.field`, `must be one of ${GROUP_FIELDS.join(', ')}`);
  return metadataKey !== undefined ? { metadataKey } : { field: field as (typeof GROUP_FIELDS)[number] };
}

/** `filter.group`: `{by, key}`, the agents agentGroups(by) counts under `key` (null: those without a value). */
function groupMember(v: Validator, raw: unknown): AgentFilter['group'] {
  if (typeof raw !== 'object' || Array.isArray(raw)) return v.fail('filter.group', 'must be {by, key}');
  const entry = raw as { by?: unknown; key?: unknown };
  const by = groupBy(v, entry.by as Record<string, unknown> | undefined, 'filter.group.by');
  // The key as given, untrimmed: it names a group exactly.
  const key = entry.key === null || entry.key === undefined ? null : v.string(entry.key, 'filter.group.key', { max: 1024 }) === undefined ? undefined : (entry.key as string);
  return by && key !== undefined ? { by, key } : undefined;
}

/** `{key, value}` objects (GraphQL), or `key=value` / `key` strings (REST's `?metadata=`). */
function metadataMatchers(v: Validator, raw: unknown[]): MetadataMatcher[] {
  if (raw.length > MAX_METADATA_MATCHERS) return v.fail('filter.metadata', `must hold at most ${MAX_METADATA_MATCHERS} matchers`) ?? [];
  const matchers: MetadataMatcher[] = [];
  raw.forEach((item, i) => {
    const path = `filter.metadata.${i}`;
    let entry: { key?: unknown; value?: unknown };
    if (typeof item === 'string') {
      const at = item.indexOf('=');
      entry = at < 0 ? { key: item } : { key: item.slice(0, at), value: item.slice(at + 1) };
    } else if (typeof item === 'object' && item !== null && !Array.isArray(item)) entry = item;
    else return v.fail(path, 'must be {key, value} (or "key=value")');
    const key = v.string(entry.key, `${path}.key`, { max: 255, required: true });
    const value = entry.value === null ? undefined : v.string(entry.value, `${path}.value`, { max: 1024 });
    if (key) matchers.push(value === undefined ? { key } : { key, value });
  });
  return matchers;
}

export function parsePage(limitRaw: unknown, offsetRaw: unknown): { limit: number; offset: number } {
  const v = new Validator();
  const num = (x: unknown) => (typeof x === 'string' && /^-?\d+$/.test(x) ? Number(x) : x);
  const limit = v.integer(num(limitRaw), 'limit', { min: 1, max: 1000 }) ?? 100;
  const offset = v.integer(num(offsetRaw), 'offset', { min: 0, max: 10_000_000 }) ?? 0;
  v.done();
  return { limit, offset };
}
