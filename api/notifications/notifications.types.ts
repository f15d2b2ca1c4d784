import type { AgentRef, AlertState, Severity } from '../alerts/alerts.types';

/** An alert as a notification carries it: as it was at the transition that enqueued it. */
export interface NotificationAlert {
  id: string;
  /** firing, resolved, or a reminder of an alert still firing. */
  event: 'firing' | 'resolved' | 'reminder';
  state: AlertState;
  ruleId: string | null;
  ruleName: string;
  severity: Severity;
  agent: AgentRef;
  labels: Record<string, string>;
  summary: string;
  description: string;
  value: number | null;
  startedAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
  acknowledged: boolean;
}

export type ChannelFormat = 'json' | 'alertmanager' | 'slack';
