import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Db } from '../db';
import { badInput, notFound } from '../errors';
import { isUuid, Validator } from '../validation';
import { ALERT_KIND, toAlertEvent, type AlertEvent } from './alerts.events';
import { alertStore, type AlertCursor, type StoredAlert } from './alerts.store';
import { ALERT_STATES, SEVERITIES, type Alert, type AlertFilter, type AlertState, type Severity } from './alerts.types';
import { AlertBatch } from './lifecycle';
import { activeSilences, type EvaluatorDeps } from './status.consumer';

const MAX_COMMENT = 2000;
/** The events Alert.timeline holds at most: the latest ones. */
export const TIMELINE_LIMIT = 200;

export function parseAlertFilter(raw: Record<string, unknown> | null | undefined): AlertFilter {
  if (!raw) return {};
  const v = new Validator();
  const list = <T extends string>(value: unknown, path: string, allowed: readonly T[]): T[] | undefined => {
    if (value === undefined || value === null) return undefined;
    const items = Array.isArray(value) ? value : [value];
    if (!items.every((s) => allowed.includes(s as T))) return v.fail(path, `must be any of ${allowed.join(', ')}`);
    return items.length > 0 ? (items as T[]) : undefined;
  };
  const id = (value: unknown, path: string) => {
    if (value === undefined || value === null) return undefined;
    if (!isUuid(value)) return v.fail(path, 'must be an id (UUID)');
    return value.toLowerCase();
  };
  const bool = (value: unknown) => (value === undefined || value === null ? undefined : value === true);
  const filter: AlertFilter = {
    state: list<AlertState>(raw.state, 'filter.state', ALERT_STATES),
    severity: list<Severity>(raw.severity, 'filter.severity', SEVERITIES),
    ruleId: id(raw.ruleId, 'filter.ruleId'),
    agentId: id(raw.agentId, 'filter.agentId'),
    acknowledged: bool(raw.acknowledged),
    silenced: bool(raw.silenced),
  };
  v.done();
  return filter;
}

const encodeCursor = (c: AlertCursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
/** The ranks alertStore.page writes for a state and a severity: 0, 1 or 2. */
const isRank = (n: unknown) => n === 0 || n === 1 || n === 2;
function decodeCursor(raw: string | null | undefined): AlertCursor | undefined {
  if (raw === undefined || raw === null) return undefined;
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as AlertCursor;
    // Ranks, not any integer: the page compares them with integers in SQL, and one beyond
    // int4 (2^40) failed there as a 500.
    if (isRank(c.s) && isRank(c.v) && typeof c.t === 'string' && !Number.isNaN(Date.parse(c.t)) && isUuid(c.id)) return c;
  } catch {
    // fall through
  }
  throw badInput({ after: 'must be a cursor from an earlier page' });
}

export interface AlertCounts {
  firing: Record<Severity | 'total', number>;
  pending: Record<Severity | 'total', number>;
  acknowledged: number;
  silenced: number;
}

/** Alerts: reading them, and what operators do to them (acknowledge, silence). */
export class AlertService {
  constructor(private readonly deps: EvaluatorDeps & { db: Db }) {}

  /** One page of the alerts a filter selects: firing first, then pending, then resolved; by severity; newest first. */
  async page(principal: Principal | undefined, rawFilter: Record<string, unknown> | null | undefined, args: { first?: number | null; after?: string | null }) {
    authorize(principal, 'read');
    const filter = parseAlertFilter(rawFilter);
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 1 || first > 500) throw badInput({ first: 'must be from 1 to 500' });
    const rows = await alertStore.page(this.deps.db, filter, decodeCursor(args.after), first + 1);
    const edges = rows.slice(0, first).map((r) => ({ node: r.alert, cursor: encodeCursor(r.cursor) }));
    return {
      edges,
      pageInfo: { hasNextPage: rows.length > first, hasPreviousPage: args.after !== undefined && args.after !== null, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
      filter,
    };
  }

