import { sql, type SQL } from 'drizzle-orm';
import type { agents } from './agents.table';
import type { AgentFilter, AgentOrder } from './agents.types';

type AgentsTable = typeof agents;

const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** One translation of AgentFilter to SQL, for lists, counts and connections alike. */
export function agentFilterSql(t: AgentsTable, f: AgentFilter, opts: { ignoreStatus?: boolean } = {}): SQL {
  const parts: SQL[] = [sql`true`];
  if (f.status && !opts.ignoreStatus) {
    parts.push(sql`${t.status} in (${sql.join(f.status.map((s) => sql`${s}`), sql`, `)})`);
  }
  if (f.type) parts.push(sql`${t.type} = ${f.type}`);
  if (f.environment) parts.push(sql`${t.environment} = ${f.environment}`);
  if (f.search) {
    const p = likePattern(f.search);
    parts.push(sql`(${t.name} ilike ${p} or ${t.host} ilike ${p})`);
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

/** Whether an agent (or its event snapshot) passes a filter, for live streams. */
export function matchesFilter(
  a: { status: string; type: string; environment: string; name: string; host: string; tags: string[] },
  f: AgentFilter,
): boolean {
  if (f.status && !f.status.includes(a.status as never)) return false;
  if (f.type && a.type !== f.type) return false;
  if (f.environment && a.environment !== f.environment) return false;
  if (f.search) {
    const s = f.search.toLowerCase();
    if (!a.name.toLowerCase().includes(s) && !a.host.toLowerCase().includes(s)) return false;
  }
  if (f.tags && !f.tags.every((tag) => a.tags.includes(tag))) return false;
  return true;
}

/**
 * Ordering for connections. Timestamps are ordered through fixed-width UTC text so that
 * cursors keep microseconds, and a missing heartbeat sorts as the empty string, since
 * a NULL sort key could never be paged past.
 */
export function agentOrderQuery(order: AgentOrder | undefined): {
  extras: Record<string, (t: AgentsTable) => SQL>;
  orderBy: Record<string, 'asc' | 'desc'>;
} {
  const direction = order?.direction ?? 'asc';
  const utc = (col: SQL | unknown) => sql`to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')`;
  switch (order?.field ?? 'name') {
    case 'createdAt':
      return {
        extras: { sortKey: (t: AgentsTable) => utc(t.createdAt) },
        orderBy: { sortKey: direction },
      };
    case 'lastHeartbeat':
      return {
        extras: { sortKey: (t: AgentsTable) => sql<string>`coalesce(${utc(t.lastHeartbeat)}, '')` },
        orderBy: { sortKey: direction },
      };
    default:
      return { extras: {}, orderBy: { [order?.field ?? 'name']: direction } };
  }
}
