import { sql } from 'drizzle-orm';
import { authorize } from '../auth/authenticator';
import type { Principal } from '../auth/tokens';
import type { Db } from '../db';
import { badInput, notFound } from '../errors';
import { isStorableTime, isUuid, TIME_OUT_OF_RANGE, Validator } from '../validation';
import { ALERT_KIND } from './alerts.events';
import { alertStore } from './alerts.store';
import type { SilenceRow } from './alerts.table';
import type { Matcher, WeeklySchedule } from './alerts.types';
import { AlertBatch } from './lifecycle';
import { matchesAll } from './labels';
import { isActive, isValidTimezone, silencesOf } from './silences';
import { activeSilences, type EvaluatorDeps } from './status.consumer';
import { silenceStore } from './silences.store';

const MAX_MATCHERS = 20;
const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const YEAR = 366 * 86_400_000;

export interface SilenceInput {
  matchers: Matcher[];
  startsAt: Date;
  endsAt: Date | null;
  schedule: WeeklySchedule | null;
  comment: string;
  createdBy: string;
}

export function parseSilence(raw: Record<string, unknown>, now: Date, role: string): SilenceInput {
  const v = new Validator();
  const matchers: Matcher[] = [];
  if (!Array.isArray(raw.matchers) || raw.matchers.length === 0) v.fail('matchers', 'must hold at least one matcher ({name, op, value}); a silence of everything is too easy to make by mistake');
  else if (raw.matchers.length > MAX_MATCHERS) v.fail('matchers', `must hold at most ${MAX_MATCHERS} matchers`);
  else
    raw.matchers.forEach((m: unknown, i) => {
      const o = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
      const name = v.string(o.name, `matchers.${i}.name`, { max: 64, required: true });
      if (name !== undefined && !/^([a-zA-Z_][a-zA-Z0-9_]*|metadata\..+)$/.test(name)) {
        v.fail(`matchers.${i}.name`, 'must be a label name (letters, digits, _), "tag", or "metadata.<key>"');
      }
      const op = o.op ?? '=';
      if (op !== '=' && op !== '!=') v.fail(`matchers.${i}.op`, 'must be = or !=');
      const value = v.string(o.value, `matchers.${i}.value`, { max: 1024 }) ?? '';
      if (name) matchers.push({ name, op: op as Matcher['op'], value });
    });
  // Alertmanager's rule: a matcher that matches the empty string also matches an alert
  // without that label, so a silence made only of such matchers (`x = ""`, `x != "y"`,
  // `tag != t`) would mute every alert.
  if (matchers.length > 0 && matchers.every((m) => matchesAll([m], {}, [], {}))) {
    v.fail('matchers', 'at least one matcher must not match the empty string (an alert without that label): these would mute every alert');
  }
  const time = (value: unknown, path: string) => {
    if (value === undefined || value === null) return undefined;
    const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : new Date(NaN);
    if (Number.isNaN(d.getTime())) return v.fail(path, 'must be an ISO-8601 time');
    return isStorableTime(d) ? d : v.fail(path, TIME_OUT_OF_RANGE);
  };
  const startsAt = time(raw.startsAt, 'startsAt') ?? now;
  const endsAt = time(raw.endsAt, 'endsAt') ?? null;
  let schedule: WeeklySchedule | null = null;
  if (raw.schedule !== undefined && raw.schedule !== null) {
    const s = raw.schedule as Record<string, unknown>;
    const days = Array.isArray(s.days) ? [...new Set(s.days)] : [];
    if (days.length === 0 || !days.every((d) => Number.isInteger(d) && (d as number) >= 0 && (d as number) <= 6)) v.fail('schedule.days', 'must list weekdays, 0 (Sunday) to 6 (Saturday)');
    for (const k of ['start', 'end'] as const) if (typeof s[k] !== 'string' || !HHMM.test(s[k] as string)) v.fail(`schedule.${k}`, 'must be a time of day as HH:MM (24 h)');
    const timezone = typeof s.timezone === 'string' ? s.timezone : 'UTC';
    if (!isValidTimezone(timezone)) v.fail('schedule.timezone', 'must be an IANA time zone such as Europe/Berlin');
    schedule = { days: (days as number[]).sort(), start: s.start as string, end: s.end as string, timezone };
  } else if (!endsAt) v.fail('endsAt', 'is required for a silence without a schedule');
  if (endsAt && endsAt <= startsAt) v.fail('endsAt', 'must be after startsAt');
  if (endsAt && !schedule && endsAt.getTime() - startsAt.getTime() > YEAR) v.fail('endsAt', 'a one-off silence lasts at most a year; use a schedule for a recurring window');
  if (endsAt && endsAt <= now) v.fail('endsAt', 'must be in the future');
  const comment = v.string(raw.comment, 'comment', { max: 2000, required: true });
  const createdBy = v.string(raw.createdBy, 'createdBy', { max: 200 }) || role;
  v.done();
  return { matchers, startsAt, endsAt, schedule, comment: comment!, createdBy };
}

/** Silences and maintenance windows: made, listed, ended; each change applied to open alerts at once. */
export class SilenceService {
  constructor(private readonly deps: EvaluatorDeps & { db: Db }) {}

