import type { Config } from '../config';
import { Validator } from '../validation';
import { AGENT_STATUSES, type AgentFilter, type AgentStatus } from './agents.types';

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
export const MAX_TAGS = 64;
export const MAX_METADATA_BYTES = 16 * 1024;
export const MAX_CONFIG_VALUE_BYTES = 64 * 1024;

/** Accepts the seed's snake_case and GraphQL's camelCase spelling of the interval. */
export function parseRegistration(raw: Record<string, unknown>, config: Config): Registration {
  const v = new Validator();
  const name = v.string(raw.name, 'name', { max: 255, required: true });
  const type = v.string(raw.type, 'type', { max: 64, required: true });
  const host = v.string(raw.host, 'host', { max: 255, required: true });
  const port = v.integer(raw.port, 'port', { min: 1, max: 65535, required: true });
  const environment = v.string(raw.environment, 'environment', { max: 64 }) || 'default';
  const metadata = raw.metadata === undefined || raw.metadata === null
    ? {}
    : v.json(raw.metadata, 'metadata', { maxBytes: MAX_METADATA_BYTES, object: true });
  const intervalKey = raw.heartbeatIntervalSeconds !== undefined ? 'heartbeatIntervalSeconds' : 'heartbeat_interval_seconds';
  const interval = v.integer(raw[intervalKey], intervalKey, { min: 1, max: 3600 }) ?? config.defaultHeartbeatIntervalSeconds;
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
    else if (list.length > 0) filter.status = list as AgentStatus[];
  }
  filter.type = v.string(raw.type, 'filter.type', { max: 64 }) || undefined;
  filter.environment = v.string(raw.environment, 'filter.environment', { max: 64 }) || undefined;
  filter.search = v.string(raw.search, 'filter.search', { max: 255 }) || undefined;
  if (raw.tags !== undefined && raw.tags !== null) {
    const tags = tagList(v, Array.isArray(raw.tags) ? raw.tags : [raw.tags], 'filter.tags');
    if (tags.length > 0) filter.tags = tags;
  }
  v.done();
  return filter;
}

export function parsePage(limitRaw: unknown, offsetRaw: unknown): { limit: number; offset: number } {
  const v = new Validator();
  const num = (x: unknown) => (typeof x === 'string' && /^-?\d+$/.test(x) ? Number(x) : x);
  const limit = v.integer(num(limitRaw), 'limit', { min: 1, max: 1000 }) ?? 100;
  const offset = v.integer(num(offsetRaw), 'offset', { min: 0, max: 10_000_000 }) ?? 0;
  v.done();
  return { limit, offset };
}
