import type { EventDraft, EventRecord } from '../events/events.types';
import type { Position } from '../events/position';
import type { Alert } from './alerts.types';

/** The subject kind of alert events in the log. */
export const ALERT_KIND = 'alert';
/** Rule changes, so the status consumer re-evaluates a rule in its own order. */
export const RULE_KIND = 'alert_rule';

export const ALERT_EVENT_TYPES = ['pending', 'firing', 'resolved', 'acknowledged', 'unacknowledged', 'silenced', 'unsilenced', 'clearing', 'flapping', 'stable', 'updated'] as const;
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] extends object | null ? unknown : T[K] };

interface AlertEventPayload {
  alert: Json<Alert>;
  /** Who did it, for operators' changes. */
  by: string | null;
  comment: string | null;
  reason: string | null;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const date = (s: unknown) => (s === null || s === undefined ? null : new Date(s as string));

function toJson(a: Alert): Json<Alert> {
  return {
    ...a,
    startedAt: a.startedAt.toISOString(),
    firedAt: iso(a.firedAt),
    resolvedAt: iso(a.resolvedAt),
    clearingSince: iso(a.clearingSince),
    updatedAt: a.updatedAt.toISOString(),
    acknowledgement: a.acknowledgement && { ...a.acknowledgement, at: a.acknowledgement.at.toISOString() },
  };
}

function fromJson(j: Json<Alert>): Alert {
  const ack = j.acknowledgement as { by: string; at: string; comment: string | null } | null;
  return {
    ...(j as unknown as Alert),
    startedAt: new Date(j.startedAt),
    firedAt: date(j.firedAt),
    resolvedAt: date(j.resolvedAt),
    clearingSince: date(j.clearingSince),
    updatedAt: new Date(j.updatedAt),
    acknowledgement: ack && { ...ack, at: new Date(ack.at) },
  };
}

/** The alert an alert event's payload holds (`payload.alert`, read back as JSON), as it stood after the event. */
export const alertOfPayload = (json: unknown): Alert => fromJson(json as Json<Alert>);

export interface AlertChange {
  type: AlertEventType;
  alert: Alert;
  by?: string | null;
  comment?: string | null;
  reason?: string | null;
}

export function alertEvent(change: AlertChange): EventDraft {
  const payload: AlertEventPayload = { alert: toJson(change.alert), by: change.by ?? null, comment: change.comment ?? null, reason: change.reason ?? null };
  return { kind: ALERT_KIND, subjectId: change.alert.id, type: change.type, payload };
}

/** An alert event as subscribers and the timeline see it. */
export interface AlertEvent {
  cursor: string;
  position: Position;
  type: AlertEventType;
  /** The alert as it was right after the event. */
  alert: Alert;
  by: string | null;
  comment: string | null;
  reason: string | null;
  at: Date;
}

const isType = (t: string): t is AlertEventType => (ALERT_EVENT_TYPES as readonly string[]).includes(t);

/** Decoded once per record, so every subscriber is handed the same object (shared subscription execution keys on it). */
const decoded = new WeakMap<EventRecord, AlertEvent | null>();

export function toAlertEvent(record: EventRecord): AlertEvent | null {
  let event = decoded.get(record);
  if (event !== undefined) return event;
  const p = record.payload as Partial<AlertEventPayload> | null;
  event =
    record.kind === ALERT_KIND && isType(record.type) && p && typeof p.alert === 'object' && p.alert !== null
      ? {
          cursor: record.cursor,
          position: record.position,
          type: record.type,
          alert: fromJson(p.alert),
          by: p.by ?? null,
          comment: p.comment ?? null,
          reason: p.reason ?? null,
          at: record.at,
        }
      : null;
  decoded.set(record, event);
  return event;
}

/** A rule was created, changed or deleted: the status consumer re-evaluates it against the fleet. */
export const ruleEvent = (ruleId: string, type: 'saved' | 'deleted'): EventDraft => ({ kind: RULE_KIND, subjectId: ruleId, type, payload: {} });
