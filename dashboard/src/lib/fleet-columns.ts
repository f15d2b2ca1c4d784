import { contentWidths, shareWidths } from './row-extras';
import type { SortField } from './types';

/** The fleet table's columns between the tick and the metric column, in order. */
export const COLUMNS: ReadonlyArray<{ label: string; field: SortField | null; cls: string }> = [
  { label: 'Status', field: 'SEVERITY', cls: 'c-status' },
  { label: 'Since', field: 'STATUS_SINCE', cls: 'c-since' },
  { label: 'Name', field: 'NAME', cls: 'c-name' },
  { label: 'Why', field: null, cls: 'c-why' },
  { label: 'Type', field: 'TYPE', cls: 'c-type' },
  { label: 'Environment', field: 'ENVIRONMENT', cls: 'c-env' },
  { label: 'Host', field: null, cls: 'c-host' },
  { label: 'Tags', field: null, cls: 'c-tags' },
  { label: 'Last heartbeat', field: 'LAST_HEARTBEAT', cls: 'c-hb' },
  { label: 'Offline in', field: null, cls: 'c-left' },
];

// Columns of one width whatever they hold (rem), and the least the Why column keeps (its width is auto).
const FIXED_REM: Record<string, number> = { 'c-pick': 2, 'c-status': 6.5, 'c-since': 5.5, 'c-tags': 9, 'c-hb': 10.5, 'c-left': 6.5, 'c-metric': 12 };
const WHY_MIN_REM = 12;

/**
 * Each column's CSS width by its class (undefined: auto). The fixed ones have theirs; the
 * others are sized to what the loaded rows hold, in ch of the table's font, but together
 * no wider than the viewport (100cqw) leaves beside the rest, so the table fits the page:
 * short of room, the widest are cut first, their long text ending in "…".
 */
export function columnWidths(
  agents: Parameters<typeof contentWidths>[0],
  shown: { pick: boolean; metric: boolean },
): (cls: string) => string | undefined {
  const widths = contentWidths(agents);
  const fixedRem =
    COLUMNS.reduce((sum, c) => sum + (FIXED_REM[c.cls] ?? 0), WHY_MIN_REM) + (shown.metric ? FIXED_REM['c-metric'] : 0) + (shown.pick ? FIXED_REM['c-pick'] : 0);
  const sized: Record<string, string> = shareWidths(
    { 'c-name': widths.name, 'c-type': widths.type, 'c-env': Math.max(widths.env, 12), 'c-host': Math.min(widths.host, 28) * 0.85 },
    `max(100cqw - ${fixedRem}rem, 20rem)`,
  );
  return (cls) => (cls in FIXED_REM ? `${FIXED_REM[cls]}rem` : sized[cls]);
}
