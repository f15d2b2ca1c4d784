import { toAgentEvent, type AgentEvent } from '../agents/agents.events';
import { AGENT_KIND } from '../agents/agents.types';
import type { Clock } from '../clock';
import type { Db } from '../db';
import type { ConsumerDefinition } from '../events/consumers';
import type { EventLog } from '../events/events.log';
import { ALERT_KIND, RULE_KIND } from './alerts.events';
import { alertStore, type StoredAlert } from './alerts.store';
import type { AgentRef, FlappingCondition, Rule, StatusCondition } from './alerts.types';
import { agentRef, inScope } from './labels';
import { AlertBatch, type FlapSettings, type Notifier } from './lifecycle';
import { isActive } from './silences';
import { ruleStore } from './rules.store';
import { silenceStore } from './silences.store';

export interface EvaluatorDeps {
  events: EventLog;
  notifier: Notifier;
  clock: Clock;
  flap?: FlapSettings;
}

export const STATUS_KINDS = ['agent_status', 'flapping'] as const;

const key = (ruleId: string | null, agentId: string) => `${ruleId}:${agentId}`;

export async function activeSilences(db: Db, now: Date) {
  return (await silenceStore.silences(db, { activeAt: now })).filter((s) => isActive(s, now));
}

export const statusHolds = (rule: Rule, agent: AgentRef) => inScope(rule.scope, agent) && (rule.condition as StatusCondition).statuses.includes(agent.status);

/**
 * Evaluates flapping rules for some agents: the status changes the log holds for each
 * within the rule's window, against the rule's count.
 */
export async function evaluateFlapping(db: Db, batch: AlertBatch, rules: Rule[], agents: AgentRef[], open: Map<string, StoredAlert>, now: Date): Promise<void> {
  for (const rule of rules.filter((r) => r.kind === 'flapping')) {
    const { changes, windowSeconds } = rule.condition as FlappingCondition;
    const scoped = agents.filter((a) => inScope(rule.scope, a));
    const counts = await alertStore.statusChanges(db, scoped.map((a) => a.id), new Date(now.getTime() - windowSeconds * 1000));
    for (const agent of agents) {
      const n = counts.get(agent.id) ?? 0;
      const k = key(rule.id, agent.id);
      const holds = inScope(rule.scope, agent) && n >= changes;
      const after = batch.step(rule, open.get(k), { holds, value: n, agent });
      if (after) open.set(k, after);
      else open.delete(k);
    }
  }
}

/**
 * Status rules as a durable consumer of the event log: each agent event moves the
 * episodes of that agent's status and flapping rules on, and a rule's change makes it
 * be evaluated against the whole fleet, all in the consumer's transaction, so every
 * transition (and the notifications it enqueues) happens exactly once.
 */
export function statusConsumer(deps: EvaluatorDeps): ConsumerDefinition {
  return {
    name: 'alert-status',
    kinds: [AGENT_KIND, RULE_KIND],
    startAt: 'end',
    batchSize: 2000,
    async handle(tx, records) {
      const now = deps.clock.now();
      const rules = await ruleStore.rules(tx, { kinds: [...STATUS_KINDS], enabledOnly: true });
      const agentEvents = records.map(toAgentEvent).filter((e): e is AgentEvent => e !== null);
      const ruleIds = new Set(records.filter((r) => r.kind === RULE_KIND && r.type === 'saved').map((r) => r.subjectId));
      const reevaluated = rules.filter((r) => ruleIds.has(r.id));
      const gone = new Set(agentEvents.filter((e) => e.type === 'deregistered').map((e) => e.agentId));
      // Agents whose status changed: every open alert of theirs, of any rule, may start or stop flapping.
      const changed = new Set(agentEvents.filter((e) => e.type === 'status_changed' && !gone.has(e.agentId)).map((e) => e.agentId));
      if (agentEvents.length === 0 && reevaluated.length === 0) return;

      // Every open alert of these agents, of any rule: besides the steps of status rules,
      // a deregistration resolves them, a status change may start or stop their flapping,
      // and any change of the agent (its tags, its metadata) may change what silences them.
      const agentIds = [...new Set(agentEvents.map((e) => e.agentId))];
      const candidates = [...(await alertStore.openForAgents(tx, agentIds)), ...(await alertStore.openForRules(tx, reevaluated.map((r) => r.id)))];
      // Locked before the first write, then read again under the lock: an operator may
      // have acknowledged or silenced one in between.
      const locked = await deps.events.lockSubjects(tx, ALERT_KIND, candidates.map((a) => a.id));
      const open = new Map((await alertStore.byIds(tx, locked)).filter((a) => a.state !== 'resolved').map((a) => [key(a.ruleId, a.agentId), a]));
      const batch = new AlertBatch(deps, now, await activeSilences(tx, now));

      const latest = new Map<string, AgentRef>();
      for (const e of agentEvents) {
        if (e.type === 'deregistered') {
          for (const [k, a] of open) {
            if (a.agentId !== e.agentId) continue;
            batch.resolve(a, 'the agent was deregistered');
            open.delete(k);
          }
          latest.delete(e.agentId);
          continue;
        }
        const agent = agentRef(e.agent);
        latest.set(agent.id, agent);
        for (const rule of rules) {
          if (rule.kind !== 'agent_status') continue;
          const k = key(rule.id, agent.id);
          const after = batch.step(rule, open.get(k), { holds: statusHolds(rule, agent), value: null, agent }, e.at);
          if (after) open.set(k, after);
          else open.delete(k);
        }
      }
      for (const [k, a] of open) {
        const agent = latest.get(a.agentId);
        if (agent) open.set(k, batch.refreshAgent(a, agent));
      }
      await evaluateFlapping(tx, batch, rules, [...latest.values()], open, now);

      if (reevaluated.length > 0) {
        // The fleet as it is now: at least as new as any event this batch holds.
        const fleet = await alertStore.agentRefs(tx);
        for (const rule of reevaluated.filter((r) => r.kind === 'agent_status')) {
          for (const agent of fleet) {
            const k = key(rule.id, agent.id);
            const after = batch.step(rule, open.get(k), { holds: statusHolds(rule, agent), value: null, agent });
            if (after) open.set(k, after);
            else open.delete(k);
          }
        }
        await evaluateFlapping(tx, batch, reevaluated, fleet, open, now);
        const present = new Set(fleet.map((a) => a.id));
        for (const [k, a] of open) {
          if (!present.has(a.agentId) && reevaluated.some((r) => r.id === a.ruleId)) {
            batch.resolve(a, 'the agent was deregistered');
            open.delete(k);
          }
        }
      }
      for (const a of open.values()) if (changed.has(a.agentId)) batch.recheck(a);
      await batch.commit(tx);
    },
  };
}
