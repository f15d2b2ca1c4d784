import { parseFilter } from '../agents/agents.input';
import { AGENT_STATUSES, type AgentStatus } from '../agents/agents.types';
import { AppError } from '../errors';
import { isUuid, Validator } from '../validation';
import { AGGREGATES, COMPARATORS, RULE_KINDS, SEVERITIES, type Aggregate, type Comparator, type Rule, type RuleCondition, type RuleKind, type RuleScope, type Severity } from './alerts.types';
import { templateProblem } from './template';

/** A rule as an admin writes it: everything but what the server keeps itself. */
export type RuleInput = Omit<Rule, 'id' | 'builtin' | 'createdAt' | 'updatedAt'>;

const DAY = 86_400;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:.]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_LABELS = 20;

export const DEFAULT_SUMMARY: Record<RuleKind, string> = {
  agent_status: '{{agent.name}} is {{agent.status}}',
  metric_threshold: '{{agent.name}}: {{metric}} is {{value}}',
  metric_absent: '{{agent.name}} stopped sending {{metric}}',
  flapping: '{{agent.name}} changed status {{value}} times',
};

function pick<T extends string>(v: Validator, raw: unknown, path: string, allowed: readonly T[], required = true): T | undefined {
  if (raw === undefined || raw === null) return required ? v.fail(path, `is required (one of ${allowed.join(', ')})`) : undefined;
  if (typeof raw !== 'string' || !allowed.includes(raw as T)) return v.fail(path, `must be one of ${allowed.join(', ')}`);
  return raw as T;
}

function duration(v: Validator, raw: unknown, path: string, fallback: number, max = 7 * DAY): number {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw === 'number' && raw < 0) return v.fail(path, 'must not be negative') ?? fallback;
  return v.integer(raw, path, { min: 0, max }) ?? fallback;
}

export function stringMap(v: Validator, raw: unknown, path: string): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return v.fail(path, 'must be an object of strings') ?? {};
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_LABELS) return v.fail(path, `must hold at most ${MAX_LABELS} labels`) ?? {};
  // Without a prototype, so a label named __proto__ is kept as a label like any other.
  const out = Object.create(null) as Record<string, string>;
  for (const [k, value] of entries) {
    if (!LABEL_NAME.test(k) || k.length > 64) v.fail(`${path}.${k}`, 'label names hold letters, digits and _ (at most 64), and do not start with a digit');
    else out[k] = v.string(value, `${path}.${k}`, { max: 1024, required: true }) ?? '';
  }
  return out;
}

function scopeOf(v: Validator, raw: unknown): RuleScope {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return v.fail('scope', 'must be an object like the fleet filter') ?? {};
  const { ids, status: _ignored, inactive: _notAScope, ...filter } = raw as Record<string, unknown>;
  let scope: RuleScope = {};
  try {
    scope = parseFilter(filter);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    for (const [k, m] of Object.entries(err.fields ?? {})) v.fail(k.replace(/^filter\./, 'scope.'), m);
  }
  if (ids !== undefined && ids !== null) {
    if (!Array.isArray(ids) || ids.length > 1000) v.fail('scope.ids', 'must be a list of at most 1000 agent ids');
    else if (!ids.every(isUuid)) v.fail('scope.ids', 'must hold agent ids (UUIDs)');
    else if (ids.length > 0) scope.ids = [...new Set(ids.map((id) => id.toLowerCase()))];
  }
  return scope;
}

