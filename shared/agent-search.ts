/**
 * The fleet's free-text search, as the server's SQL applies it (api/agents/agents.filter.ts)
 * and as live streams and the dashboard mirror it: a case-insensitive substring of the
 * name, the host or any string metadata value; a search of the form `key=value` also
 * finds that metadata, the key exactly and the value without regard to case.
 * No imports: the dashboard includes this file too.
 */

const SEARCH_METADATA = /^([A-Za-z0-9_][A-Za-z0-9_.:/-]*)=(.*)$/s;

/** The metadata matcher a search spells, when it is `key=value` (`region=us-east-1`). */
export function searchMetadata(search: string): { key: string; value: string } | undefined {
  const m = SEARCH_METADATA.exec(search);
  return m ? { key: m[1], value: m[2] } : undefined;
}

/** The text of a metadata value, as PostgreSQL's `->>` gives it: a string as is, anything else as JSON. */
export const metadataText = (v: unknown): string | undefined => (v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v));

/** The text of one metadata key, or undefined when the agent lacks it. */
export const metadataValue = (metadata: Record<string, unknown>, key: string): string | undefined =>
  Object.hasOwn(metadata, key) ? metadataText(metadata[key]) : undefined;

/** Whether an agent matches a (non-empty) search. */
export function matchesSearch(a: { name: string; host: string; metadata?: unknown }, search: string): boolean {
  const s = search.toLowerCase();
  const metadata = a.metadata !== null && typeof a.metadata === 'object' ? (a.metadata as Record<string, unknown>) : {};
  const kv = searchMetadata(search);
  return (
    a.name.toLowerCase().includes(s) ||
    a.host.toLowerCase().includes(s) ||
    Object.values(metadata).some((v) => typeof v === 'string' && v.toLowerCase().includes(s)) ||
    (kv !== undefined && metadataValue(metadata, kv.key)?.toLowerCase() === kv.value.toLowerCase())
  );
}
