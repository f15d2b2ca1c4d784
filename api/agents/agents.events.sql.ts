import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { preparedStatement } from '../db';
import type { Identity, RegistrationFields } from './agents.store';
import { agents } from './agents.table';
import { SNAPSHOT_COLUMNS } from './agents.snapshot';
import { AGENT_KIND } from './agents.types';

/**
 * The agent in row `alias` as an event's snapshot (see SNAPSHOT_COLUMNS). Its tags are
 * read from agent_tags, or given as `tags`, a jsonb array of them sorted, for a statement
 * that writes them itself (tagsJsonSql) or has read many agents' tags in one pass.
 */
export function agentSnapshotSql(alias: string, tags?: SQL): SQL {
  const fields = Object.entries(SNAPSHOT_COLUMNS).map(([field, column]) => `'${field}', ${alias}.${column}`);
  const tagList = tags ?? sql.raw(`coalesce((select jsonb_agg(t.tag order by t.tag) from agent_tags t where t.agent_id = ${alias}.id), '[]'::jsonb)`);
  return sql`jsonb_build_object(${sql.raw(fields.join(', '))}, 'tags', ${tagList})`;
}

/** The distinct tags of a text[] expression as a sorted jsonb array. */
const tagsJsonSql = (tags: SQL): SQL => sql`(select coalesce(jsonb_agg(x.tag order by x.tag), '[]'::jsonb) from (select distinct unnest(${tags})) as x(tag))`;

/** The columns of `alias` a snapshot reads, for a statement that returns no more of its rows than that (`returning …`). */
export const snapshotColumnsSql = (alias: string): SQL => sql.raw(['id', ...Object.values(SNAPSHOT_COLUMNS).filter((c) => c !== 'id')].map((c) => `${alias}.${c}`).join(', '));

/**
 * `insert into events …` of one status change per row of `from` (a relation with the
 * snapshot's columns, snapshotColumnsSql, and those `previousStatus` and `reason` read),
 * for a statement that changes many agents and records their events in one pass. The
 * agents' tags are read in one pass too, not once per row.
 */
export function statusChangeEventsSql(from: string, at: Date, previousStatus: SQL, reason: SQL): SQL {
  const f = sql.raw(from);
  return sql`
    insert into events (subject_kind, subject_id, type, at, payload)
    select ${AGENT_KIND}, ${f}.id::text, 'status_changed', ${at}::timestamptz,
           ${agentPayloadSql(from, sql`to_jsonb(${previousStatus})`, sql`to_jsonb(${f}.status)`, sql`to_jsonb(${reason})`, sql`'{}'::jsonb`, sql`coalesce(tagged.tags, '[]'::jsonb)`)}
    from ${f}
    left join (
      select t.agent_id, jsonb_agg(t.tag order by t.tag) as tags from agent_tags t where t.agent_id = any(array(select id from ${f})) group by t.agent_id
    ) as tagged on tagged.agent_id = ${f}.id
    order by ${f}.id`;
}

/** An agent event's payload (agents.events.ts reads it back), from the row in `alias` and the change's own fields as JSON. */
export function agentPayloadSql(alias: string, previousStatus: SQL, status: SQL, reason: SQL, data: SQL, tags?: SQL): SQL {
  return sql`jsonb_build_object('agent', ${agentSnapshotSql(alias, tags)}, 'previousStatus', ${previousStatus}, 'status', ${status}, 'reason', ${reason}, 'data', ${data})`;
}

/**
 * Read back in SQL from the payload of an agent event in row `alias` of `events`, for a
 * reader that needs no more of it: the status before the event, after it (both null
 * where the event changed none), and the agent's as its snapshot holds it.
 */
export const agentEventStatusesSql = (alias: string) => ({
  previous: sql.raw(`(${alias}.payload->>'previousStatus')`),
  status: sql.raw(`(${alias}.payload->>'status')`),
  agent: sql.raw(`(${alias}.payload->'agent'->>'status')`),
});

export type NewAgent = Identity & RegistrationFields & { id: string; tokenHash: string; createdAt: Date; statusChangedAt: Date };

/** The columns a registration writes, in the order of its statement. */
const NEW_AGENT_KEYS = [
  'id', 'name', 'host', 'port', 'environment', 'tokenHash', 'createdAt', 'statusChangedAt',
  'type', 'metadata', 'heartbeatIntervalSeconds', 'status', 'health', 'healthMessage', 'lastSequence', 'offlineAt', 'updatedAt',
] as const satisfies readonly (keyof NewAgent)[];
// Every field of NewAgent has its column in the statement.
const everyField: Exclude<keyof NewAgent, (typeof NEW_AGENT_KEYS)[number]> extends never ? true : never = true;
void everyField;

const AGENT_COLUMNS = getTableColumns(agents);

/** A new agent, its tags and its event (agentStore.insertRegistered). */
export const insertRegisteredAgent = preparedStatement(
  'agent_register',
  sql`
    with a as (
      insert into agents (${sql.join(NEW_AGENT_KEYS.map((k) => sql.identifier(AGENT_COLUMNS[k].name)), sql`, `)})
      values (${sql.join(NEW_AGENT_KEYS.map((k) => sql`${sql.placeholder(k)}::${sql.raw(AGENT_COLUMNS[k].getSQLType())}`), sql`, `)})
      on conflict (name, host, port, environment) do nothing
      returning *
    ), tagged as (
      insert into agent_tags (agent_id, tag, source)
      select a.id, x.tag, x.source::tag_source from a cross join unnest(${sql.placeholder('tags')}::text[], ${sql.placeholder('sources')}::text[]) as x(tag, source)
      on conflict do nothing
    )
    insert into events (subject_kind, subject_id, type, at, payload)
    select ${AGENT_KIND}, a.id::text, 'registered', ${sql.placeholder('at')}::timestamptz,
           ${agentPayloadSql('a', sql`null::jsonb`, sql`to_jsonb(a.status)`, sql`null::jsonb`, sql`${sql.placeholder('data')}::jsonb`, tagsJsonSql(sql`${sql.placeholder('tags')}::text[]`))}
    from a
    returning payload->'agent' as agent`,
);

/** One event per change, each carrying its agent's row as the change left it. */
export const insertAgentEvents = preparedStatement(
  'agent_events_insert',
  sql`
    insert into events (subject_kind, subject_id, type, at, payload)
    select ${AGENT_KIND}, a.id::text, c.v->>'type', ${sql.placeholder('at')}::timestamptz,
           ${agentPayloadSql('a', sql`c.v->'previousStatus'`, sql`c.v->'status'`, sql`c.v->'reason'`, sql`coalesce(c.v->'data', '{}'::jsonb)`)}
    from jsonb_array_elements(${sql.placeholder('changes')}::jsonb) with ordinality as c(v, n)
    join agents a on a.id = (c.v->>'agentId')::uuid
    order by c.n`,
);