  async list(principal: Principal | undefined, includeExpired: boolean): Promise<(SilenceRow & { active: boolean })[]> {
    authorize(principal, 'read');
    const now = this.deps.clock.now();
    return (await silenceStore.silences(this.deps.db, { includeExpired, now })).map((s) => ({ ...s, active: isActive(s, now) }));
  }

  async get(principal: Principal | undefined, id: string): Promise<SilenceRow | undefined> {
    authorize(principal, 'read');
    return isUuid(id) ? silenceStore.silence(this.deps.db, id) : undefined;
  }

  async create(principal: Principal | undefined, raw: Record<string, unknown>): Promise<SilenceRow & { active: boolean }> {
    authorize(principal, 'admin');
    const input = parseSilence(raw, this.deps.clock.now(), principal!.role);
    return this.apply(async (tx) => silenceStore.insertSilence(tx, { ...input }), input.createdBy);
  }

  /** A silence for one alert's rule and agent, in one step. */
  async silenceAlert(principal: Principal | undefined, alertId: string, args: { durationSeconds: number; comment?: string | null; by?: string | null }): Promise<SilenceRow & { active: boolean }> {
    authorize(principal, 'admin');
    const alert = isUuid(alertId) ? await alertStore.get(this.deps.db, alertId) : undefined;
    if (!alert) throw notFound(`alert ${alertId}`);
    const v = new Validator();
    if (!Number.isInteger(args.durationSeconds) || args.durationSeconds < 60 || args.durationSeconds > 366 * 86_400) v.fail('durationSeconds', 'must be from 60 seconds to a year');
    const by = v.string(args.by, 'by', { max: 200 });
    const comment = v.string(args.comment, 'comment', { max: 2000 });
    v.done();
    const now = this.deps.clock.now();
    return this.create(principal, {
      matchers: [
        { name: 'alertname', op: '=', value: alert.ruleName },
        { name: 'agent_id', op: '=', value: alert.agentId },
      ],
      startsAt: now,
      endsAt: new Date(now.getTime() + args.durationSeconds * 1000),
      comment: comment || `Silenced from the alert "${alert.summary || alert.ruleName}"`,
      createdBy: by,
    });
  }

  /**
   * Replaces a silence that has not ended (matchers, times, schedule, comment) in place,
   * keeping its id; its alerts are muted or unmuted at once, as by createSilence. Without
   * `startsAt` it keeps its start. An ended silence is history: it is refused.
   */
  async update(principal: Principal | undefined, id: string, raw: Record<string, unknown>): Promise<SilenceRow & { active: boolean }> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`silence ${id}`);
    const current = await silenceStore.silence(this.deps.db, id);
    if (!current) throw notFound(`silence ${id}`);
    const now = this.deps.clock.now();
    if (current.endsAt && current.endsAt <= now) throw badInput({ id: 'this silence has ended and cannot be changed; create a new one' });
    const input = parseSilence({ ...raw, startsAt: raw.startsAt ?? current.startsAt, createdBy: raw.createdBy || current.createdBy }, now, principal!.role);
    return this.apply(async (tx) => {
      // Read again under the transaction: it may have been ended in between.
      const s = await silenceStore.silence(tx, id);
      if (!s) throw notFound(`silence ${id}`);
      if (s.endsAt && s.endsAt <= now) throw badInput({ id: 'this silence has ended and cannot be changed; create a new one' });
      return (await silenceStore.updateSilence(tx, id, { ...input, updatedAt: now }))!;
    }, (raw.createdBy as string | undefined) || principal!.role);
  }

  /** Ends a silence now (kept, so its history reads); its alerts are unmuted at once. */
  async expire(principal: Principal | undefined, id: string): Promise<SilenceRow & { active: boolean }> {
    authorize(principal, 'admin');
    if (!isUuid(id)) throw notFound(`silence ${id}`);
    const now = this.deps.clock.now();
    return this.apply(async (tx) => {
      const s = await silenceStore.silence(tx, id);
      if (!s) throw notFound(`silence ${id}`);
      if (s.endsAt && s.endsAt <= now) return s;
      return (await silenceStore.updateSilence(tx, id, { endsAt: now, updatedAt: now }))!;
    }, principal!.role);
  }

  /**
   * Writes a silence and re-applies every active silence to the open alerts, in one
   * transaction: the alerts whose silences would change are locked first (a write would
   * otherwise come before the locks), read again, and changed with their events.
   */
  private apply(write: (tx: Db) => Promise<SilenceRow>, by: string): Promise<SilenceRow & { active: boolean }> {
    const { events, clock } = this.deps;
    return events.transaction(async (tx) => {
      const now = clock.now();
      const open = await alertStore.open(tx, sql`true`, 100_000);
      const locked = await events.lockSubjects(tx, ALERT_KIND, open.map((a) => a.id));
      const row = await write(tx);
      const active = await activeSilences(tx, now);
      const batch = new AlertBatch(this.deps, now, active);
      for (const a of await alertStore.byIds(tx, locked)) if (a.state !== 'resolved') batch.applySilences(a, silencesOf(a, active), by);
      await batch.commit(tx);
      return { ...row, active: isActive(row, now) };
    });
  }
}