function conditionOf(v: Validator, kind: RuleKind | undefined, raw: unknown): RuleCondition {
  const c = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  if (raw !== undefined && raw !== null && c !== raw) v.fail('condition', 'must be an object');
  const metric = () => {
    const name = v.string(c.metric, 'condition.metric', { max: 200, required: true });
    if (name !== undefined && !METRIC_NAME.test(name)) v.fail('condition.metric', 'is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:.]*)');
    return name ?? '';
  };
  const window = (path: string, fallback: number) => {
    const s = duration(v, c[path], `condition.${path}`, fallback, DAY);
    if (s < 1) v.fail(`condition.${path}`, 'must be at least 1 second');
    return s;
  };
  switch (kind) {
    case 'agent_status': {
      const list = c.statuses ?? ['offline'];
      if (!Array.isArray(list) || list.length === 0 || !list.every((s) => AGENT_STATUSES.includes(s as AgentStatus))) {
        v.fail('condition.statuses', `must be a non-empty list of ${AGENT_STATUSES.join(', ')}`);
        return { statuses: ['offline'] };
      }
      if (list.includes('online')) v.fail('condition.statuses', 'an alert on ONLINE would fire for every healthy agent; use OFFLINE or DEGRADED');
      return { statuses: [...new Set(list as AgentStatus[])] };
    }
    case 'metric_threshold': {
      const threshold = c.threshold;
      if (typeof threshold !== 'number' || !Number.isFinite(threshold)) v.fail('condition.threshold', 'is required: a finite number');
      const labels = stringMap(v, c.labels, 'condition.labels');
      return {
        metric: metric(),
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
        aggregate: pick<Aggregate>(v, c.aggregate ?? 'avg', 'condition.aggregate', AGGREGATES) ?? 'avg',
        windowSeconds: window('windowSeconds', 300),
        op: pick<Comparator>(v, c.op, 'condition.op', COMPARATORS) ?? '>',
        threshold: threshold as number,
      };
    }
    case 'metric_absent': {
      const labels = stringMap(v, c.labels, 'condition.labels');
      return { metric: metric(), ...(Object.keys(labels).length > 0 ? { labels } : {}), absentSeconds: window('absentSeconds', 300) };
    }
    case 'flapping': {
      const changes = v.integer(c.changes ?? 4, 'condition.changes', { min: 2, max: 1000 }) ?? 4;
      return { changes, windowSeconds: window('windowSeconds', 600) };
    }
    default:
      return { statuses: ['offline'] };
  }
}

/** Checks a whole rule and reports every problem at once, each under its field. */
export function parseRule(raw: Record<string, unknown>): RuleInput {
  const v = new Validator();
  const name = v.string(raw.name, 'name', { max: 200, required: true });
  const kind = pick<RuleKind>(v, raw.kind, 'kind', RULE_KINDS);
  const scope = scopeOf(v, raw.scope);
  const condition = conditionOf(v, kind, raw.condition);
  const forSeconds = duration(v, raw.forSeconds, 'forSeconds', 0);
  const keepFiringForSeconds = duration(v, raw.keepFiringForSeconds, 'keepFiringForSeconds', 0);
  let consecutive: number | null = null;
  if (raw.consecutive !== undefined && raw.consecutive !== null) {
    if (kind !== 'metric_threshold') v.fail('consecutive', 'applies to metric_threshold rules only');
    else if (forSeconds > 0) v.fail('consecutive', 'give either forSeconds or consecutive, not both');
    consecutive = v.integer(raw.consecutive, 'consecutive', { min: 1, max: 1000 }) ?? null;
  }
  const severity = pick<Severity>(v, raw.severity ?? 'warning', 'severity', SEVERITIES) ?? 'warning';
  const labels = stringMap(v, raw.labels, 'labels');
  const summary = v.string(raw.summary, 'summary', { max: 1000 }) || (kind ? DEFAULT_SUMMARY[kind] : '');
  const description = v.string(raw.description, 'description', { max: 4000 }) ?? '';
  for (const [path, text] of [['summary', summary], ['description', description]] as const) {
    const problem = templateProblem(text);
    if (problem) v.fail(path, problem);
  }
  const enabled = raw.enabled === undefined || raw.enabled === null ? true : raw.enabled === true;
  v.done();
  return { name: name!, kind: kind!, scope, condition, forSeconds, consecutive, keepFiringForSeconds, severity, labels, summary, description, enabled };
}
