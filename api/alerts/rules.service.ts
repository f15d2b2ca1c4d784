import { randomUUID } from 'node:crypto';
import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import { badInput, notFound } from '../errors';
import { isUuid } from '../validation';
import { ALERT_KIND, RULE_KIND, ruleEvent } from './alerts.events';
import { alertStore } from './alerts.store';
import type { Rule } from './alerts.types';
import { inScope } from './labels';
import { AlertBatch } from './lifecycle';
import { metricValues } from './metric.evaluator';
import { parseRule, type RuleInput } from './rules.input';
import { statusHolds, type EvaluatorDeps } from './status.consumer';
import { uniqueOr, type Db } from '../db';
import { ruleStore } from './rules.store';

export const BUILTIN_OFFLINE = 'agent-offline';

export interface RulePreview {
  matchingAgents: number;
  wouldFire: number;
  /** Up to ten agents it would fire for. */
  firing: string[];
  warnings: string[];
}

/** Alert rules: checked on save, and every change written to the log so evaluation follows it in order. */
export class RuleService {
  constructor(private readonly deps: EvaluatorDeps & { db: Db; rawRetentionDays: number }) {}

  list(principal: Principal | undefined): Promise<Rule[]> {
    authorize(principal, 'read');
    return ruleStore.rules(this.deps.db);
  }

  async get(principal: Principal | undefined, id: string): Promise<Rule> {
    authorize(principal, 'read');
    const rule = isUuid(id) ? await ruleStore.rule(this.deps.db, id) : undefined;
    if (!rule) throw notFound(`alert rule ${id}`);
    return rule;
  }

  /** The built-in "Agent offline" rule, created on the first start; never twice, even by replicas starting together. */
  async ensureBuiltin(): Promise<void> {
    if (await ruleStore.builtinExists(this.deps.db, BUILTIN_OFFLINE)) return;
    const input = parseRule({
      name: 'Agent offline',
      kind: 'agent_status',
      condition: { statuses: ['offline'] },
      severity: 'critical',
      summary: '{{agent.name}} is offline',
      description: '{{agent.name}} ({{agent.type}}, {{agent.environment}}) on {{agent.host}} stopped sending heartbeats.',
    });
    await this.deps.events.transaction(async (tx) => {
      const id = randomUUID();
      this.deps.events.created(tx, RULE_KIND, id);
      const rule = await ruleStore.insertRule(tx, id, input, this.deps.clock.now(), BUILTIN_OFFLINE);
      if (rule) await this.deps.events.append(tx, [ruleEvent(id, 'saved')]);
    });
  }

  async create(principal: Principal | undefined, raw: Record<string, unknown>): Promise<{ rule: Rule; warnings: string[] }> {
    authorize(principal, 'admin');
    const input = parseRule(raw);
    const warnings = (await this.preview(principal, raw)).warnings;
    const taken = () => badInput({ name: `a rule named "${input.name}" exists already` });
    const rule = await uniqueOr(
      () =>
        this.deps.events.transaction(async (tx) => {
          const id = randomUUID();
          this.deps.events.created(tx, RULE_KIND, id);
          const rule = await ruleStore.insertRule(tx, id, input, this.deps.clock.now());
          if (!rule) throw taken();
          await this.deps.events.append(tx, [ruleEvent(id, 'saved')]);
          return rule;
        }),
      taken,
    );
    return { rule, warnings };
  }

