import { sql, type SQL } from 'drizzle-orm';
import { SNAPSHOT_COLUMNS } from './agents.snapshot';
import { AGENT_KIND } from './agents.types';

/**
 * The agent in row `alias` as an event's snapshot (see SNAPSHOT_COLUMNS). Its tags are
 * read from agent_tags, or taken from `tags` (a text[] expression) for a statement that
 * writes them itself and so cannot read them back.
 */
export function agentSnapshotSql(alias: string, tags?: SQL): SQL {
  const fields = Object.entries(SNAPSHOT_COLUMNS).map(([field, column]) => `'${field}', ${alias}.${column}`);
  const tagList = tags
    ? sql`(select coalesce(jsonb_agg(x.tag order by x.tag), '[]'::jsonb) from (select distinct unnest(${tags})) as x(tag))`
    : sql.raw(`coalesce((select jsonb_agg(t.tag order by t.tag) from agent_tags t where t.agent_id = ${alias}.id), '[]'::jsonb)`);
  return sql`jsonb_build_object(${sql.raw(fields.join(', '))}, 'tags', ${tagList})`;
}

/**
 * `insert into events …` of one status change per row of `from` (a relation with every
 * agent column, such as an UPDATE's `returning a.*`), for a statement that changes many
 * agents and records their events in one pass. `previousStatus` and `reason` are SQL over
 * `from`'s columns.
 */
export function statusChangeEventsSql(from: string, at: Date, previousStatus: SQL, reason: SQL): SQL {
  return sql`
    insert into events (subject_kind, subject_id, type, at, payload)
    select ${AGENT_KIND}, ${sql.raw(from)}.id::text, 'status_changed', ${at}::timestamptz,
           ${agentPayloadSql(from, sql`to_jsonb(${previousStatus})`, sql`to_jsonb(${sql.raw(from)}.status)`, sql`to_jsonb(${reason})`, sql`'{}'::jsonb`)}
    from ${sql.raw(from)}
    order by ${sql.raw(from)}.id`;
}

/** An agent event's payload (agents.events.ts reads it back), from the row in `alias` and the change's own fields as JSON. */
export function agentPayloadSql(alias: string, previousStatus: SQL, status: SQL, reason: SQL, data: SQL, tags?: SQL): SQL {
  return sql`jsonb_build_object('agent', ${agentSnapshotSql(alias, tags)}, 'previousStatus', ${previousStatus}, 'status', ${status}, 'reason', ${reason}, 'data', ${data})`;
}
