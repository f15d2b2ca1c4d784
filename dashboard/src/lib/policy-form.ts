import type { CreatePolicyMutation, Policy } from './notification-documents';
import type { VariablesOf } from './graphql';
import { matchersInput, type MatcherRow } from './matchers';

export type PolicyInput = VariablesOf<typeof CreatePolicyMutation>['input'];

/** The policy editor's fields, as typed: group-by labels are text until sent. */
export interface PolicyForm {
  name: string;
  enabled: boolean;
  matchers: MatcherRow[];
  channelIds: string[];
  /** Comma-separated label names. */
  groupBy: string;
  groupWaitSeconds: number | null;
  /** In minutes, as people think of reminders; 0: none. */
  repeatMinutes: number | null;
}

export const emptyPolicyForm = (): PolicyForm => ({ name: '', enabled: true, matchers: [], channelIds: [], groupBy: 'alertname, environment', groupWaitSeconds: 0.5, repeatMinutes: 240 });

export const formFromPolicy = (p: Policy): PolicyForm => ({
  name: p.name,
  enabled: p.enabled,
  matchers: p.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })),
  channelIds: [...p.channelIds],
  groupBy: p.groupBy.join(', '),
  groupWaitSeconds: p.groupWaitSeconds,
  repeatMinutes: p.repeatIntervalSeconds / 60,
});

/** The form as the API takes it; a number left empty goes as null, so the server's default applies. */
export function policyInput(f: PolicyForm): PolicyInput {
  const groupBy = f.groupBy
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean);
  return {
    name: f.name.trim(),
    enabled: f.enabled,
    matchers: matchersInput(f.matchers),
    channelIds: f.channelIds,
    groupBy,
    groupWaitSeconds: f.groupWaitSeconds,
    repeatIntervalSeconds: f.repeatMinutes === null ? null : Math.round(f.repeatMinutes * 60),
  };
}

/** `every 4 h`, `every 30 min`, or `no reminders`. */
export function repeatText(seconds: number): string {
  if (seconds === 0) return 'no reminders';
  return seconds % 3600 === 0 ? `reminders every ${seconds / 3600} h` : `reminders every ${Math.round(seconds / 60)} min`;
}
