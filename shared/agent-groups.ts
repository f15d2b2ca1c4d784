/**
 * Membership in a group of agentGroups, as the server's SQL selects it
 * (api/agents/agents.filter.ts, `filter.group`) and as live streams and the dashboard
 * mirror it. It imports only its sibling: the dashboard includes this file too.
 */

import { metadataText } from './agent-search';

export type GroupBy = { field: 'environment' | 'type' | 'tag' } | { metadataKey: string };

/** An agent's group under a metadata key, as PostgreSQL's `->>` keys it: null when it lacks the key or holds a JSON null. */
export const metadataGroupKey = (metadata: Record<string, unknown>, key: string): string | null =>
  Object.hasOwn(metadata, key) && metadata[key] !== null ? (metadataText(metadata[key]) ?? null) : null;

/** Whether an agent is counted under `key` (null: no tags, no such metadata key) when grouping `by`. */
export function inGroup(
  a: { type: string; environment: string; tags: readonly string[]; metadata?: unknown },
  by: GroupBy,
  key: string | null,
): boolean {
  if ('metadataKey' in by) {
    const metadata = a.metadata !== null && typeof a.metadata === 'object' ? (a.metadata as Record<string, unknown>) : {};
    return metadataGroupKey(metadata, by.metadataKey) === key;
  }
  if (by.field === 'tag') return key === null ? a.tags.length === 0 : a.tags.includes(key);
  return (by.field === 'type' ? a.type : a.environment) === key;
}
