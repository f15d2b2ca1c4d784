import type { CreateRuleMutation, RulesQuery } from './alert-documents';
import type { ResultOf, VariablesOf } from './graphql';

export type Rule = ResultOf<typeof RulesQuery>['alertRules'][number];
export type RuleInput = VariablesOf<typeof CreateRuleMutation>['input'];
export type Kind = RuleInput['kind'];
type Severity = NonNullable<RuleInput['severity']>;
type Op = 'GT' | 'GE' | 'LT' | 'LE';
type Aggregate = 'AVG' | 'MAX' | 'MIN' | 'LAST' | 'RATE';
type WatchedStatus = 'OFFLINE' | 'DEGRADED';

/** The rule editor's fields, as typed: lists and labels are text until sent. */
export interface RuleForm {
  name: string;
  kind: Kind;
  severity: Severity;
  enabled: boolean;
  environment: string;
  type: string;
  /** Comma-separated; an agent must carry all of them. */
  tags: string;
  search: string;
  /** Agents picked by id (through the API); kept as they are. */
  ids: string[];
  statuses: WatchedStatus[];
  metric: string;
  /** `name=value, …`: only series with these labels. */
  metricLabels: string;
  aggregate: Aggregate;
  op: Op;
  threshold: number | null;
  windowSeconds: number | null;
  absentSeconds: number | null;
  changes: number | null;
  /** Wait `forSeconds`, or (metric thresholds) `consecutive` evaluations instead. */
  waitBy: 'time' | 'evaluations';
  forSeconds: number | null;
  consecutive: number | null;
  keepFiringForSeconds: number | null;
  /** `name=value, …`: the rule's labels, for silences and routing. */
  labels: string;
  summary: string;
  description: string;
}

export function emptyRuleForm(): RuleForm {
  return {
    name: '',
    kind: 'AGENT_STATUS',
    severity: 'WARNING',
    enabled: true,
    environment: '',
    type: '',
    tags: '',
    search: '',
    ids: [],
    statuses: ['OFFLINE'],
    metric: '',
    metricLabels: '',
    aggregate: 'AVG',
    op: 'GT',
    threshold: 90,
    windowSeconds: 300,
    absentSeconds: 300,
    changes: 4,
    waitBy: 'time',
    forSeconds: 0,
    consecutive: 3,
    keepFiringForSeconds: 0,
    labels: '',
    summary: '',
    description: '',
  };
}

const OPS: Record<string, Op> = { '>': 'GT', '>=': 'GE', '<': 'LT', '<=': 'LE' };
const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown, fallback: number | null) => (typeof v === 'number' ? v : fallback);

/** `name=value, …` to an object; an entry without `=` keeps its name with an empty value, for the server to name. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    const eq = entry.indexOf('=');
    if (eq < 0) out[entry] = '';
    else out[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim();
  }
  return out;
}

export function formatLabels(labels: unknown): string {
  if (!labels || typeof labels !== 'object') return '';
  return Object.entries(labels as Record<string, unknown>)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

/** A saved rule in the editor's fields (the saved condition spells statuses, comparators and aggregates its own way). */
export function formFromRule(rule: Rule): RuleForm {
  const scope = (rule.scope ?? {}) as Record<string, unknown>;
  const c = (rule.condition ?? {}) as Record<string, unknown>;
  const base = emptyRuleForm();
  return {
    ...base,
    name: rule.name,
    kind: rule.kind,
    severity: rule.severity,
    enabled: rule.enabled,
    environment: str(scope.environment),
    type: str(scope.type),
    tags: Array.isArray(scope.tags) ? scope.tags.join(', ') : '',
    search: str(scope.search),
    ids: Array.isArray(scope.ids) ? (scope.ids as string[]) : [],
    statuses: Array.isArray(c.statuses) ? (c.statuses as string[]).map((s) => s.toUpperCase() as WatchedStatus) : base.statuses,
    metric: str(c.metric),
    metricLabels: formatLabels(c.labels),
    aggregate: typeof c.aggregate === 'string' ? (c.aggregate.toUpperCase() as Aggregate) : base.aggregate,
    op: typeof c.op === 'string' ? (OPS[c.op] ?? base.op) : base.op,
    threshold: num(c.threshold, base.threshold),
    windowSeconds: num(c.windowSeconds, rule.kind === 'FLAPPING' ? 600 : base.windowSeconds),
    absentSeconds: num(c.absentSeconds, base.absentSeconds),
    changes: num(c.changes, base.changes),
    waitBy: rule.consecutive !== null ? 'evaluations' : 'time',
    forSeconds: rule.forSeconds,
    consecutive: rule.consecutive ?? base.consecutive,
    keepFiringForSeconds: rule.keepFiringForSeconds,
    labels: formatLabels(rule.labels),
    summary: rule.summary,
    description: rule.description,
  };
}

/** The editor's fields as the API takes them: only the settings of the chosen kind. */
export function inputFromForm(f: RuleForm): RuleInput {
  const tags = f.tags
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const metricLabels = parseLabels(f.metricLabels);
  const labelsOrNull = Object.keys(metricLabels).length > 0 ? metricLabels : null;
  const byEvaluations = f.kind === 'METRIC_THRESHOLD' && f.waitBy === 'evaluations';
  const condition: RuleInput['condition'] =
    f.kind === 'AGENT_STATUS'
      ? { statuses: f.statuses }
      : f.kind === 'METRIC_THRESHOLD'
        ? { metric: f.metric, labels: labelsOrNull, aggregate: f.aggregate, op: f.op, threshold: f.threshold, windowSeconds: f.windowSeconds }
        : f.kind === 'METRIC_ABSENT'
          ? { metric: f.metric, labels: labelsOrNull, absentSeconds: f.absentSeconds }
          : { changes: f.changes, windowSeconds: f.windowSeconds };
  return {
    name: f.name.trim(),
    kind: f.kind,
    severity: f.severity,
    enabled: f.enabled,
    scope: {
      environment: f.environment.trim() || null,
      type: f.type.trim() || null,
      tags: tags.length > 0 ? tags : null,
      search: f.search.trim() || null,
      ids: f.ids.length > 0 ? f.ids : null,
    },
    condition,
    forSeconds: byEvaluations ? 0 : f.forSeconds,
    consecutive: byEvaluations ? f.consecutive : null,
    keepFiringForSeconds: f.keepFiringForSeconds,
    labels: parseLabels(f.labels),
    summary: f.summary.trim() || null,
    description: f.description.trim() || null,
  };
}
