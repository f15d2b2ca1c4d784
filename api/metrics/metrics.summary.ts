import { sql, type SQL } from 'drizzle-orm';

export const GROUP_BY = ['none', 'environment', 'type', 'tag', 'agent'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

/**
 * How a summary groups the fleet. By tag, an agent counts in each of its tags' groups,
 * and one without tags in the group with a null key; `none` is one group, `all`.
 */
export function summaryGroup(groupBy: GroupBy): { group: SQL; groupJoin: SQL } {
  switch (groupBy) {
    case 'environment':
      return { group: sql`agents.environment::text`, groupJoin: sql`` };
    case 'type':
      return { group: sql`agents.type::text`, groupJoin: sql`` };
    case 'agent':
      return { group: sql`agents.id::text`, groupJoin: sql`` };
    case 'tag':
      return { group: sql`g.tag::text`, groupJoin: sql`left join agent_tags g on g.agent_id = agents.id` };
    default:
      return { group: sql`'all'::text`, groupJoin: sql`` };
  }
}
