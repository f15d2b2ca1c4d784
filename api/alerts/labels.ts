import { matchesFilter } from '../agents/agents.filter';
import type { AgentRef, Matcher, RuleScope, Severity } from './alerts.types';

/**
 * The labels an alert is matched and grouped by (silences, routing policies), in
 * Alertmanager's spirit: `alertname` is the rule's name; the agent's fields come as
 * `agent`, `agent_id`, `type`, `environment`, `host`; the rule's own labels are added
 * and cannot override these. Tags are matched by the special matcher name `tag`.
 */
export function alertLabels(a: { ruleName: string; ruleId: string | null; severity: Severity; agent: AgentRef; labels: Record<string, string> }): Record<string, string> {
  return labelMap({
    ...a.labels,
    alertname: a.ruleName,
    rule_id: a.ruleId ?? '',
    severity: a.severity,
    agent: a.agent.name,
    agent_id: a.agent.id,
    type: a.agent.type,
    environment: a.agent.environment,
    host: a.agent.host,
  });
}

/**
 * A label map with no prototype, from the own string properties of `from`: a label may be
 * named `__proto__` or `constructor` like any other, and is then a label, not an object's
 * member.
 */
export function labelMap(from: Record<string, unknown> = {}): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(from)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A label's value, or '' when the map has no such label of its own (never a member of Object.prototype). */
export function labelValue(labels: Record<string, string>, name: string): string {
  if (!Object.hasOwn(labels, name)) return '';
  const v = labels[name];
  return typeof v === 'string' ? v : '';
}

/** The matcher name prefix that reads the agent's metadata: `metadata.region = eu`. */
export const METADATA_MATCHER = 'metadata.';

/**
 * Every matcher must hold. `tag = x` holds when the agent carries tag x, `tag != x` when
 * it does not; `metadata.k = v` when the agent's metadata k is v (as the fleet filter
 * compares it), `metadata.k != v` when it is not (or has no k).
 */
export function matchesAll(matchers: Matcher[], labels: Record<string, string>, tags: string[], metadata: Record<string, unknown> = {}): boolean {
  return matchers.every((m) => {
    const equal =
      m.name === 'tag'
        ? tags.includes(m.value)
        : m.name.startsWith(METADATA_MATCHER)
          ? matchesFilter({ name: '', host: '', type: '', environment: '', status: '', tags: [], metadata }, { metadata: [{ key: m.name.slice(METADATA_MATCHER.length), value: m.value }] })
          : labelValue(labels, m.name) === m.value;
    return m.op === '=' ? equal : !equal;
  });
}

/** Whether a rule's scope selects an agent: the fleet's filter (status aside), and its ids if any. */
export function inScope(scope: RuleScope, agent: AgentRef): boolean {
  if (scope.ids && scope.ids.length > 0 && !scope.ids.includes(agent.id)) return false;
  return matchesFilter({ ...agent, status: agent.status }, { ...scope, status: undefined });
}

/** Just the fields an alert keeps, from a wider agent (a row, a snapshot). */
export const agentRef = (a: AgentRef): AgentRef => ({
  id: a.id,
  name: a.name,
  type: a.type,
  host: a.host,
  port: a.port,
  environment: a.environment,
  status: a.status,
  tags: a.tags,
  metadata: a.metadata,
});