  async update(principal: Principal | undefined, id: string, raw: Record<string, unknown>): Promise<{ rule: Rule; warnings: string[] }> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`alert rule ${id}`);
    const input = parseRule(raw);
    const taken = () => badInput({ name: `a rule named "${input.name}" exists already` });
    if (await ruleStore.nameTaken(this.deps.db, input.name, id)) throw taken();
    const warnings = (await this.preview(principal, raw)).warnings;
    // Another rule may take the name between the check and the write: its unique key says so.
    const rule = await uniqueOr(
      () =>
        this.change(id, (before) => {
          // A rule that changes kind or stops is a new question: its open episodes end.
          if (!input.enabled) return 'the rule was disabled';
          if (before.kind !== input.kind) return 'the rule was changed to another kind';
          return undefined;
        }, (tx, now) => ruleStore.updateRule(tx, id, input, now)),
      taken,
    );
    return { rule: rule!, warnings };
  }

  async delete(principal: Principal | undefined, id: string): Promise<{ id: string }> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`alert rule ${id}`);
    await this.change(id, (before) => {
      if (before.builtin) throw badInput({ id: 'a built-in rule cannot be deleted; disable it instead' });
      return 'the rule was deleted';
    }, async (tx) => {
      await ruleStore.deleteRule(tx, id);
      return undefined;
    });
    return { id };
  }

  /** Locks the rule and its open alerts, ends them when `ending` says why, writes, and logs the change. */
  private async change(id: string, ending: (before: Rule) => string | undefined, write: (tx: Db, now: Date) => Promise<Rule | undefined>): Promise<Rule | undefined> {
    const { events, clock } = this.deps;
    return events.transaction(async (tx) => {
      await events.lockSubjects(tx, RULE_KIND, [id]);
      const before = await ruleStore.rule(tx, id);
      if (!before) throw notFound(`alert rule ${id}`);
      const reason = ending(before);
      const now = clock.now();
      const batch = new AlertBatch(this.deps, now, []);
      if (reason) {
        const open = await alertStore.openForRules(tx, [id]);
        const locked = new Set(await events.lockSubjects(tx, ALERT_KIND, open.map((a) => a.id)));
        for (const a of await alertStore.byIds(tx, [...locked])) if (a.state !== 'resolved') batch.resolve(a, reason);
      }
      const rule = await write(tx, now);
      await batch.commit(tx);
      await events.append(tx, [ruleEvent(id, rule ? 'saved' : 'deleted')]);
      return rule;
    });
  }

  /** What a rule would do now: the agents it selects, those it would fire for, and what looks wrong. */
  async preview(principal: Principal | undefined, raw: Record<string, unknown>): Promise<RulePreview> {
    authorize(principal, 'admin');
    const input: RuleInput = parseRule(raw);
    const rule = { ...input, id: '00000000-0000-0000-0000-000000000000' } as Rule;
    const fleet = (await alertStore.agentRefs(this.deps.db)).filter((a) => inScope(input.scope, a));
    const warnings: string[] = [];
    if (fleet.length === 0) warnings.push('the scope matches no agent now');
    let firing: string[] = [];
    const now = this.deps.clock.now();
    if (input.kind === 'agent_status') firing = fleet.filter((a) => statusHolds(rule, a)).map((a) => a.name);
    else if (input.kind === 'flapping') {
      const { changes, windowSeconds } = input.condition as { changes: number; windowSeconds: number };
      const counts = await alertStore.statusChanges(this.deps.db, fleet.map((a) => a.id), new Date(now.getTime() - windowSeconds * 1000));
      firing = fleet.filter((a) => (counts.get(a.id) ?? 0) >= changes).map((a) => a.name);
    } else {
      const { holds, known } = await metricValues(this.deps.db, rule, fleet, now, this.deps.rawRetentionDays);
      if (!known.exists) warnings.push(`no agent has pushed a metric named "${(input.condition as { metric: string }).metric}" yet`);
      else if (known.kinds.length > 0 && (input.condition as { aggregate?: string }).aggregate === 'rate' && !known.kinds.some((k) => k !== 'gauge')) {
        warnings.push('rate is meant for counters; this metric is a gauge');
      }
      firing = fleet.filter((a) => holds.get(a.id)?.holds).map((a) => a.name);
    }
    return { matchingAgents: fleet.length, wouldFire: firing.length, firing: firing.slice(0, 10), warnings };
  }
}
