import type { AgentFilter, AgentStatus } from '../agents/agents.types';

export const RULE_KINDS = ['agent_status', 'metric_threshold', 'metric_absent', 'flapping'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** The fleet's filter, plus explicit agent ids. */
export interface RuleScope extends AgentFilter {
  ids?: string[];
}

export const AGGREGATES = ['avg', 'max', 'min', 'last', 'rate'] as const;
export type Aggregate = (typeof AGGREGATES)[number];
export const COMPARATORS = ['>', '>=', '<', '<='] as const;
export type Comparator = (typeof COMPARATORS)[number];

export interface StatusCondition {
  statuses: AgentStatus[];
}
export interface ThresholdCondition {
  metric: string;
  labels?: Record<string, string>;
  aggregate: Aggregate;
  windowSeconds: number;
  op: Comparator;
  threshold: number;
}
export interface AbsentCondition {
  metric: string;
  labels?: Record<string, string>;
  absentSeconds: number;
}
export interface FlappingCondition {
  changes: number;
  windowSeconds: number;
}
export type RuleCondition = StatusCondition | ThresholdCondition | AbsentCondition | FlappingCondition;

export interface Rule {
  id: string;
  name: string;
  kind: RuleKind;
  scope: RuleScope;
  condition: RuleCondition;
  forSeconds: number;
  consecutive: number | null;
  keepFiringForSeconds: number;
  severity: Severity;
  labels: Record<string, string>;
  summary: string;
  description: string;
  enabled: boolean;
  builtin: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What an alert keeps of its agent: enough to show, match and notify after the agent is gone. */
export interface AgentRef {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number;
  environment: string;
  status: AgentStatus;
  tags: string[];
  /** For scopes and silences that match metadata; absent from alerts written before it was kept. */
  metadata?: Record<string, unknown>;
}

/** A silence matcher: `name` is a label of the alert (see alertLabels); `tag` tests the agent's tags. */
export interface Matcher {
  name: string;
  op: '=' | '!=';
  value: string;
}

/** Weekly windows in a time zone: on these days (0 = Sunday), from `start` to `end` ("HH:MM"; an end before the start runs past midnight). */
export interface WeeklySchedule {
  days: number[];
  start: string;
  end: string;
  timezone: string;
}

export interface Acknowledgement {
  by: string;
  at: Date;
  comment: string | null;
}

export interface Alert {
  id: string;
  ruleId: string | null;
  ruleName: string;
  ruleKind: RuleKind;
  agentId: string;
  agent: AgentRef;
  state: AlertState;
  severity: Severity;
  labels: Record<string, string>;
  summary: string;
  description: string;
  value: number | null;
  startedAt: Date;
  firedAt: Date | null;
  resolvedAt: Date | null;
  clearingSince: Date | null;
  resolveReason: string | null;
  acknowledgement: Acknowledgement | null;
  silencedBy: string[];
  flapping: boolean;
  updatedAt: Date;
}

export interface AlertFilter {
  state?: AlertState[];
  severity?: Severity[];
  ruleId?: string;
  agentId?: string;
  acknowledged?: boolean;
  silenced?: boolean;
}