  count(principal: Principal | undefined, filter: AlertFilter): Promise<number> {
    authorize(principal, 'read');
    return alertStore.count(this.deps.db, filter);
  }

  async counts(principal: Principal | undefined): Promise<AlertCounts> {
    authorize(principal, 'read');
    const zero = () => ({ critical: 0, warning: 0, info: 0, total: 0 });
    const counts: AlertCounts = { firing: zero(), pending: zero(), acknowledged: 0, silenced: 0 };
    for (const r of await alertStore.counts(this.deps.db)) {
      if (r.muted) counts.silenced += r.n;
      else {
        const bucket = r.state === 'firing' ? counts.firing : counts.pending;
        bucket[r.severity as Severity] += r.n;
        bucket.total += r.n;
      }
      if (r.acked) counts.acknowledged += r.n;
    }
    return counts;
  }

  async get(principal: Principal | undefined, id: string): Promise<Alert | undefined> {
    authorize(principal, 'read');
    return isUuid(id) ? alertStore.get(this.deps.db, id) : undefined;
  }

  /**
   * The latest TIMELINE_LIMIT events of an alert, oldest first, and whether older ones
   * were left out (an alert reminded or flapping for long can have many more).
   */
  async timeline(id: string): Promise<{ events: AlertEvent[]; truncated: boolean }> {
    const records = await this.deps.events.before(undefined, TIMELINE_LIMIT + 1, { kind: ALERT_KIND, subjectId: id });
    const truncated = records.length > TIMELINE_LIMIT;
    return { events: (truncated ? records.slice(1) : records).map(toAlertEvent).filter((e): e is AlertEvent => e !== null), truncated };
  }

  /** Alerts of many agents (Agent.alerts, batched). */
  forAgents(agentIds: string[], openOnly: boolean, limit: number): Promise<Map<string, Alert[]>> {
    return alertStore.forAgents(this.deps.db, agentIds.filter(isUuid), openOnly, limit);
  }

  acknowledge(principal: Principal | undefined, id: string, args: { comment?: string | null; by?: string | null }): Promise<Alert> {
    authorize(principal, 'admin');
    const v = new Validator();
    const comment = v.string(args.comment, 'comment', { max: MAX_COMMENT }) || null;
    const by = v.string(args.by, 'by', { max: 200 }) || principal!.role;
    v.done();
    return this.changeOne(id, (batch, a) => {
      if (a.acknowledgement) return;
      batch.change({ ...a, acknowledgement: { by, at: batch.now, comment } }, 'acknowledged', { by, comment });
    });
  }

  unacknowledge(principal: Principal | undefined, id: string, args: { by?: string | null }): Promise<Alert> {
    authorize(principal, 'admin');
    const v = new Validator();
    const by = v.string(args.by, 'by', { max: 200 }) || principal!.role;
    v.done();
    return this.changeOne(id, (batch, a) => {
      if (!a.acknowledgement) return;
      batch.change({ ...a, acknowledgement: null }, 'unacknowledged', { by });
    });
  }

  /** Changes one open alert under its lock; a resolved one is history and refuses. */
  private async changeOne(id: string, change: (batch: AlertBatch, a: StoredAlert) => void): Promise<Alert> {
    if (!isUuid(id)) throw notFound(`alert ${id}`);
    const { events, clock } = this.deps;
    return events.transaction(async (tx) => {
      await events.lockSubjects(tx, ALERT_KIND, [id]);
      const [alert] = await alertStore.byIds(tx, [id]);
      if (!alert) throw notFound(`alert ${id}`);
      if (alert.state === 'resolved') throw badInput({ id: 'the alert is resolved; only open alerts can be acknowledged' });
      const now = clock.now();
      const batch = new AlertBatch(this.deps, now, await activeSilences(tx, now));
      change(batch, alert);
      return (await batch.commit(tx))[0] ?? alert;
    });
  }
}
