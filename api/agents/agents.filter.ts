import { decodeBase64, decodeCursorChunk } from '@pothos/core';
import { sql, type SQL } from 'drizzle-orm';
import type { agents } from './agents.table';
import { DEFAULT_AGENT_ORDER, STATUS_SEVERITY, type AgentOrder } from '../../shared/agent-order';
import { inGroup } from '../../shared/agent-groups';
import { matchesSearch, metadataValue, searchMetadata } from '../../shared/agent-search';
import { badInput } from '../errors';
import { hasLoneSurrogate, hasNul, isUuid } from '../validation';
import { AGENT_STATUSES, type AgentFilter, type AgentGroupBy } from './agents.types';

type AgentsTable = typeof agents;

const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Whether the agent is inactive: offline since before the cutoff. */
export const inactiveSql = (t: AgentsTable, before: Date) => sql<boolean>`(${t.status} = 'offline' and ${t.statusChangedAt} <= ${before}::timestamptz)`;

/** One translation of AgentFilter to SQL, for lists, counts and connections alike. */
export function agentFilterSql(t: AgentsTable, f: AgentFilter, opts: { ignoreStatus?: boolean; ignoreInactive?: boolean } = {}): SQL {
  const parts: SQL[] = [sql`true`];
  if (f.status && !opts.ignoreStatus) {
    parts.push(sql`${t.status} in (${sql.join(f.status.map((s) => sql`${s}`), sql`, `)})`);
  }
  if (f.inactive !== undefined && f.inactiveBefore && !opts.ignoreInactive) {
    parts.push(sql`(${inactiveSql(t, f.inactiveBefore)}) = ${f.inactive}`);
  }
  if (f.ids) parts.push(sql`${t.id} = any(${sql.param(f.ids)}::uuid[])`);
  if (f.type) parts.push(sql`${t.type} = ${f.type}`);
  if (f.environment) parts.push(sql`${t.environment} = ${f.environment}`);
  for (const m of f.metadata ?? []) {
    parts.push(m.value === undefined ? sql`${t.metadata} ? ${m.key}` : sql`${t.metadata}->>${m.key} = ${m.value}`);
  }
  if (f.group) parts.push(groupMemberSql(t, f.group.by, f.group.key));
  if (f.search) {
    const p = likePattern(f.search);
    const kv = searchMetadata(f.search);
    parts.push(sql`(${t.name} ilike ${p} or ${t.host} ilike ${p}
      or exists (select 1 from jsonb_each(${t.metadata}) m where jsonb_typeof(m.value) = 'string' and m.value #>> '{}' ilike ${p})
      ${kv ? sql`or lower(${t.metadata}->>${kv.key}) = lower(${kv.value})` : sql``})`);
  }
  if (f.tags) {
    parts.push(
      sql`(select count(*) from agent_tags at where at.agent_id = ${t.id} and at.tag in (${sql.join(
        f.tags.map((tag) => sql`${tag}`),
        sql`, `,
      )})) = ${f.tags.length}`,
    );
  }
  return sql.join(parts, sql` and `);
}

/**
 * The agents agentGroups counts under `key` when grouping `by` (agents.store.ts groups):
 * the key's value there, or, for null, no tags / no such metadata key (or a JSON null).
 */
function groupMemberSql(t: AgentsTable, by: AgentGroupBy, key: string | null): SQL {
  if ('metadataKey' in by) return key === null ? sql`${t.metadata}->>${by.metadataKey} is null` : sql`${t.metadata}->>${by.metadataKey} = ${key}`;
  if (by.field === 'tag') {
    const tagged = key === null ? sql`` : sql` and at.tag = ${key}`;
    return sql`${key === null ? sql`not ` : sql``}exists (select 1 from agent_tags at where at.agent_id = ${t.id}${tagged})`;
  }
  if (key === null) return sql`false`;
  return by.field === 'type' ? sql`${t.type} = ${key}` : sql`${t.environment} = ${key}`;
}

/** Whether an agent (or its event snapshot) passes a filter, for live streams and alert scopes. */
export function matchesFilter(
  a: { id?: string; status: string; type: string; environment: string; name: string; host: string; tags: string[]; metadata?: Record<string, unknown>; statusChangedAt?: Date },
  f: AgentFilter,
): boolean {
  if (f.status && !f.status.includes(a.status as never)) return false;
  if (f.ids && (a.id === undefined || !f.ids.includes(a.id))) return false;
  if (f.inactive !== undefined && f.inactiveBefore && a.statusChangedAt) {
    if ((a.status === 'offline' && a.statusChangedAt <= f.inactiveBefore) !== f.inactive) return false;
  }
  if (f.type && a.type !== f.type) return false;
  if (f.environment && a.environment !== f.environment) return false;
  for (const m of f.metadata ?? []) {
    const text = metadataValue(a.metadata ?? {}, m.key);
    if (text === undefined || (m.value !== undefined && text !== m.value)) return false;
  }
  if (f.group && !inGroup(a, f.group.by, f.group.key)) return false;
  if (f.search && !matchesSearch(a, f.search)) return false;
  if (f.tags && !f.tags.every((tag) => a.tags.includes(tag))) return false;
  return true;
}

