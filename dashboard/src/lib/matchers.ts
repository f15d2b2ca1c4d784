/** Label matchers, as silences and notification policies select alerts. */
export interface MatcherRow {
  name: string;
  op: 'EQ' | 'NE';
  value: string;
}

/** Labels a matcher can name (any rule label works too). */
export const MATCHER_LABELS = ['alertname', 'severity', 'agent', 'environment', 'type', 'host', 'tag', 'rule_id', 'agent_id'];

/** As the API takes them: names trimmed, values as typed. */
export const matchersInput = (list: readonly MatcherRow[]): MatcherRow[] => list.map((m) => ({ name: m.name.trim(), op: m.op, value: m.value }));

/** `environment=prod, severity!=info`; none reads as `every alert`. */
export function formatMatchers(list: readonly MatcherRow[]): string {
  return list.length === 0 ? 'every alert' : list.map((m) => `${m.name}${m.op === 'EQ' ? '=' : '!='}${m.value}`).join(', ');
}
