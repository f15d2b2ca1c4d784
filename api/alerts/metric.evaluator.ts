import type { Db } from '../db';
import { ALERT_KIND } from './alerts.events';
import { alertStore } from './alerts.store';
import type { AbsentCondition, AgentRef, Comparator, Rule, ThresholdCondition } from './alerts.types';
import { inScope } from './labels';
import { AlertBatch } from './lifecycle';
import { metricRuleStore } from './metric.store';
import { activeSilences, type EvaluatorDeps } from './status.consumer';
import { ruleStore } from './rules.store';

export const METRIC_KINDS = ['metric_threshold', 'metric_absent'] as const;

const compare: Record<Comparator, (a: number, b: number) => boolean> = {
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
};

/**
 * Whether a metric rule's condition holds for each agent now, and the value it saw. An
 * agent with several matching series (labels the rule does not pin) is judged by the
 * worst of them: the highest for > and >=, the lowest for < and <=.
 */
export async function metricValues(db: Db, rule: Rule, agents: AgentRef[], now: Date, rawRetentionDays: number) {
  const holds = new Map<string, { holds: boolean; value: number | null }>();
  const ids = agents.map((a) => a.id);
  if (rule.kind === 'metric_threshold') {
    const c = rule.condition as ThresholdCondition;
    const known = await metricRuleStore.known(db, c.metric);
    const rows = await metricRuleStore.aggregates(db, { metric: c.metric, labels: c.labels ?? {}, agentIds: ids, from: new Date(now.getTime() - c.windowSeconds * 1000), to: now, aggregate: c.aggregate });
    const high = c.op === '>' || c.op === '>=';
    for (const r of rows) {
      const seen = holds.get(r.agentId);
      const value = seen?.value === null || seen === undefined ? r.value : high ? Math.max(seen.value, r.value) : Math.min(seen.value, r.value);
      holds.set(r.agentId, { holds: compare[c.op](value, c.threshold), value });
    }
    return { holds, known };
  }
  const c = rule.condition as AbsentCondition;
  const known = await metricRuleStore.known(db, c.metric);
  const last = await metricRuleStore.lastSeen(db, { metric: c.metric, labels: c.labels ?? {}, agentIds: ids, since: new Date(now.getTime() - rawRetentionDays * 86_400_000) });
  for (const [agentId, at] of last) {
    const silentFor = at === null ? null : (now.getTime() - at.getTime()) / 1000;
    holds.set(agentId, { holds: silentFor === null || silentFor >= c.absentSeconds, value: silentFor === null ? null : Math.round(silentFor) });
  }
  return { holds, known };
}

/**
 * Evaluates one metric rule if it is due, once across replicas: the evaluation is
 * claimed with a try-lock (taken without writing, so the alerts it changes can still be
 * locked first), re-checked as due under it, and rescheduled in the same transaction.
 */
export async function evaluateMetricRule(deps: EvaluatorDeps & { db: Db; intervalMs: number; rawRetentionDays: number }, ruleId: string): Promise<boolean> {
  const { events, clock } = deps;
  return events.transaction(async (tx) => {
    const now = clock.now();
    const rule = await ruleStore.claimEvaluation(tx, ruleId, now);
    if (!rule) return false;
    const fleet = await alertStore.agentRefs(tx);
    const scoped = fleet.filter((a) => inScope(rule.scope, a));
    const { holds } = await metricValues(tx, rule, scoped, now, deps.rawRetentionDays);
    const candidates = await alertStore.openForRules(tx, [rule.id]);
    const locked = await events.lockSubjects(tx, ALERT_KIND, candidates.map((a) => a.id));
    const open = new Map((await alertStore.byIds(tx, locked)).filter((a) => a.state !== 'resolved').map((a) => [a.agentId, a]));
    const batch = new AlertBatch(deps, now, await activeSilences(tx, now));
    const c = rule.condition as { metric: string };
    for (const agent of scoped) {
      const h = holds.get(agent.id) ?? { holds: false, value: null };
      batch.step(rule, open.get(agent.id), { ...h, agent, metric: c.metric });
      open.delete(agent.id);
    }
    // Open alerts of agents the scope no longer selects, or that are gone.
    const present = new Map(fleet.map((a) => [a.id, a]));
    for (const a of open.values()) {
      const agent = present.get(a.agentId);
      if (agent) batch.step(rule, a, { holds: false, value: null, agent, metric: c.metric });
      else batch.resolve(a, 'the agent was deregistered');
    }
    await ruleStore.scheduleEvaluation(tx, rule.id, new Date(now.getTime() + deps.intervalMs));
    await batch.commit(tx);
    return true;
  });
}