const ms = (col: unknown) => sql<string>`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS')`;
const inC = (col: unknown) => sql<string>`${col}::text collate "C"`;
const severity = (col: unknown) =>
  sql<number>`(case ${col} ${sql.join(Object.entries(STATUS_SEVERITY).map(([s, rank]) => sql`when ${s} then ${sql.raw(String(rank))}`), sql` `)} end)`;

/**
 * Ordering for connections, as compareAgents (shared/agent-order.ts) orders in the
 * browser: the field, then natural name order (the stored key, then the name, both in
 * the "C" collation, which compares code points like the browser does), then the id,
 * which the connection appends. Times are ordered as fixed-width UTC text in
 * milliseconds, what the browser sees, so cursors stay exact; a missing heartbeat sorts
 * as the empty string, since a NULL sort key could never be paged past.
 */
export function agentOrderQuery(order: AgentOrder | undefined): {
  extras: Record<string, (t: AgentsTable) => SQL>;
  orderBy: Record<string, 'asc' | 'desc'>;
} {
  const { field, direction } = order ?? DEFAULT_AGENT_ORDER;
  const extras: Record<string, (t: AgentsTable) => SQL> = {};
  const orderBy: Record<string, 'asc' | 'desc'> = {};
  const by = (key: string, expression?: (t: AgentsTable) => SQL) => {
    if (expression) extras[key] = expression;
    orderBy[key] = direction;
  };
  switch (field) {
    case 'severity':
      by('severityRank', (t) => severity(t.status));
      by('statusSince', (t) => ms(t.statusChangedAt));
      break;
    case 'statusSince':
      by('statusSince', (t) => ms(t.statusChangedAt));
      break;
    case 'status':
      by('status');
      break;
    case 'type':
      by('typeKey', (t) => inC(t.type));
      break;
    case 'environment':
      by('environmentKey', (t) => inC(t.environment));
      break;
    case 'createdAt':
      by('sortKey', (t) => ms(t.createdAt));
      break;
    case 'lastHeartbeat':
      by('sortKey', (t) => sql<string>`coalesce(${ms(t.lastHeartbeat)}, '')`);
      break;
    case 'name':
      break;
  }
  by('nameKey', (t) => inC(t.nameKey));
  by('nameText', (t) => inC(t.name));
  return { extras, orderBy };
}

/** What a cursor holds for each sort key: a rank, an enum value, the id; every other key is text. */
const CURSOR_VALUES: Record<string, (v: unknown) => boolean> = {
  severityRank: (v) => Object.values(STATUS_SEVERITY).includes(v as number),
  status: (v) => (AGENT_STATUSES as readonly unknown[]).includes(v),
  id: isUuid,
};
const sortText = (v: unknown) => typeof v === 'string' && !hasNul(v) && !hasLoneSurrogate(v);

/**
 * Refuses an `after` or `before` that is not a cursor the connection wrote for this order:
 * one value per sort key of agentOrderQuery, then the id (the tie-breaker the connection
 * appends), each of the type that key has. The drizzle plugin decodes whatever a cursor's
 * tags say (numbers, bigints, dates, bytes, JSON) and binds it as it is, and it takes a
 * cursor with fewer values than keys as a prefix: a forged one reached the database as a
 * comparison it cannot make (text against the status enum, a NUL, an integer out of
 * range), a 500; bytes even broke the PostgreSQL protocol, which counts as an outage (503).
 * Run before the plugin reads the cursor, so none of that reaches SQL.
 */
export function checkAgentCursor(order: AgentOrder | undefined, cursor: string | null | undefined, path: 'after' | 'before'): void {
  // An empty one is no cursor to the connection either: it pages from the start.
  if (!cursor) return;
  const keys = [...Object.keys(agentOrderQuery(order).orderBy), 'id'];
  let values: unknown;
  try {
    const text = decodeBase64(cursor);
    if (text.startsWith('DC:')) values = decodeCursorChunk(text.slice(3));
  } catch {
    // not a cursor at all: refused below
  }
  const fits = Array.isArray(values) && values.length === keys.length && keys.every((key, i) => (CURSOR_VALUES[key] ?? sortText)(values[i]));
  if (!fits) throw badInput({ [path]: 'must be a cursor from an earlier page in the same order' });
}
